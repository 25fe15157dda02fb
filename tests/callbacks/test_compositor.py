"""Compositor callbacks driven headlessly: upload, move, resize, z-order, opacity, render."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate
from PIL import Image

from callbacks import compositor as cb
from components.ids import Compositor as C
from dashapp.app import deps_of
from dashapp.compositor import composition
from jobs.reporter import Reporter
from tests.callbacks.helpers import find_callback
from tests.image_fixtures import SVG, data_url, encode, png_bomb, quadrants, solid

RED = (255, 0, 0, 255)
BLUE = (0, 0, 255, 255)


class Page:
    """The Compositor's browser-side state, updated the way the stores would be."""

    def __init__(self, deps) -> None:
        self.deps = deps
        self.comp: Any = composition.empty(deps.upload_store.new_session())
        self.hist: Any = None
        self.geom: Any = None
        self.messages: dict[str, Any] = {}

    def act(self, trigger: str, **values: Any) -> tuple[Any, ...]:
        base = {
            "comp": self.comp,
            "hist": self.hist,
            "geom": self.geom,
            "bg_pending": None,
            "layer_pending": None,
            "select": None,
            "artifact": None,
            "recipe": None,
            "keep_aspect": True,
            **self.fields(),
        }
        base.update(values)
        out = cb.act(self.deps, trigger, base, self.comp, self.hist, self.geom)
        for name, value in zip(("comp", "hist", "geom"), out[:3], strict=True):
            if value is not no_update:
                setattr(self, name, value)
        self.messages = {C.MESSAGE: out[3], C.BG_MESSAGE: out[4], C.LAYER_MESSAGE: out[5]}
        return out

    def fields(self) -> dict[str, Any]:
        """What the page's fields show: the selected layer, as the view draws it."""
        comp, _ = composition.sanitize(self.comp, self.deps.upload_store)
        lay = composition.selected(composition.merge_geometry(comp, self.geom))
        if lay is None:
            return {cid: None for cid in cb.FIELDS}
        x0, y0, x1, y1 = composition.box(lay)
        shown = {"rename": lay["name"], "x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0}
        shown["opacity"] = round(lay["opacity"] * 100)
        return {cid: shown[action] for cid, action in cb.FIELDS.items()}

    def upload(self, data: bytes, name: str, *, background: bool) -> None:
        pending = {"files": [{"contents": data_url(data), "filename": name}], "nonce": 1}
        if background:
            self.act(C.BG_PENDING, bg_pending=pending)
        else:
            self.act(C.LAYER_PENDING, layer_pending=pending)

    def drag(self, x0: float, y0: float, x1: float, y1: float, index: int = 0) -> None:
        """What the clientside drag leaves in the GEOM store."""
        merged = composition.merge_geometry(self.comp, self.geom)
        moved = composition.apply_relayout(
            merged,
            {
                f"shapes[{index}].{k}": v
                for k, v in zip(("x0", "y0", "x1", "y1"), (x0, y0, x1, y1), strict=True)
            },
            keep_aspect=True,
            snap=False,
        )
        self.geom = {
            "sel": moved["sel"],
            "boxes": {
                lay["id"]: [lay["x"], lay["y"], lay["w"], lay["h"]] for lay in moved["layers"]
            },
        }

    def message(self, key: str = C.MESSAGE) -> str:
        return json.dumps(self.messages.get(key), default=lambda o: o.to_plotly_json())

    def render(self, fmt: str = "png", quality: Any = 90) -> Image.Image:
        result = cb.render_result(self.deps, self.comp, self.geom, fmt, quality)
        text = json.dumps(result.to_plotly_json(), default=lambda o: o.to_plotly_json())
        assert "Download" in text, text
        render_id = text.split("/renders/")[1].split("?")[0].split('"')[0]
        path, _ = self.deps.upload_store.render_file(self.comp["session"], render_id)
        with Image.open(path) as img:
            img.load()
            out = img.copy()
            out.format = img.format
        return out


@pytest.fixture
def deps(app):
    return deps_of(app)


@pytest.fixture
def page(deps) -> Page:
    p = Page(deps)
    p.upload(encode(solid((800, 400), (0, 0, 255)), "PNG"), "bg.png", background=True)
    p.upload(encode(solid((100, 50), (255, 0, 0, 255), "RGBA"), "PNG"), "red.png", background=False)
    return p


def test_cc001_upload_background_and_layer(page) -> None:
    assert page.comp["bg"]["w"] == 800
    assert page.comp["bg"]["name"] == "bg.png"
    assert [lay["name"] for lay in page.comp["layers"]] == ["red.png"]
    assert "Added red.png" in page.message(C.LAYER_MESSAGE)
    assert len(page.hist["past"]) == 2  # both uploads can be undone


def test_cc002_move_then_render(page) -> None:
    page.drag(10.2, 20.7, 110.2, 70.7)
    img = page.render()
    assert img.size == (800, 400)
    assert img.mode == "RGBA"
    assert img.getpixel((10, 21)) == RED
    assert img.getpixel((109, 70)) == RED
    assert img.getpixel((9, 40)) == BLUE
    assert img.getpixel((110, 40)) == BLUE
    assert img.getpixel((50, 20)) == BLUE
    assert img.getpixel((50, 71)) == BLUE


def test_cc003_resize_keeps_aspect_and_fields_agree(page) -> None:
    page.drag(350, 175, 650, 200)  # bottom-right handle out to 300 wide
    v = cb.view(page.deps, page.comp, page.geom, None)
    shown = dict(zip(v["fields"]["ids"], v["fields"]["values"], strict=True))
    assert (shown[C.X], shown[C.Y], shown[C.W], shown[C.H]) == (350, 175, 300, 150)
    image = v["figure"]["layout"]["images"][1]
    assert (image["sizex"], image["sizey"]) == (300, 150)
    # A typed width is applied exactly; the height follows with the aspect kept.
    page.act(C.W, **{C.W: 200})
    lay = page.comp["layers"][0]
    assert (lay["x"], lay["w"], lay["h"]) == (350, 200, 100)
    assert page.geom is None
    page.act(C.X, **{C.X: "nope"})
    assert "X must be a number" in page.message()
    # One field's blur and another's Enter can arrive together: both apply.
    page.act([C.X, C.Y], **{C.X: 10, C.Y: 20})
    assert composition.box(page.comp["layers"][0])[:2] == (10, 20)


def test_cc004_z_order_and_opacity(page, deps) -> None:
    page.upload(encode(solid((100, 50), (0, 255, 0)), "PNG"), "green.png", background=False)
    assert page.render().getpixel((400, 200))[:3] == (0, 255, 0)
    page.act(C.BACKWARD)
    assert page.render().getpixel((400, 200)) == RED
    page.act(C.SELECT, select={"layer": page.comp["layers"][1]["id"]})  # red is now on top
    page.act(C.OPACITY, **{C.OPACITY: 50})
    px = page.render().getpixel((400, 200))
    assert px[0] in (127, 128)
    assert px[1] in (127, 128)
    assert px[2] == 0


def test_cc005_undo_redo_flip_rotate_duplicate_delete(page) -> None:
    page.act(C.DUPLICATE)
    assert len(page.comp["layers"]) == 2
    page.act(C.DELETE)
    page.act(C.DELETE)
    assert page.comp["layers"] == []
    page.act(C.UNDO)
    page.act(C.UNDO)
    assert len(page.comp["layers"]) == 2
    page.act(C.REDO)
    assert len(page.comp["layers"]) == 1
    page.act(C.ROTATE)
    assert page.comp["layers"][0]["rot"] == 90
    page.act(C.FLIP_V)
    assert page.comp["layers"][0]["flip_v"] is True


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"just text", "not an image we can read"),
        (encode(solid((64, 64), (1, 2, 3)), "PNG")[:90], "damaged"),
        (SVG, "Vector and document formats"),
        (png_bomb(20_000, 20_000), "megapixels"),
        (encode(solid((9000, 7000), (1, 1, 1)), "JPEG", quality=10), "63 megapixels"),
    ],
)
def test_cc006_bad_uploads_get_a_message_and_change_nothing(page, data, message) -> None:
    before = json.loads(json.dumps(page.comp))
    page.upload(data, "bad.file", background=False)
    assert message in page.message(C.LAYER_MESSAGE)
    assert page.comp == before
    page.upload(data, "bad.file", background=True)
    assert message in page.message(C.BG_MESSAGE)
    assert page.comp == before


def test_cc007_oversized_and_forged_uploads(page, deps) -> None:
    limit = deps.upload_store.limits.max_bytes
    huge = "data:image/png;base64," + "A" * (limit * 4 // 3 + 400)
    before = json.loads(json.dumps(page.comp))
    page.act(C.LAYER_PENDING, layer_pending={"files": [{"contents": huge, "filename": "big.png"}]})
    assert "the limit is 25 MB" in page.message(C.LAYER_MESSAGE)
    for forged in (
        {"files": [{"contents": "data:image/png;base64,***", "filename": "x"}]},
        {"files": [{"contents": 42}]},
        {"files": ["nonsense"]},
    ):
        page.act(C.LAYER_PENDING, layer_pending=forged)
        assert "text-danger" in page.message(C.LAYER_MESSAGE)
    with pytest.raises(PreventUpdate):
        page.act(C.LAYER_PENDING, layer_pending={"files": "x"})
    assert page.comp == before


def test_cc008_layers_need_a_background(deps) -> None:
    p = Page(deps)
    p.upload(encode(solid((10, 10), (1, 2, 3)), "PNG"), "a.png", background=False)
    assert "Upload a background first" in p.message(C.LAYER_MESSAGE)


def test_cc009_recipe_save_and_load_on_another_background(page) -> None:
    page.drag(100, 100, 200, 150)
    recipe = cb.recipe_file(page.deps, page.comp, page.geom)
    assert recipe["filename"].endswith(".json")
    page.upload(encode(solid((1600, 800), (0, 0, 255)), "PNG"), "big.png", background=True)
    lay = page.comp["layers"][0]
    assert (round(lay["x"]), round(lay["y"]), round(lay["w"])) == (200, 200, 200)
    page.act(C.DELETE)
    page.act(C.RECIPE_UPLOAD, recipe=data_url(recipe["content"].encode(), "application/json"))
    assert "Recipe loaded: 1 layer" in page.message()
    assert composition.box(page.comp["layers"][0]) == (200, 200, 400, 300)
    page.act(C.RECIPE_UPLOAD, recipe=data_url(b"{not json", "application/json"))
    assert "not a dashapp compositor recipe" in page.message()


def test_cc010_render_jpeg_and_bad_quality(page) -> None:
    img = page.render("jpeg", 95)
    assert img.format == "JPEG"
    assert img.mode == "RGB"
    assert img.size == (800, 400)
    bad = cb.render_result(page.deps, page.comp, page.geom, "jpeg", "abc")
    assert "JPEG quality" in json.dumps(bad.to_plotly_json(), default=lambda o: o.to_plotly_json())


def test_cc011_job_artifact_becomes_a_layer(page, deps, tmp_path) -> None:
    store = deps.job_store
    job_id = store.create("shapes-cnn", {}, "t")
    reporter = Reporter(store, job_id, deps.settings.data_dir / "artifacts" / job_id)
    reporter.image("predictions", quadrants((60, 30)))  # as a trainer makes one
    art_id = store.artifacts(job_id)[0]["id"]
    page.act(C.ARTIFACT_ADD, artifact=art_id)
    assert "still running" in page.message()
    store.finish(job_id, "succeeded")
    assert any(o["value"] == art_id for o in cb.artifact_options(deps))
    page.act(C.ARTIFACT_ADD, artifact=art_id)
    assert page.comp["layers"][-1]["name"].startswith("predictions")
    # The job page's link: /compositor?artifact=<id> adds it when the page loads.
    v = cb.view(deps, page.comp, None, art_id)
    assert len(v["comp"]["layers"]) == 3
    assert v["query"] is None
    page.act(C.ARTIFACT_ADD, artifact="../../etc/passwd")
    assert "No such training artifact" in page.message()


def test_cc012_hostile_state_from_the_browser(deps) -> None:
    p = Page(deps)
    p.comp = {"session": "../../../etc", "bg": {"image": "passwd"}, "layers": [{"x": "y"}]}
    p.geom = {"boxes": {"x": ["a", 1, 2, 3]}, "sel": {"$ne": 1}}
    p.upload(encode(solid((50, 50), (0, 0, 255)), "PNG"), "bg.png", background=True)
    assert deps.upload_store.valid_session(p.comp["session"])
    assert p.comp["bg"]["w"] == 50
    assert p.comp["layers"] == []


def test_cc013_the_upload_travels_through_dash(client, deps) -> None:
    """The real callback wiring: a POST like the browser's adds the background."""
    graph = client.get("/_dash-dependencies").get_json()
    dep = next(
        d
        for d in graph
        if "compositor-geom.data" in d["output"] and not d.get("clientside_function")
    )
    comp = composition.empty(deps.upload_store.new_session())
    pending = {
        "files": [
            {"contents": data_url(encode(solid((30, 20), (1, 2, 3)), "PNG")), "filename": "a.png"}
        ]
    }
    values = {
        f"{C.BG_PENDING}.data": pending,
        f"{C.COMP}.data": comp,
        f"{C.BG_PENDING}.data.state": pending,
    }
    outputs = [
        {"id": p.split(".")[0], "property": p.split(".")[1].split("@")[0]}
        for p in dep["output"].strip(".").split("...")
    ]
    body = {
        "output": dep["output"],
        "outputs": outputs,
        "inputs": [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]],
        "state": [
            {
                **s,
                "value": values.get(
                    f"{s['id']}.{s['property']}" + (".state" if s["id"] == C.BG_PENDING else "")
                ),
            }
            for s in dep["state"]
        ],
        "changedPropIds": [f"{C.BG_PENDING}.data"],
    }
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200, resp.data[:300]
    new_comp = resp.get_json()["response"][C.COMP]["data"]
    assert new_comp["bg"]["w"] == 30
    assert new_comp["session"] == comp["session"]
    assert find_callback(graph, f"{C.RESULT}.children")["inputs"][0]["id"] == C.RENDER


def test_cc014_preview_and_render_urls_stay_inside_their_session(client, page, deps) -> None:
    sid = page.comp["session"]
    lay = page.comp["layers"][0]
    ok = client.get(f"/compositor/files/{sid}/{lay['image']}/preview?t=000")
    assert ok.status_code == 200
    assert ok.mimetype in ("image/png", "image/jpeg")
    assert Image.open(io.BytesIO(ok.data)).size == (100, 50)
    ok.close()
    secret = (deps.settings.data_dir / "secret_key").read_bytes().strip()
    other = deps.upload_store.new_session()
    for url in (
        f"/compositor/files/{other}/{lay['image']}/preview",
        f"/compositor/files/{sid}/{lay['image']}/preview?t=0045",
        f"/compositor/files/{sid}/..%2f..%2fsecret_key/preview",
        f"/compositor/files/..%2f..%2f/{lay['image']}/preview",
        f"/compositor/files/{sid}/renders/{lay['image']}",
        f"/compositor/files/{sid}/renders/..%2f{lay['image']}.png",
    ):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert secret not in resp.data
        resp.close()


def test_cc015_a_deeply_nested_recipe_is_just_not_a_recipe(page) -> None:
    before = json.loads(json.dumps(page.comp))
    for nested in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 900 + b"1" + b"}" * 900):
        page.act(C.RECIPE_UPLOAD, recipe=data_url(nested, "application/json"))
        assert "This file is not a dashapp compositor recipe." in page.message()
        assert page.comp == before
    deep_name = {"dashapp_recipe": 1, "background": {"w": 8, "h": 8}, "layers": [{"name": []}]}
    deep_name["layers"][0]["name"] = json.loads("[" * 900 + "]" * 900)
    page.act(C.RECIPE_UPLOAD, recipe=data_url(json.dumps(deep_name).encode(), "application/json"))
    assert "not a dashapp compositor recipe" in page.message()


def test_cc016_busy_decoders_and_a_full_session_say_so(page, deps) -> None:
    before = json.loads(json.dumps(page.comp))
    image = encode(solid((60, 40), (9, 9, 9)), "PNG")
    deps.upload_store.slot_wait_s = 0.1
    while deps.upload_slots.acquire(timeout=0):  # other uploads hold every slot
        pass
    page.upload(image, "late.png", background=False)
    assert "The server is busy storing other images; try again in a moment." in page.message(
        C.LAYER_MESSAGE
    )
    assert page.comp == before
    deps.upload_slots.release()
    deps.upload_store.session_bytes = deps.upload_store.storage.used(page.comp["session"])
    page.upload(image, "more.png", background=True)
    assert "the most one session may keep" in page.message(C.BG_MESSAGE)
    assert page.comp == before
