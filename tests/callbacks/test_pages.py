"""The page router answers every page, the 404 page and works under a prefix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.ids import Compositor, Data, Home, NotFound, Training
from dashapp.app import create_app
from dashapp.settings import Settings
from tests.callbacks.helpers import post_callback

PAGES = [
    ("/", Home.CARDS),
    ("/data", Data.PICKER),
    ("/training", Training.START),
    ("/compositor", Compositor.ROOT),
    ("/no/such/page", NotFound.BODY),
]


def _route(client, prefix: str, path: str) -> str:
    status, body = post_callback(
        client,
        prefix,
        "_pages_content.children",
        {"_pages_location.pathname": prefix.rstrip("/") + path, "_pages_location.search": ""},
    )
    assert status == 200, body
    return json.dumps(body["response"]["_pages_content"]["children"])


@pytest.mark.parametrize(("path", "marker"), PAGES)
def test_cb001_router_renders_each_page(client, path: str, marker: str) -> None:
    assert f'"{marker}"' in _route(client, "/", path)


@pytest.mark.parametrize(("path", "marker"), PAGES)
def test_cb002_router_under_a_prefix(tmp_path: Path, path: str, marker: str) -> None:
    settings = Settings(data_dir=tmp_path, demo_rows=2_000, url_prefix="/tools/dashapp/")
    app = create_app(settings)
    rendered = _route(app.server.test_client(), "/tools/dashapp/", path)
    assert f'"{marker}"' in rendered
    # Links inside pages carry the prefix too.
    if path == "/":
        assert '"/tools/dashapp/data"' in rendered


def test_cb003_a_second_app_in_the_same_process_still_answers(tmp_path: Path, client) -> None:
    other = create_app(Settings(data_dir=tmp_path / "other", demo_rows=2_000))
    for c in (client, other.server.test_client()):
        assert f'"{Data.PICKER}"' in _route(c, "/", "/data")


def test_cb004_theme_and_nav_callbacks_are_clientside(client) -> None:
    deps = client.get("/_dash-dependencies").get_json()
    # Theme, navigation, and the memory of opened tables (picked, or linked and shown with the
    # page) for the home page; the shell's one server callback is the light poll behind the
    # job toasts.
    shell = [d for d in deps if "shell-" in d["output"] and "shell-toasts" not in d["output"]]
    assert len(shell) == 4
    assert all(d["clientside_function"]["namespace"].startswith("dashapp") for d in shell)
