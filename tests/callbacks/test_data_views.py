"""Saved views through Dash: refused saves say why, each user sees theirs and the shared ones.

A view opens by its short link (the page's layout resolves it); a state database that
fails leaves the home and Data pages working, with a message.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import plotly
import pytest
from werkzeug.security import generate_password_hash

from callbacks import data_views as cbv
from components.ids import Data
from dashapp.app import create_app, deps_of
from dashapp.data.view_state import EMPTY
from tests.callbacks.helpers import post_callback


def save_call(client, name: Any, view: Any, shared: Any = False) -> dict[str, Any]:
    status, body = post_callback(
        client,
        "/",
        f"{Data.SAVE_MESSAGE}.children@",
        {
            f"{Data.SAVE_CONFIRM}.n_clicks": 1,
            f"{Data.SAVE_NAME}.value": name,
            f"{Data.SAVE_SHARED}.value": shared,
            f"{Data.VIEW}.data": view,
            f"{Data.SAVED_TICK}.data": 3,
        },
    )
    assert status == 200, body
    return body["response"]


@pytest.mark.parametrize(
    ("name", "view", "message"),
    [
        ("", {"table": "main.events"}, "Give the view a name"),
        ({"$gt": ""}, {"table": "main.events"}, "Give the view a name"),
        ("x" * 500, {"table": "main.events"}, "at most 120 characters"),
        ("a\x00", {"table": "main.events"}, "control characters"),
        ("v", None, "There is no view to save"),
        ("v", ["main.events"], "There is no view to save"),
        ("v", {"table": "main.nope"}, "there is no table"),
        ("v", {"table": "main.events", "sets": {"id": ["1 OR 1=1"]}}, "is not a number"),
        ("v", {"table": "main.events", "group": {"by": [{"x": 1}]}}, "no such column"),
        ("v", {"table": "main.events", "sets": {"message": ["y" * 3999] * 20}}, "too large"),
    ],
)
def test_cv001_hostile_saves_are_refused_with_a_message(client, name, view, message) -> None:
    resp = save_call(client, name, view)
    assert message in json.dumps(resp[Data.SAVE_MESSAGE]["children"], ensure_ascii=False)
    assert Data.SAVED_TICK not in resp  # nothing saved, the list is not redrawn


def test_cv002_saved_views_are_per_user_and_open_by_short_link(settings) -> None:
    users = (
        ("ann", generate_password_hash("ann-pass")),
        ("bob", generate_password_hash("bob-pass")),
    )
    app = create_app(settings.with_overrides(users=users))
    deps = deps_of(app)

    def client_of(user: str):
        client = app.server.test_client()
        token = base64.b64encode(f"{user}:{user}-pass".encode()).decode()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Basic {token}"
        return client

    ann, bob = client_of("ann"), client_of("bob")
    view = {**EMPTY, "table": "main.events", "sets": {"event_type": ["login"]}, "quick": "cache"}
    resp = save_call(ann, "Ann's logins", view)
    assert resp[Data.SAVED_TICK]["data"] == 4
    text = json.dumps(resp[Data.SAVE_MESSAGE]["children"])
    short = text.split("/data?view=")[1][:8]
    resp = save_call(bob, "Shared one", {**view, "quick": ""}, shared=True)
    lists = {}
    for who, client in (("ann", ann), ("bob", bob)):
        status, body = post_callback(
            client, "/", f"{Data.SAVED_LIST}.children", {f"{Data.SAVED_TICK}.data": 1}
        )
        assert status == 200
        lists[who] = json.dumps(body["response"], ensure_ascii=False)
    assert "Ann's logins" in lists["ann"]
    assert "Shared one" in lists["ann"]
    assert "Ann's logins" not in lists["bob"]
    # The short link opens the view for its owner; to anyone else it says why not.
    with app.server.test_request_context("/data"):
        layout = cbv.data_layout(_as(deps, "ann"), {"view": short})
        state = _store(layout, Data.STATE)
        assert state["table"] == "main.events"
        assert state["sets"] == {"event_type": ["login"]}
        assert state["quick"] == "cache"
        layout = cbv.data_layout(_as(deps, "bob"), {"view": short})
        assert "no saved view" in _store(layout, Data.STATE)["warnings"][0]
        text = _json(cbv.home_layout(_as(deps, "bob"), {}))
    assert "Shared one" in text
    assert "Ann's logins" not in text
    deps.dispose()


def _as(deps, user: str):
    """The app's deps, as seen by a request of ``user``."""
    from dataclasses import replace

    from dashapp.identity import Identity

    return replace(deps, current_user=lambda: Identity(user))


def _store(layout, store_id: str) -> dict[str, Any]:
    """The data of one ``dcc.Store`` in a layout."""
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == store_id:
                found.append(node["props"]["data"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(_json(layout)))
    return found[0]


def _json(layout: Any) -> str:
    """A layout as the JSON Dash sends."""
    return json.dumps(layout, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


def test_cv003_a_state_database_that_fails_leaves_the_pages_working(tmp_path: Path, app) -> None:
    deps = deps_of(app)
    # Replaced at once by a file that is not a database (the app's own threads, such as the
    # job sweeper, may open the file at any moment: no window where it is missing), then the
    # pooled connections to the old file are dropped.
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"not a database, " * 512)
    os.replace(garbage, deps.settings.data_dir / "state.sqlite")
    deps.saved_views.engine.dispose()
    with app.server.test_request_context("/"):
        assert "unavailable right now" in _json(cbv.home_layout(deps, {}))
        layout = cbv.data_layout(deps, {"view": "abcdefgh"})
    assert "unavailable right now" in _store(layout, Data.STATE)["warnings"][0]
