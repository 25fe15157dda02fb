"""The Compositor on a full, then a read-only, data folder (a real tiny tmpfs): uploads and
renders say so on the page, previews still show, and no ``.tmp`` file is left anywhere."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from components.ids import Compositor as C
from dashapp.app import create_app, deps_of
from dashapp.compositor import composition
from dashapp.settings import Settings
from tests.callbacks.helpers import post_callback
from tests.conftest import skip_or_fail
from tests.image_fixtures import encode, solid
from tests.integration.test_compositor_nodes import post_upload

MESSAGE = "the server's disk is full or read-only"


def mount(*args: str) -> None:
    """Run ``mount`` (as root), failing the test with its own words."""
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MB tmpfs to hold the data folder, unmounted afterwards."""
    point = tmp_path / "disk"
    point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs (needs root): {done.stderr.strip()}")
    yield point
    subprocess.run(["umount", "-R", "-l", str(point)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the disk refuses more; returns it."""
    filler = folder / "filler"
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def render(app: Any, comp: dict[str, Any]) -> str:
    """Click Render (through the app's Dash endpoint); what the result area shows."""
    status, body = post_callback(
        app.server.test_client(),
        "/",
        f"{C.RESULT}.children",
        {f"{C.RENDER}.n_clicks": 1, f"{C.COMP}.data": comp, f"{C.FORMAT}.value": "png"},
    )
    assert status == 200, body
    return json.dumps(body)


def preview(app: Any, comp: dict[str, Any], code: str) -> Image.Image:
    """The background's preview with a transform code, as the canvas fetches it."""
    url = f"/compositor/files/{comp['session']}/{comp['bg']['image']}/preview?t={code}"
    resp = app.server.test_client().get(url)
    assert resp.status_code == 200, resp.data[:200]
    img = Image.open(io.BytesIO(resp.data))
    resp.close()
    return img


def test_fd001_a_full_then_read_only_data_folder_is_said_on_the_page(disk, tmp_path) -> None:
    settings = Settings(
        data_dir=disk / "data",
        state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
        database_url=f"sqlite:///{tmp_path / 'browse.sqlite'}",
        compositor_storage="local",
    )
    app = create_app(settings)
    try:
        store = deps_of(app).upload_store
        comp = composition.empty(store.new_session())
        answer = post_upload(
            app, comp, encode(solid((300, 200), (0, 0, 255)), "PNG"), "bg.png", background=True
        )
        comp = answer[C.COMP]["data"]
        assert preview(app, comp, "000").size == (300, 200)
        layer = encode(solid((40, 30), (255, 0, 0)), "PNG")

        filler = fill(disk)
        answer = post_upload(app, comp, layer, "red.png", background=False)
        assert MESSAGE in json.dumps(answer[C.LAYER_MESSAGE]), answer
        assert C.COMP not in answer  # the composition is untouched
        assert MESSAGE in render(app, comp)
        assert preview(app, comp, "100").size == (300, 200)  # made, served, not cached
        assert list(disk.rglob("*.tmp")) == []

        filler.unlink()
        # Read-only from now on (a read-only bind mount over the data folder: the remount
        # of the tmpfs itself is refused while the app's cache keeps a file open).
        data = settings.data_dir
        mount("--bind", str(data), str(data))
        mount("-o", "remount,bind,ro", str(data))
        answer = post_upload(app, comp, layer, "red.png", background=False)
        assert MESSAGE in json.dumps(answer[C.LAYER_MESSAGE]), answer
        assert MESSAGE in render(app, comp)
        assert preview(app, comp, "010").size == (300, 200)
        assert preview(app, comp, "000").size == (300, 200)  # cached before: still served
        assert list(disk.rglob("*.tmp")) == []

        mount("-o", "remount,bind,rw", str(data))
        answer = post_upload(app, comp, layer, "red.png", background=False)
        assert "Added red.png" in json.dumps(answer[C.LAYER_MESSAGE])  # and it recovers
    finally:
        deps_of(app).dispose()
