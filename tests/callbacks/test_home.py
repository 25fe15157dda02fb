"""The home page through Dash: your jobs only, tables one may still open, your renders.

What the browser sends (its remembered tables, its Compositor session) is checked before
use: anything forged lists nothing, and never a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from PIL import Image

from callbacks import home as cbh
from components.ids import Home
from dashapp.app import deps_of
from jobs.store import RUNNING, SUCCEEDED
from tests.callbacks.helpers import post_callback


def browser_call(client, remembered: Any) -> tuple[str, str]:
    """The recent tables and renders cards for what the browser says it remembers."""
    status, body = post_callback(
        client, "/", f"{Home.RECENT_TABLES}.children", {f"{Home.BROWSER}.data": remembered}
    )
    assert status == 200, body
    response = body["response"]
    return (
        json.dumps(response[Home.RECENT_TABLES]["children"]),
        json.dumps(response[Home.RENDERS]["children"]),
    )


def test_ch001_recent_tables_are_the_ones_one_may_still_open(app, client) -> None:
    tables, _ = browser_call(
        client,
        {"tables": ["main.teams", "main.gone", 7, None, "main.teams", "main.events"]},
    )
    assert '"main.teams"' in tables
    assert '"main.events"' in tables
    assert "main.gone" not in tables  # no longer there: not offered
    assert tables.index("main.teams") < tables.index("main.events")  # most recent first
    assert tables.count('"main.teams"') == 1
    assert "12 rows" in tables
    assert "/data?table=main.teams" in tables


@pytest.mark.parametrize(
    "remembered",
    [
        None,
        "x",
        {"tables": "main.teams", "compositor": "../../etc"},
        {"tables": [{"a": 1}], "compositor": ["0" * 32]},
        {"compositor": "0" * 31 + "g"},
    ],
)
def test_ch002_forged_memories_list_nothing(client, remembered: Any) -> None:
    tables, renders = browser_call(client, remembered)
    assert "No tables opened yet" in tables
    assert "No renders yet" in renders


def test_ch003_renders_of_the_session_newest_first(app, client) -> None:
    store = deps_of(app).upload_store
    sid = store.new_session()
    first = store.save_render(sid, Image.new("RGB", (40, 30), "red"), fmt="png", quality=90)
    second = store.save_render(sid, Image.new("RGB", (40, 30), "blue"), fmt="png", quality=90)
    _, renders = browser_call(client, {"tables": [], "compositor": sid})
    assert renders.index(second) < renders.index(first)
    assert f"/compositor/files/{sid}/renders/{second}?preview=1" in renders
    preview = client.get(f"/compositor/files/{sid}/renders/{second}?preview=1")
    assert preview.status_code == 200
    preview.close()
    # Another browser's session id, well formed but unknown, lists nothing.
    _, other = browser_call(client, {"compositor": store.new_session()})
    assert "No renders yet" in other


def test_ch004_your_jobs_running_first_and_redrawn_only_on_change(app) -> None:
    store = deps_of(app).job_store
    done = store.create("shapes-cnn", {}, "alice")
    store.update(done, status=SUCCEEDED)
    running = store.create("shapes-cnn", {}, "alice")
    store.update(running, status=RUNNING, progress={"percent": 40})
    newest = store.create("shapes-cnn", {}, "alice")
    store.update(newest, status=SUCCEEDED)
    theirs = store.create("shapes-cnn", {}, "bob")
    with app.server.test_request_context("/"):
        shown, signature = cbh.jobs_update(store, "alice", None)
        text = json.dumps(shown, default=lambda c: c.to_plotly_json())
        assert theirs not in text
        assert text.index(running) < text.index(newest) < text.index(done)
        assert "40%" in text
        assert cbh.jobs_update(store, "alice", signature) == (cbh.no_update, cbh.no_update)
        store.update(running, progress={"percent": 60})
        again, newer = cbh.jobs_update(store, "alice", signature)
        assert newer != signature
        assert "60%" in json.dumps(again, default=lambda c: c.to_plotly_json())
        empty, _ = cbh.jobs_update(store, "carol", None)
        assert "No jobs yet" in json.dumps(empty, default=lambda c: c.to_plotly_json())
