"""The exploring tools on a table of a second database (``DASHAPP_DATABASES``), through Dash.

Set filter, profile, group pickers, grouping, chips, rows, chart, row detail and saved
views each find the table's database from its key (``source:schema.table``).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import plotly
import pytest

from callbacks import data_views as cbv
from components.ids import Data
from dashapp.app import create_app, deps_of
from dashapp.data.view_state import EMPTY
from dashapp.settings import Settings
from tests.callbacks.helpers import build_payload, post_callback

KEY = "lab:main.samples"
REQ = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
KINDS = {"red": 12, "blue": 7, "green": 3}


@pytest.fixture
def lab(tmp_path: Path):
    """The demo database (default source) and a SQLite file named ``lab`` with ``samples``."""
    path = tmp_path / "lab.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE samples (id INTEGER PRIMARY KEY, kind TEXT, weight REAL)")
    rows = [(kind, float(i)) for kind, n in KINDS.items() for i in range(n)]
    db.executemany("INSERT INTO samples (kind, weight) VALUES (?, ?)", rows)
    db.commit()
    db.close()
    data_dir = (tmp_path / "data").resolve()
    settings = Settings(
        data_dir=data_dir,
        demo_rows=5_000,
        database_url=f"sqlite:///{data_dir}/demo.sqlite",  # the default source
        databases=(("lab", f"sqlite:///{path}"),),
    )
    app = create_app(settings)
    yield app
    deps_of(app).dispose()


def call(client, output: str, values: dict[str, Any], via: str | None = None) -> dict[str, Any]:
    """Post one callback; its response (a 200 is asserted)."""
    status, body = post_callback(client, "/", output, values, via)
    assert status == 200, body
    return body["response"]


def view_of(**parts: Any) -> dict[str, Any]:
    """The view the page publishes for the lab table."""
    return {**EMPTY, "table": KEY, **parts}


def grid_props(resp: dict[str, Any]) -> dict[str, Any]:
    """The props of the grid a callback built (in its frame)."""
    props: dict[str, Any] = resp[Data.GRID_BOX]["children"]["props"]["children"]["props"]
    return props


def test_cs001_values_profile_and_group_pickers_of_a_second_database(lab) -> None:
    client = lab.server.test_client()
    panel = {
        f"{Data.PANEL_COLUMN}.value": "kind",
        f"{Data.SET_SEARCH}.value": "",
        f"{Data.COLUMN_PANEL}.is_open": True,
        f"{Data.PICKER}.value": KEY,
        f"{Data.VIEW}.data": view_of(),
    }
    resp = call(client, f"{Data.SET_LIST}.options", panel)
    listed = json.dumps(resp[Data.SET_LIST]["options"])
    assert all(f'"{kind}"' in listed for kind in KINDS)
    assert "3 values" in resp[Data.SET_NOTE]["children"]
    profile = {
        f"{Data.PANEL_COLUMN}.value": "weight",
        f"{Data.PANEL_TABS}.active_tab": "profile",
        f"{Data.COLUMN_PANEL}.is_open": True,
        f"{Data.PICKER}.value": KEY,
        f"{Data.VIEW}.data": view_of(sets={"kind": ["red"]}),
    }
    text = json.dumps(call(client, f"{Data.PROFILE_BODY}.children", profile), ensure_ascii=False)
    assert "Rows in view" in text
    assert '"12"' in text  # the red samples only
    controls = {f"{Data.EXPLORE}.data": None, f"{Data.PICKER}.value": KEY}
    resp = call(client, f"{Data.GROUP_BY}.options", controls)
    assert [o["value"] for o in resp[Data.PANEL_COLUMN]["options"]] == ["id", "kind", "weight"]


def test_cs002_grouping_chips_and_rows_of_a_second_database(lab) -> None:
    client = lab.server.test_client()
    act = {
        f"{Data.GROUP_APPLY}.n_clicks": 1,
        f"{Data.PICKER}.value": KEY,
        f"{Data.VIEW}.data": view_of(sets={"kind": ["red", "blue"]}),
        f"{Data.QUICK}.value": "",
        f"{Data.GROUP_BY}.value": ["kind"],
        f"{Data.GROUP_AGGS}.value": [json.dumps(["count", None])],
    }
    resp = call(client, f"{Data.COLUMN_PANEL}.is_open@", act)
    context = grid_props(resp)["dashGridOptions"]["context"]
    assert context["table"] == KEY
    assert context["explore"]["group"]["by"] == ["kind"]
    assert context["explore"]["sets"] == {"kind": ["red", "blue"]}
    # The grid's block requests carry that context: the groups come from the lab database.
    rows = call(
        client,
        f"{Data.GRID}.getRowsResponse",
        {f"{Data.GRID}.getRowsRequest": {**REQ, "context": context}, f"{Data.QUICK}.value": ""},
    )
    groups = rows[Data.GRID]["getRowsResponse"]["rowData"]
    assert sorted((g["key0"], g["agg0"]) for g in groups) == [("blue", 7), ("red", 12)]
    # Removing a chip (the set filter) rebuilds the grid of the same table.
    grouped = view_of(sets={"kind": ["red", "blue"]}, group=context["explore"]["group"])
    resp = click_chip(client, {"type": "data-chip", "key": "set:kind"}, grouped)
    context = grid_props(resp)["dashGridOptions"]["context"]
    assert (context["table"], context["explore"]["sets"]) == (KEY, {})


def click_chip(client, chip_id: dict[str, str], view: dict[str, Any]) -> dict[str, Any]:
    """Post a click on a chip's ×, as the browser sends it (a pattern-matching input)."""
    values = {
        f"{Data.PICKER}.value": KEY,
        f"{Data.VIEW}.data": view,
        f"{Data.QUICK}.value": "",
    }
    deps = client.get("/_dash-dependencies").get_json()
    body = build_payload(
        deps, f"{Data.COLUMN_PANEL}.is_open@", values, f"{Data.SET_APPLY}.n_clicks"
    )
    chip = {"id": chip_id, "property": "n_clicks", "value": 1}
    body["inputs"] = [[chip] if isinstance(i, list) else i for i in body["inputs"]]
    body["changedPropIds"] = [
        json.dumps(chip_id, sort_keys=True, separators=(",", ":")) + ".n_clicks"
    ]
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200, resp.data[:300]
    out: dict[str, Any] = resp.get_json()["response"]
    return out


def test_cs003_chart_and_row_detail_of_a_second_database(lab) -> None:
    client = lab.server.test_client()
    resp = call(
        client,
        f"{Data.CHART_BOX}.children",
        {
            f"{Data.CHART_COLUMN}.value": "kind",
            f"{Data.VIEW}.data": view_of(),
            f"{Data.PICKER}.value": KEY,
        },
    )
    assert resp[Data.CHART_BOX]["children"] is not None
    resp = call(
        client,
        f"{Data.DETAIL}.is_open",
        {f"{Data.GRID}.selectedRows": [{"id": 1}], f"{Data.PICKER}.value": KEY},
    )
    assert resp[Data.DETAIL]["is_open"] is True
    assert "red" in json.dumps(resp[Data.DETAIL_BODY]["children"])


def test_cs004_a_saved_view_of_a_second_database_opens_with_its_grid(lab) -> None:
    client = lab.server.test_client()
    view = view_of(sets={"kind": ["green"]}, columns=["id", "kind"])
    resp = call(
        client,
        f"{Data.SAVE_MESSAGE}.children@",
        {
            f"{Data.SAVE_CONFIRM}.n_clicks": 1,
            f"{Data.SAVE_NAME}.value": "Green samples",
            f"{Data.SAVE_SHARED}.value": False,
            f"{Data.VIEW}.data": view,
            f"{Data.SAVED_TICK}.data": 0,
        },
    )
    assert resp[Data.SAVED_TICK]["data"] == 1, resp
    deps = deps_of(lab)
    (saved,) = deps.saved_views.visible("anonymous")
    assert saved.table == KEY
    with lab.server.test_request_context("/data"):
        layout = json.loads(
            json.dumps(
                cbv.data_layout(deps, {"view": saved.id}), cls=plotly.utils.PlotlyJSONEncoder
            )
        )
    grid = find(layout, Data.GRID)
    assert grid is not None, "the saved view's grid is not in the page"
    context = grid["props"]["dashGridOptions"]["context"]
    assert context["table"] == KEY
    assert context["explore"]["sets"] == {"kind": ["green"]}
    hidden = [c["field"] for c in grid["props"]["columnDefs"] if c.get("hide")]
    assert hidden == ["weight"]
    # Saving a view of a database that is not configured is refused with a message.
    resp = call(
        client,
        f"{Data.SAVE_MESSAGE}.children@",
        {
            f"{Data.SAVE_CONFIRM}.n_clicks": 1,
            f"{Data.SAVE_NAME}.value": "Nowhere",
            f"{Data.VIEW}.data": {**view, "table": "nope:main.samples"},
        },
    )
    assert "cannot be saved" in json.dumps(resp[Data.SAVE_MESSAGE]["children"])


def find(node: Any, wanted_id: str) -> Any:
    """The component with id ``wanted_id`` in a layout's JSON, or None."""
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == wanted_id:
            return node
        return next((f for v in node.values() if (f := find(v, wanted_id)) is not None), None)
    if isinstance(node, list):
        return next((f for v in node if (f := find(v, wanted_id)) is not None), None)
    return None
