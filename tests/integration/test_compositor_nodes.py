"""Two web nodes, each with its own data folder, sharing one PostgreSQL state database:
an image uploaded through one is shown, previewed and rendered by the other."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from dash import no_update
from PIL import Image

from callbacks import compositor as cb
from components.ids import Compositor as C
from dashapp.app import create_app, deps_of
from dashapp.compositor import composition
from dashapp.settings import Settings
from tests.conftest import SMALL_DEMO_ROWS, TEST_SECRET_KEY
from tests.image_fixtures import data_url, encode, solid

BG, RED = (0, 0, 255), (255, 0, 0, 255)


@pytest.fixture
def nodes(tmp_path: Path, pg_url: str):
    """Apps A and B: separate data folders, one state database (storage: auto)."""
    apps = [
        create_app(
            Settings(
                data_dir=tmp_path / name,
                state_url=pg_url,
                demo_rows=SMALL_DEMO_ROWS,
                secret_key=TEST_SECRET_KEY,
            )
        )
        for name in ("a", "b")
    ]
    yield apps
    for app in apps:
        deps_of(app).dispose()


def upload_body(
    graph: list[dict[str, Any]], comp: Any, data: bytes, name: str, *, background: bool
) -> dict[str, Any]:
    """The request the browser makes when a file is dropped on an upload zone."""
    dep = next(
        d for d in graph if f"{C.GEOM}.data" in d["output"] and not d.get("clientside_function")
    )
    pending_id = C.BG_PENDING if background else C.LAYER_PENDING
    pending = {"files": [{"contents": data_url(data), "filename": name}]}
    values = {(pending_id, "data"): pending, (C.COMP, "data"): comp}
    outputs = [
        {"id": p.split(".")[0], "property": p.split(".")[1].split("@")[0]}
        for p in dep["output"].strip(".").split("...")
    ]
    return {
        "output": dep["output"],
        "outputs": outputs,
        "inputs": [{**i, "value": values.get((i["id"], i["property"]))} for i in dep["inputs"]],
        "state": [{**s, "value": values.get((s["id"], s["property"]))} for s in dep["state"]],
        "changedPropIds": [f"{pending_id}.data"],
    }


def post_upload(app: Any, comp: Any, data: bytes, name: str, *, background: bool) -> Any:
    """Post an upload to the app's Dash endpoint as the browser does; what it answers."""
    client = app.server.test_client()
    graph = client.get("/_dash-dependencies").get_json()
    body = upload_body(graph, comp, data, name, background=background)
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200, resp.data[:300]
    return resp.get_json()["response"]


def test_cn001_an_upload_on_one_node_is_shown_previewed_and_rendered_on_another(nodes) -> None:
    a, b = nodes
    deps_a, deps_b = deps_of(a), deps_of(b)
    assert deps_a.upload_store.shared
    assert deps_b.upload_store.shared
    comp = composition.empty(deps_a.upload_store.new_session())
    bg, layer = encode(solid((400, 200), BG), "PNG"), encode(solid((100, 50), RED, "RGBA"), "PNG")
    comp = post_upload(a, comp, bg, "bg.png", background=True)[C.COMP]["data"]
    comp = post_upload(a, comp, layer, "red.png", background=False)[C.COMP]["data"]
    assert [lay["name"] for lay in comp["layers"]] == ["red.png"]

    # Node B draws the composition as A left it (page load there) ...
    with b.server.test_request_context("/"):
        shown = cb.view(deps_b, comp, None, None)
    assert shown["bg_info"] == "bg.png · 400×200 px"
    assert "red.png" in str(shown["layers"])
    assert shown["comp"] is no_update  # nothing "expired", nothing dropped
    # ... and serves the previews the figure names, from its own (empty) cache.
    client_b = b.server.test_client()
    for image in shown["figure"]["layout"]["images"]:
        resp = client_b.get(image["source"])
        assert resp.status_code == 200, image["source"]
        assert Image.open(io.BytesIO(resp.data)).size in ((400, 200), (100, 50))
        resp.close()
    assert not (deps_a.settings.data_dir / "uploads" / comp["session"] / "previews").exists()

    # B renders; the download lands on A.
    with b.server.test_request_context("/"):
        result = cb.render_result(deps_b, comp, None, "png", 90)
    text = str(result.to_plotly_json())
    assert "Download" in text, text
    render_id = text.split("/renders/")[1].split("?")[0].split("'")[0]
    resp = a.server.test_client().get(
        f"/compositor/files/{comp['session']}/renders/{render_id}?download=1"
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Length"] == str(len(resp.data))
    with Image.open(io.BytesIO(resp.data)) as out:
        assert out.size == (400, 200)
        assert out.getpixel((200, 100)) == RED  # the layer, centred
        assert out.getpixel((10, 10)) == (*BG, 255)
    resp.close()
    small = a.server.test_client().get(
        f"/compositor/files/{comp['session']}/renders/{render_id}?preview=1"
    )
    assert small.status_code == 200
    assert small.mimetype == "image/jpeg"
    small.close()

    # A session B never served stays apart from it: other ids reach nothing.
    other = deps_b.upload_store.new_session()
    resp = client_b.get(f"/compositor/files/{other}/{comp['bg']['image']}/preview")
    assert resp.status_code == 404
    resp.close()


def test_cn002_local_storage_stays_on_its_node(tmp_path: Path, pg_url: str) -> None:
    """The setting overrides auto: with ``local`` each node keeps its own folder."""
    settings = Settings(
        data_dir=tmp_path / "a",
        state_url=pg_url,
        demo_rows=SMALL_DEMO_ROWS,
        secret_key=TEST_SECRET_KEY,
        compositor_storage="local",
    )
    app = create_app(settings)
    try:
        store = deps_of(app).upload_store
        assert not store.shared
        sid = store.new_session()
        store.add(sid, encode(solid((10, 10), BG), "PNG"), "x.png")
        assert any((tmp_path / "a" / "uploads" / sid).glob("*.png"))
    finally:
        deps_of(app).dispose()
