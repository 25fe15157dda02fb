"""The per-session upload store: ids checked, sessions apart, idle sessions swept."""

from __future__ import annotations

import os
import time

import pytest

from dashapp.compositor.imaging import ImageRejected, Limits
from dashapp.compositor.upload_store import UploadStore, clean_name
from tests.image_fixtures import encode, quadrants, solid


@pytest.fixture
def store(tmp_path) -> UploadStore:
    return UploadStore(tmp_path / "up", limits=Limits(), preview_px=64, idle_s=3600)


def test_us001_sessions_do_not_see_each_other(store) -> None:
    a, b = store.new_session(), store.new_session()
    info = store.add(a, encode(solid((100, 50), (1, 2, 3)), "PNG"), "x.png")
    assert store.info(a, info.id) == info
    assert store.info(b, info.id) is None
    assert store.preview(b, info.id) is None
    assert store.original_path(b, info.id) is None


@pytest.mark.parametrize(
    ("sid", "image_id"),
    [("..", "x"), ("../../etc", "passwd"), ("a" * 32, "../" * 3), ("A" * 32, "0" * 16), ("", "")],
)
def test_us002_ids_that_are_not_ids_reach_no_file(store, sid, image_id) -> None:
    assert store.info(sid, image_id) is None
    assert store.preview(sid, image_id) is None
    assert store.render_file(sid, image_id) is None
    if not store.valid_session(sid):
        with pytest.raises(ValueError, match="session"):
            store.touch(sid)


def test_us003_previews_are_small_cached_and_transformed(store) -> None:
    sid = store.new_session()
    info = store.add(sid, encode(quadrants((400, 200)), "PNG"), "q.png")
    path, mime = store.preview(sid, info.id, rot=90)
    assert mime == "image/jpeg"
    from PIL import Image

    with Image.open(path) as img:
        assert img.size == (32, 64)
    assert store.preview(sid, info.id, rot=90)[0] == path  # cached
    assert store.preview(sid, info.id, rot=45) is None


def test_us004_idle_sessions_are_swept(store) -> None:
    old, new = store.new_session(), store.new_session()
    store.add(old, encode(solid((8, 8), (0, 0, 0)), "PNG"), "a")
    store.add(new, encode(solid((8, 8), (0, 0, 0)), "PNG"), "b")
    past = time.time() - 7200
    os.utime(store.root / old, (past, past))
    assert store.sweep() == 1
    assert not (store.root / old).exists()
    assert (store.root / new).exists()


def test_us005_rejected_upload_leaves_nothing(store) -> None:
    sid = store.new_session()
    with pytest.raises(ImageRejected):
        store.add(sid, b"not an image", "x.txt")
    assert not (store.root / sid).exists() or not any((store.root / sid).glob("*.png"))


def test_us006_only_the_last_renders_are_kept(store) -> None:
    sid = store.new_session()
    ids = [
        store.save_render(sid, solid((4, 4), (1, 1, 1)), fmt="png", quality=90) for _ in range(5)
    ]
    assert store.render_file(sid, ids[0]) is None
    assert store.render_file(sid, ids[-1])[1] == "image/png"


def test_us007_display_names_are_cleaned() -> None:
    assert clean_name("C:\\Users\\me\\cat.png") == "cat.png"
    assert clean_name("../../x\x00y.png") == "xy.png"
    assert clean_name("") == "image"
