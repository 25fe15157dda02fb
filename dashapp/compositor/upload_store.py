"""Per-session images: normalised originals, previews and renders, over a ``Storage`` backend.

The backend holds what every node must see (originals, their small proxies, renders); the
previews the browser fetches are derived from the proxies (or, without one, from the
original) and cached in this node's folder, ``root/<session>/previews``. Decoding and
storing an upload takes one of a few slots per process, and a session may keep at most
``session_bytes`` of images.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, BinaryIO

from PIL import Image

from dashapp.compositor import imaging
from dashapp.compositor.storage import (
    BATCH,
    FILE_RE,
    IMAGE,
    PROXY,
    RENDER,
    SESSION_RE,
    ZIP,
    Fill,
    LocalStorage,
    Storage,
    StorageError,
    capped,
    sweep_folders,
    touch_folder,
    write_file,
)

IMAGE_RE = FILE_RE
RENDERS_KEPT = 3
BATCHES_KEPT = 2
UPLOAD_WAIT_S = 60.0
Found = tuple[Path | BinaryIO, str]  # a file (on this node's disk, or a stream) and its type


@dataclass(frozen=True)
class ImageInfo:
    """What the composition needs to know about a stored image."""

    id: str
    name: str
    width: int
    height: int
    alpha: bool


class Busy(StorageError):
    """Every slot for decoding stayed taken for the whole wait."""

    def __init__(self) -> None:
        """The one message for a busy server."""
        super().__init__("The server is busy storing other images; try again in a moment.")


class QuotaExceeded(StorageError):
    """The session keeps as many bytes of images as it may."""

    def __init__(self, limit: int) -> None:
        """Name the limit."""
        super().__init__(
            f"Not stored: the images of this session would take more than {limit / 2**20:.0f} "
            "MB, the most one session may keep."
        )


def clean_name(name: str | None, fallback: str = "image") -> str:
    """A display name from a browser-sent file name: no path, no control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f]+", "", base).strip()
    return base[:80] or fallback


class UploadStore:
    """Images of browser sessions in ``storage`` (by default, files under ``root``)."""

    def __init__(
        self,
        root: Path,
        *,
        limits: imaging.Limits,
        preview_px: int,
        idle_s: float,
        storage: Storage | None = None,
        session_bytes: int | None = None,
        slots: threading.Semaphore | None = None,
        slot_wait_s: float = UPLOAD_WAIT_S,
    ) -> None:
        """Cache previews under ``root`` (and keep files there unless ``storage`` is given)."""
        self.root = root
        self.limits = limits
        self.preview_px = preview_px
        self.idle_s = idle_s
        self.storage: Storage = storage or LocalStorage(root)
        self.shared = not isinstance(self.storage, LocalStorage)
        self.session_bytes = session_bytes
        self.slots = slots or threading.BoundedSemaphore(2)
        self.slot_wait_s = slot_wait_s

    @staticmethod
    def new_session() -> str:
        """A fresh, unguessable session id."""
        return secrets.token_hex(16)

    @staticmethod
    def valid_session(sid: object) -> bool:
        """Whether ``sid`` has the shape of a session id (nothing else reaches the store)."""
        return isinstance(sid, str) and SESSION_RE.fullmatch(sid) is not None

    @staticmethod
    def valid_image(image_id: object) -> bool:
        """Whether ``image_id`` has the shape of an image or render id."""
        return isinstance(image_id, str) and IMAGE_RE.fullmatch(image_id) is not None

    def _ids_ok(self, sid: object, file_id: object) -> bool:
        """Both ids have their shapes."""
        return self.valid_session(sid) and self.valid_image(file_id)

    def _dir(self, sid: str) -> Path:
        """The session's folder on this node; refuses anything that is not a session id."""
        if not self.valid_session(sid):
            raise ValueError("not a session id")
        return self.root / sid

    def touch(self, sid: str) -> None:
        """Mark the session as in use, so the idle sweep keeps it."""
        now = time.time()
        folder = self._dir(sid)
        # Best effort: a store that cannot be written now (a read-only database) still
        # serves what it has, and the action goes on.
        with contextlib.suppress(StorageError):
            self.storage.touch(sid, now)
        if self.shared and folder.is_dir():
            touch_folder(folder, now)

    def sweep(self, now: float | None = None) -> int:
        """Delete sessions idle for longer than the idle time; returns how many."""
        now = time.time() if now is None else now
        removed = self.storage.sweep(self.idle_s, now)
        if self.shared:  # this node's previews of sessions it has not served for as long
            sweep_folders(self.root, self.idle_s, now)
        return removed

    @contextmanager
    def _slot(self) -> Iterator[None]:
        """One of the process's decode slots, or Busy after waiting ``slot_wait_s``."""
        if not self.slots.acquire(timeout=self.slot_wait_s):
            raise Busy
        try:
            yield
        finally:
            self.slots.release()

    def add(self, sid: str, data: bytes, name: str | None) -> ImageInfo:
        """Decode and store an upload; raises ImageRejected or StorageError with the reason."""
        self._room(sid)  # a full session costs no decoding
        with self._slot():
            return self.add_image(sid, imaging.decode(data, self.limits), clean_name(name))

    def _room(self, sid: str) -> int:
        """Bytes the session may still store; QuotaExceeded when none."""
        self._dir(sid)
        if self.session_bytes is None:
            return 2**62
        left = self.session_bytes - self.storage.used(sid)
        if left <= 0:
            raise QuotaExceeded(self.session_bytes)
        return left

    def add_image(self, sid: str, img: Image.Image, name: str) -> ImageInfo:
        """Store an already decoded image (RGB or RGBA) losslessly, with a proxy for previews."""
        self.sweep()
        left = self._room(sid)
        alpha = imaging.has_alpha(img)
        if not alpha and img.mode != "RGB":
            img = img.convert("RGB")
        info = ImageInfo(secrets.token_hex(8), name, img.width, img.height, alpha)
        proxy, mime = imaging.encode_preview(imaging.preview(img, self.preview_px), quality=95)

        def full() -> Exception:
            return QuotaExceeded(self.session_bytes or 0)

        self.storage.write(sid, PROXY, info.id, mime, lambda f: capped(f, left, full).write(proxy))
        try:
            self.storage.write(
                sid,
                IMAGE,
                info.id,
                "image/png",
                lambda f: img.save(capped(f, left - len(proxy), full), "PNG", compress_level=1),
                meta=json.dumps(asdict(info)),
            )
        except BaseException:
            with contextlib.suppress(StorageError):  # else swept with the session later
                self.storage.delete(sid, PROXY, [info.id])
            raise
        return info

    def info(self, sid: object, image_id: object) -> ImageInfo | None:
        """The stored image's description, or None if the session has no such image."""
        if not (isinstance(sid, str) and isinstance(image_id, str) and self._ids_ok(sid, image_id)):
            return None
        meta = self.storage.meta(sid, IMAGE, image_id)
        try:
            return None if meta is None else ImageInfo(**json.loads(meta))
        except (ValueError, TypeError):
            return None

    def original_path(self, sid: str, image_id: str) -> Path | None:
        """Where the full-resolution image is on this node's disk (local storage), or None."""
        if self.info(sid, image_id) is None:
            return None
        found = self.storage.read(sid, IMAGE, image_id)
        return found[0] if found is not None and isinstance(found[0], Path) else None

    def open(self, sid: str, image_id: str) -> Image.Image:
        """The full-resolution image, decoded; KeyError if it is gone."""
        found = self.storage.read(sid, IMAGE, image_id) if self._ids_ok(sid, image_id) else None
        if found is None:
            raise KeyError(image_id)
        return _load(found[0], image_id)

    def preview(
        self, sid: str, image_id: str, *, flip_h: bool = False, flip_v: bool = False, rot: int = 0
    ) -> Found | None:
        """A cached, downscaled and transformed preview and its type, or None."""
        if rot not in imaging.ROTATIONS or self.info(sid, image_id) is None:
            return None
        key = f"{image_id}-{int(flip_h)}{int(flip_v)}{rot}"
        folder = self._dir(sid) / "previews"
        cached = _cached(folder, key)
        if cached is not None:
            return cached
        small = self._small(sid, image_id)
        if small is None:
            return None
        small = imaging.transform(small, flip_h=flip_h, flip_v=flip_v, rot=rot)
        return _cache(folder, key, *imaging.encode_preview(small))

    def _small(self, sid: str, file_id: str, kind: str = IMAGE) -> Image.Image | None:
        """A preview-sized image of a stored file: its proxy, or made from the file itself."""
        try:
            proxy = self.storage.read(sid, PROXY, file_id)
            if proxy is not None:
                return _load(proxy[0], file_id)
            found = self.storage.read(sid, kind, file_id)
            if found is None:
                return None
            with self._slot(), _opened(found[0]) as img:  # a full decode: bounded like uploads
                img.draft("RGB", (self.preview_px, self.preview_px))
                return imaging.preview(img, self.preview_px)
        except (KeyError, OSError, SyntaxError, ValueError):
            return None  # deleted while it was read, or unreadable

    def images(self, sid: object) -> list[ImageInfo]:
        """Every image stored in the session (its uploads), oldest first."""
        if not self.valid_session(sid):
            return []
        found: list[ImageInfo] = []
        for meta in self.storage.metas(str(sid)):
            try:
                found.append(ImageInfo(**json.loads(meta)))
            except (ValueError, TypeError):
                continue
        return found

    def save_render(self, sid: str, img: Image.Image, *, fmt: str, quality: int) -> str:
        """Encode a composed image as PNG or JPEG into the session; returns its render id."""
        self._dir(sid)
        render_id = secrets.token_hex(8)
        mime = "image/png" if fmt == "png" else "image/jpeg"
        self.storage.write(
            sid, RENDER, render_id, mime, lambda f: encode_render(img, f, fmt=fmt, quality=quality)
        )
        small, small_mime = imaging.encode_preview(imaging.preview(img, self.preview_px))
        # Without its proxy, a render's preview is made from the render when asked for.
        with contextlib.suppress(StorageError):
            self.storage.write(sid, PROXY, render_id, small_mime, lambda f: f.write(small))
        old = self.storage.listing(sid, RENDER)[:-RENDERS_KEPT]
        self.storage.delete(sid, RENDER, old)
        self.storage.delete(sid, PROXY, old)
        return render_id

    def render_preview(self, sid: str, render_id: str) -> Found | None:
        """A downscaled copy of a render for the page; None if there is no render."""
        if not self._ids_ok(sid, render_id) or self.storage.meta(sid, RENDER, render_id) is None:
            return None
        proxy = self.storage.read(sid, PROXY, render_id)  # made when the render was saved
        if proxy is not None:
            return proxy
        folder = self._dir(sid) / "renders" / "previews"
        cached = _cached(folder, render_id)
        if cached is not None:
            return cached
        small = self._small(sid, render_id, RENDER)
        return None if small is None else _cache(folder, render_id, *imaging.encode_preview(small))

    def render_file(self, sid: str, render_id: str) -> Found | None:
        """A rendered file of this session and its type, or None."""
        if not self._ids_ok(sid, render_id):
            return None
        return self.storage.read(sid, RENDER, render_id)

    def save_batch(self, sid: str, fill: Fill) -> str:
        """Store a zip of renders that ``fill`` writes; returns its id (older ones go)."""
        self._dir(sid)
        batch_id = secrets.token_hex(8)
        self.storage.write(sid, BATCH, batch_id, ZIP, fill)
        self.storage.delete(sid, BATCH, self.storage.listing(sid, BATCH)[:-BATCHES_KEPT])
        return batch_id

    def batch_file(self, sid: str, batch_id: str) -> Found | None:
        """A zip of renders of this session, or None."""
        if not self._ids_ok(sid, batch_id):
            return None
        return self.storage.read(sid, BATCH, batch_id)


def encode_render(img: Image.Image, sink: IO[bytes], *, fmt: str, quality: int) -> None:
    """Write a composed image as the app saves every render: PNG, or JPEG at ``quality``."""
    if fmt == "png":
        img.save(sink, "PNG", compress_level=3)
        return
    rgb = img.convert("RGB") if img.mode != "RGB" else img
    rgb.save(sink, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)


@contextmanager
def _opened(file: Path | BinaryIO) -> Iterator[Image.Image]:
    """An image opened from a path or a stream, closed (with the stream) afterwards."""
    try:
        with Image.open(file) as img:
            yield img
    finally:
        if not isinstance(file, Path):
            file.close()


def _load(file: Path | BinaryIO, image_id: str) -> Image.Image:
    """Decode a stored image; KeyError when it cannot be read (deleted meanwhile)."""
    try:
        with _opened(file) as img:
            img.load()
            return img
    except (OSError, SyntaxError, ValueError):
        raise KeyError(image_id) from None


def _cached(folder: Path, key: str) -> Found | None:
    """A preview this node made before."""
    for ext, mime in (("png", "image/png"), ("jpg", "image/jpeg")):
        path = folder / f"{key}.{ext}"
        if path.is_file():
            return path, mime
    return None


def _cache(folder: Path, key: str, data: bytes, mime: str) -> Found:
    """Keep a preview on this node's disk; a full or read-only disk serves it uncached."""
    path = folder / f"{key}.{'png' if mime == 'image/png' else 'jpg'}"
    try:
        write_file(path, lambda f: f.write(data), "the preview")
    except StorageError:
        return io.BytesIO(data), mime
    return path, mime
