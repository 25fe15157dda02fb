"""Component ids are unique and used; domain modules do not import Dash."""

from __future__ import annotations

import json
import subprocess
import sys

import plotly

from components.ids import all_ids
from dashapp.app import deps_of
from jobs.service import job_view


def test_id001_ids_are_unique() -> None:
    ids = all_ids()
    assert len(set(ids.values())) == len(ids)


def test_id002_every_id_appears_in_a_layout(app) -> None:
    from components import compositor, data, data_grid, home, job, not_found, shell, training

    events = deps_of(app).catalog.table("main.events")
    with app.server.test_request_context("/"):
        layouts = [m.layout() for m in (shell, home, data, training, compositor, not_found)]
        # Parts built by callbacks once a table (or a chart column) is chosen.
        layouts += [data_grid.grid(events, {}), data.table_panel(events), data.chart_graph({})]
        store = deps_of(app).job_store
        layouts += [job.job_panel(job_view(store, store.create("shapes-cnn", {}, "t")))]
        layouts += [job.layout("compare", jobs="a,b")]  # the comparison page
        rendered = json.dumps(layouts, cls=plotly.utils.PlotlyJSONEncoder)
    missing = [name for name, value in all_ids().items() if f'"{value}"' not in rendered]
    assert missing == []


def test_id003_domain_modules_do_not_import_dash() -> None:
    code = (
        "import sys, dashapp.settings, dashapp.db, dashapp.data.demo_data, dashapp.compositor.imaging,"
        " dashapp.compositor.upload_store, dashapp.compositor.composition, dashapp.compositor.render,"
        " dashapp.compositor.actions, dashapp.web.security;"
        "print(sorted(m for m in sys.modules if m == 'dash' or m.startswith('dash.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
