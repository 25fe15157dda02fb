"""The per-session upload store on both backends (a local folder, PostgreSQL): ids checked,
sessions apart, idle sessions swept, limits and quotas kept, decodes bounded."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from dashapp import migrations
from dashapp.compositor.imaging import ImageRejected, Limits
from dashapp.compositor.schema import chunks, sessions
from dashapp.compositor.storage import PROXY, LocalStorage
from dashapp.compositor.storage_db import DatabaseStorage
from dashapp.compositor.upload_store import Busy, QuotaExceeded, UploadStore, clean_name
from dashapp.db import make_engine
from tests.image_fixtures import encode, quadrants, solid

MakeStore = Callable[..., UploadStore]


@pytest.fixture(params=["local", "postgresql"])
def make_store(request, tmp_path) -> Iterator[MakeStore]:
    """A factory of stores on one backend; ``node`` names this node's own folder."""
    engine = None
    if request.param == "postgresql":
        engine = make_engine(request.getfixturevalue("pg_url"))
        migrations.upgrade(engine)

    def make(node: str = "a", **options) -> UploadStore:
        options.setdefault("limits", Limits())
        storage = DatabaseStorage(engine) if engine is not None else None
        return UploadStore(tmp_path / node, preview_px=64, idle_s=3600, storage=storage, **options)

    yield make
    if engine is not None:
        engine.dispose()


@pytest.fixture
def store(make_store: MakeStore) -> UploadStore:
    return make_store()


def png(size=(8, 8), colour=(0, 0, 0)) -> bytes:
    return encode(solid(size, colour), "PNG")


def age(store: UploadStore, sid: str, seconds: float) -> None:
    """Make a session look unused for ``seconds``, where its backend keeps that."""
    past = time.time() - seconds
    if isinstance(store.storage, DatabaseStorage):
        with store.storage.engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.id == sid).values(touched_at=past))
    if (store.root / sid).exists():
        os.utime(store.root / sid, (past, past))


def test_us001_sessions_do_not_see_each_other(store) -> None:
    a, b = store.new_session(), store.new_session()
    info = store.add(a, encode(solid((100, 50), (1, 2, 3)), "PNG"), "x.png")
    assert store.info(a, info.id) == info
    assert store.info(b, info.id) is None
    assert store.preview(b, info.id) is None
    assert store.original_path(b, info.id) is None
    with pytest.raises(KeyError):
        store.open(b, info.id)
    render_id = store.save_render(a, solid((4, 4), (1, 1, 1)), fmt="png", quality=90)
    assert store.render_file(a, render_id) is not None
    assert store.render_file(b, render_id) is None
    assert store.render_preview(b, render_id) is None
    assert store.render_preview(a, info.id) is None  # an image is not a render


@pytest.mark.parametrize(
    ("sid", "image_id"),
    [("..", "x"), ("../../etc", "passwd"), ("a" * 32, "../" * 3), ("A" * 32, "0" * 16), ("", "")],
)
def test_us002_ids_that_are_not_ids_reach_no_file(store, sid, image_id) -> None:
    assert store.info(sid, image_id) is None
    assert store.preview(sid, image_id) is None
    assert store.render_file(sid, image_id) is None
    assert store.render_preview(sid, image_id) is None
    if not store.valid_session(sid):
        with pytest.raises(ValueError, match="session"):
            store.touch(sid)


def test_us003_previews_are_small_cached_and_transformed(store) -> None:
    sid = store.new_session()
    info = store.add(sid, encode(quadrants((400, 200)), "PNG"), "q.png")
    path, mime = store.preview(sid, info.id, rot=90)
    assert mime == "image/jpeg"
    with Image.open(path) as img:
        assert img.size == (32, 64)
    assert store.preview(sid, info.id, rot=90)[0] == path  # cached
    assert store.preview(sid, info.id, rot=45) is None


def test_us004_idle_sessions_are_swept(store) -> None:
    old, new = store.new_session(), store.new_session()
    gone = store.add(old, png(), "a")
    kept = store.add(new, png(), "b")
    store.preview(old, gone.id)
    age(store, old, 7200)
    assert store.sweep() == 1
    assert store.info(old, gone.id) is None
    assert store.preview(old, gone.id) is None
    assert not (store.root / old).exists()  # the files, or this node's previews of them
    assert store.info(new, kept.id) == kept
    assert store.storage.used(old) == 0
    if isinstance(store.storage, DatabaseStorage):
        with store.storage.engine.connect() as conn:
            left = conn.execute(select(func.count()).where(chunks.c.session == old)).scalar()
        assert left == 0


def test_us005_rejected_upload_leaves_nothing(store) -> None:
    sid = store.new_session()
    with pytest.raises(ImageRejected):
        store.add(sid, b"not an image", "x.txt")
    assert store.storage.used(sid) == 0
    assert store.storage.listing(sid, "image") == []


def test_us006_only_the_last_renders_are_kept(store) -> None:
    sid = store.new_session()
    ids = [
        store.save_render(sid, solid((4, 4), (1, 1, 1)), fmt="png", quality=90) for _ in range(5)
    ]
    assert store.render_file(sid, ids[0]) is None
    assert store.render_preview(sid, ids[0]) is None
    assert store.render_file(sid, ids[-1])[1] == "image/png"
    assert store.render_preview(sid, ids[-1]) is not None
    assert store.storage.listing(sid, "render") == ids[-3:]


def test_us007_display_names_are_cleaned() -> None:
    assert clean_name("C:\\Users\\me\\cat.png") == "cat.png"
    assert clean_name("../../x\x00y.png") == "xy.png"
    assert clean_name("") == "image"


def test_us008_size_and_pixel_limits_hold(make_store) -> None:
    store = make_store(limits=Limits(max_bytes=20_000, max_pixels=10_000))
    sid = store.new_session()
    with pytest.raises(ImageRejected, match=r"101x100 .* the limit is"):
        store.add(sid, png((101, 100)), "wide.png")
    with pytest.raises(ImageRejected, match="MB"):
        store.add(sid, os.urandom(30_000), "big.png")
    assert store.add(sid, png((100, 100)), "ok.png").width == 100
    assert len(store.storage.listing(sid, "image")) == 1


def test_us009_ids_are_random_and_unguessable(store) -> None:
    sessions_ = {store.new_session() for _ in range(2000)}
    assert len(sessions_) == 2000
    assert all(store.valid_session(s) for s in sessions_)
    sid = store.new_session()
    ids = {store.add(sid, png(), "x").id for _ in range(5)}
    assert len(ids) == 5
    assert all(store.valid_image(i) for i in ids)
    # A neighbouring id (one hex digit off) is just another id nobody has.
    some = next(iter(ids))
    near = some[:-1] + ("0" if some[-1] != "0" else "1")
    assert store.info(sid, near) is None


def test_us010_a_session_keeps_at_most_its_quota(make_store) -> None:
    noise = Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3))
    data = encode(noise, "PNG")  # ~270 kB stored: noise does not compress
    store = make_store(session_bytes=600_000)
    sid, other = store.new_session(), store.new_session()
    store.add(sid, data, "1.png")
    store.add(sid, data, "2.png")
    used = store.storage.used(sid)
    with pytest.raises(QuotaExceeded, match="more than 1 MB, the most one session may keep"):
        store.add(sid, data, "3.png")
    assert store.storage.used(sid) == used  # the refused one left nothing
    assert len(store.storage.listing(sid, "image")) == 2
    assert store.storage.listing(sid, PROXY) == store.storage.listing(sid, "image")
    assert store.add(sid, png(), "tiny.png").width == 8  # what still fits is taken
    full = make_store(session_bytes=store.storage.used(sid))
    with pytest.raises(QuotaExceeded):
        full.add(sid, b"not even an image", "x.png")  # a full session: refused before decoding
    assert store.add(other, data, "1.png").width == 300  # another session has its own


def test_us011_decodes_wait_for_a_slot_then_say_the_server_is_busy(make_store) -> None:
    slots = threading.BoundedSemaphore(1)
    store = make_store(slots=slots, slot_wait_s=0.2)
    sid = store.new_session()
    assert slots.acquire(timeout=1)  # another upload is being decoded
    try:
        with pytest.raises(Busy, match="The server is busy storing other images; try again"):
            store.add(sid, png(), "x.png")
    finally:
        slots.release()
    assert store.add(sid, png(), "x.png").width == 8
    assert slots.acquire(timeout=0)  # the slot was given back
    slots.release()


def test_us012_previews_derive_from_the_original_on_any_node(make_store) -> None:
    """Node B has no preview cache and (here) no proxy: the original is enough."""
    a = make_store("a")
    sid = a.new_session()
    info = a.add(sid, encode(quadrants((400, 200)), "PNG"), "q.png")
    a.storage.delete(sid, PROXY, [info.id])
    b = a if isinstance(a.storage, LocalStorage) else make_store("b")
    path, _mime = b.preview(sid, info.id, flip_h=True)
    assert path.is_relative_to(b.root)  # cached on the node that made it
    with Image.open(path) as img:
        assert img.size == (64, 32)
        assert img.convert("RGB").getpixel((5, 5))[1] > 200  # flipped: green top-left


def test_us013_large_files_round_trip_exactly(store) -> None:
    """Over a megabyte stored (in several chunks in the database) and read back whole."""
    noise = Image.frombytes("RGB", (1000, 700), os.urandom(1000 * 700 * 3))
    sid = store.new_session()
    info = store.add(sid, encode(noise, "PNG"), "noise.png")
    assert store.storage.used(sid) > 2_000_000
    back = store.open(sid, info.id)
    assert back.tobytes() == noise.tobytes()
    render_id = store.save_render(sid, noise, fmt="png", quality=90)
    file, mime = store.render_file(sid, render_id)
    assert mime == "image/png"
    with Image.open(file) as img:
        assert img.convert("RGB").tobytes() == noise.tobytes()


def test_us014_an_unreachable_database_is_said_and_drops_nothing(tmp_path) -> None:
    from dashapp.compositor import actions, composition
    from dashapp.compositor.model import MAIN, PageState
    from dashapp.compositor.storage import StorageUnavailable

    engine = make_engine("postgresql://postgres@127.0.0.1:1/none")  # nothing listens there
    store = UploadStore(
        tmp_path, limits=Limits(), preview_px=64, idle_s=3600, storage=DatabaseStorage(engine)
    )
    sid = store.new_session()
    with pytest.raises(StorageUnavailable, match="not answering; try again"):
        store.info(sid, "0" * 16)
    bg = {"image": "0" * 16, "name": "bg.png", "w": 10, "h": 10}
    page = PageState({**composition.empty(sid), "bg": bg})
    step = actions.panel_button(store, page, "flip_h")
    assert step is not None
    assert step.comp is None  # the browser's composition is not rewritten without its images
    assert "not answering" in step.messages[MAIN][0][0]
    opened = actions.open_page(store, page, None, lambda _: (b"", ""))
    assert opened.comp is None
    assert "not answering" in opened.messages[MAIN][0][0]
    assert (
        "not answering"
        in actions.render_file(store, page, "png", 90, threading.Semaphore()).message
    )
    engine.dispose()
