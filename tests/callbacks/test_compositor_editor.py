"""The Compositor's editor actions driven headlessly: the nudge commit, the layers list's
commands, Escape, the upload route (progress in the browser) and the batch render."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from dash.exceptions import PreventUpdate
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from callbacks import compositor as cb
from components.ids import Compositor as C
from dashapp.compositor import batch, composition
from jobs.reporter import Reporter
from tests.callbacks.test_compositor import BLUE, RED, Page, deps, page
from tests.image_fixtures import encode, solid

__all__ = ["deps", "page"]  # the fixtures, shared with test_compositor
HEADER = {"X-Dashapp-Upload": "1"}


def post_file(client, sid: str, data: bytes, name: str, headers=HEADER):
    """The upload script's request: one file, multipart, with its header."""
    # Encoded in memory: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(MultiDict({"file": FileStorage(io.BytesIO(data), name)}))
    return client.post(
        f"/compositor/upload/{sid}",
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_ce001_a_burst_of_nudges_is_committed_once(page) -> None:
    before = json.loads(json.dumps(page.comp))
    lay = page.comp["layers"][0]
    past = len(page.hist["past"])
    # What the browser leaves after arrow keys: the boxes, and the undo step it recorded.
    page.geom = {"sel": lay["id"], "boxes": {lay["id"]: [lay["x"] + 3, lay["y"] - 10, 100, 50]}}
    page.hist = {"past": [*page.hist["past"], before], "future": []}
    out = page.act(C.COMMIT)
    assert composition.box(page.comp["layers"][0])[:2] == (353, 165)
    assert page.geom is None  # folded in
    assert out[2] is None
    assert len(page.hist["past"]) == past + 1  # the browser's step, not a second one
    assert page.comp["rev"] == before.get("rev", 0) + 1
    with pytest.raises(PreventUpdate):  # nothing pending: nothing to do
        page.act(C.COMMIT)
    page.act(C.UNDO)
    assert composition.box(page.comp["layers"][0])[:2] == (350, 175)


def test_ce002_show_hide_lock_rename_reorder_from_the_list(page) -> None:
    page.upload(encode(solid((100, 50), (0, 255, 0)), "PNG"), "green.png", background=False)
    red, green = (lay["id"] for lay in page.comp["layers"])
    assert page.render().getpixel((400, 200)) == (0, 255, 0, 255)
    page.act(C.LAYER_CMD, layer_cmd={"cmd": "visible", "layer": green, "value": False})
    assert page.render().getpixel((400, 200)) == RED  # hidden: not rendered
    assert page.comp["sel"] == green  # the list's buttons do not change the selection
    page.act(C.LAYER_CMD, layer_cmd={"cmd": "locked", "layer": red, "value": True})
    # A locked layer keeps its place whatever the browser sends.
    page.geom = {"sel": green, "boxes": {red: [0, 0, 100, 50]}}
    page.act(C.SELECT, select={"layer": red})
    assert composition.box(page.comp["layers"][0])[:2] == (350, 175)
    page.act(C.LAYER_CMD, layer_cmd={"cmd": "rename", "layer": red, "value": "Logo"})
    page.act(C.LAYER_CMD, layer_cmd={"cmd": "reorder", "layer": red, "value": 1})
    assert [lay["name"] for lay in page.comp["layers"]] == ["green.png", "Logo"]
    layers = json.dumps(page.act(C.UNDO)[6 + list(cb.VIEW).index("layers")], default=str)
    assert [lay["name"] for lay in page.comp["layers"]] == ["Logo", "green.png"]
    assert "Unlock Logo" in layers  # the list shows the lock as it is
    for forged in ({"cmd": "visible", "layer": red, "value": "no"}, {"cmd": 3}, "x", None):
        try:
            page.act(C.LAYER_CMD, layer_cmd=forged)
        except PreventUpdate:
            continue
        assert "text-danger" in page.message() or page.messages[C.MESSAGE] == ""


def test_ce003_escape_selects_no_layer(page) -> None:
    out = page.act(C.SELECT, select={"layer": None})
    assert page.comp["sel"] is None
    view = dict(zip(cb.VIEW, out[6:], strict=True))
    assert view["disabled"] is True
    assert view["fields"]["values"][1:5] == [None, None, None, None]


def test_ce004_the_upload_route_has_the_callbacks_limits_and_words(client, page, deps) -> None:
    sid = page.comp["session"]
    answer = post_file(client, sid, encode(solid((60, 30), (0, 255, 0)), "PNG"), "g.png")
    assert answer.status_code == 200
    stored = answer.get_json()["stored"]
    assert page.comp["layers"][-1]["image"] != stored  # stored, not yet placed
    page.act(C.LAYER_PENDING, layer_pending={"files": [{"stored": stored, "filename": "g.png"}]})
    assert page.comp["layers"][-1]["image"] == stored
    assert "Added g.png." in page.message(C.LAYER_MESSAGE)
    for data, words in (
        (b"just text", "x.png: This is not an image we can read"),
        (encode(solid((64, 64), (1, 2, 3)), "PNG")[:90], "damaged"),
        (b"\xff" * (deps.upload_store.limits.max_bytes + 1), "the limit is 25 MB"),
    ):
        refused = post_file(client, sid, data, "x.png")
        assert refused.status_code == 200
        assert words in refused.get_json()["rejected"]
    deps.upload_store.session_bytes = deps.upload_store.storage.used(sid)
    full = post_file(client, sid, encode(solid((8, 8), (1, 1, 1)), "PNG"), "more.png")
    assert "the most one session may keep" in full.get_json()["rejected"]
    # Another session's image cannot be placed here; nor may a page of another site post.
    other = deps.upload_store.new_session()
    elsewhere = deps.upload_store.add(other, encode(solid((8, 8), BLUE), "PNG"), "b.png")
    page.act(C.LAYER_PENDING, layer_pending={"files": [{"stored": elsewhere.id}]})
    assert "has expired" in page.message(C.LAYER_MESSAGE)
    assert post_file(client, sid, b"x", "x.png", headers={}).status_code == 403
    assert "not valid" in post_file(client, "not-a-session", b"x", "x.png").get_json()["rejected"]
    no_file = client.post(f"/compositor/upload/{sid}", headers=HEADER, data={})
    assert no_file.status_code == 400
    # Files the browser refused (too large) are said like the server's refusals.
    page.act(C.BG_PENDING, bg_pending={"files": [], "rejected": ["big.jpg: the file is 30 MB"]})
    assert "big.jpg: the file is 30 MB" in page.message(C.BG_MESSAGE)


def test_ce005_batch_render_through_the_callback_and_its_zip(client, page, deps) -> None:
    sid = page.comp["session"]
    wide = deps.upload_store.add(sid, encode(solid((1600, 800), BLUE[:3]), "PNG"), "w.png")
    options = cb.view(deps, page.comp, None, None)["batch_sources"]
    values = [o["value"] for o in options]  # the session's uploads, newest first
    assert values[0] == batch.source(batch.UPLOAD, wide.id)
    assert batch.source(batch.UPLOAD, page.comp["bg"]["image"]) in values
    assert options[0]["label"] == "Upload: w.png · 1600×800"
    reported: list[tuple[str, str]] = []
    shown = cb.batch_result(
        deps,
        reported.append,
        page.comp,
        None,
        [values[0], batch.source(batch.UPLOAD, page.comp["bg"]["image"])],
        "current",
        "png",
        90,
        None,
    )
    text = json.dumps(shown.to_plotly_json(), default=lambda o: o.to_plotly_json())
    assert "Download 2 renders (zip)" in text
    assert reported[-1] == ("100", "2 of 2 rendered")
    href = text.split('"href": "')[1].split('"')[0]
    resp = client.get(href)
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(resp.data)) as zipped:
        assert zipped.namelist() == ["01-w.png", "02-bg.png"]
        with Image.open(io.BytesIO(zipped.read("01-w.png"))) as wide_render:
            assert wide_render.size == (1600, 800)
            assert wide_render.getpixel((800, 400)) == RED  # centred, twice the size
    resp.close()
    batch_id = href.rsplit("/", 1)[1]
    other = deps.upload_store.new_session()
    assert client.get(f"/compositor/files/{other}/batches/{batch_id}").status_code == 404
    assert client.get(f"/compositor/files/{sid}/batches/..%2fx").status_code == 404
    refused = cb.batch_result(deps, reported.append, page.comp, None, [], "recipe", "png", 90, None)
    assert "Choose a recipe file first" in json.dumps(refused.to_plotly_json(), default=str)


def test_ce006_a_first_upload_through_the_route_is_the_background(deps, client) -> None:
    p = Page(deps)
    sid = p.comp["session"]
    stored = post_file(client, sid, encode(solid((40, 20), (5, 5, 5)), "PNG"), "b.png")
    p.act(C.BG_PENDING, bg_pending={"files": [{"stored": stored.get_json()["stored"]}]})
    assert (p.comp["bg"]["w"], p.comp["bg"]["h"]) == (40, 20)


def test_ce007_a_fields_blur_and_a_click_in_one_request_both_apply(page) -> None:
    red = page.comp["layers"][0]["id"]
    # Typed in X, then the lock clicked: the field's blur and the command arrive together.
    lock = {"cmd": "locked", "layer": red, "value": True}
    page.act([C.X, C.LAYER_CMD], **{C.X: 10}, layer_cmd=lock)
    assert composition.box(page.comp["layers"][0])[:2] == (10, 175)
    assert page.comp["layers"][0]["locked"] is True
    page.act([C.Y, C.FLIP_H], **{C.Y: 20})
    assert composition.box(page.comp["layers"][0])[:2] == (10, 20)
    assert page.comp["layers"][0]["flip_h"] is True
    page.act(C.UNDO)
    assert page.comp["layers"][0]["flip_h"] is False  # each is a step of its own


def test_ce008_a_training_jobs_image_as_a_batch_background(page, deps) -> None:
    store = deps.job_store
    job_id = store.create("shapes-cnn", {}, "t")
    reporter = Reporter(store, job_id, deps.settings.data_dir / "artifacts" / job_id)
    reporter.image("predictions", solid((400, 200), (0, 200, 0)))  # as a trainer makes one
    store.finish(job_id, "succeeded")
    art_id = store.artifacts(job_id)[0]["id"]
    options = cb.view(deps, page.comp, None, None)["batch_sources"]
    assert batch.source(batch.ARTIFACT, art_id) in [o["value"] for o in options]
    shown = cb.batch_result(
        deps,
        lambda _: None,
        page.comp,
        None,
        [batch.source(batch.ARTIFACT, art_id)],
        "current",
        "png",
        90,
        None,
    )
    text = json.dumps(shown.to_plotly_json(), default=lambda o: o.to_plotly_json())
    assert "Download 1 render (zip)" in text, text
    href = text.split('"href": "')[1].split('"')[0]
    found = deps.upload_store.batch_file(page.comp["session"], href.rsplit("/", 1)[1])
    assert found is not None
    with zipfile.ZipFile(found[0]) as zipped:
        (name,) = zipped.namelist()
        assert name.startswith("01-predictions")
        with Image.open(io.BytesIO(zipped.read(name))) as out:
            assert out.size == (400, 200)
            assert out.getpixel((200, 100)) == RED  # half the background: half the size
            assert out.getpixel((5, 5)) == (0, 200, 0, 255)
