"""Per-session image store on disk: normalised originals, cached previews and renders."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from dashapp.compositor import imaging

SESSION_RE = re.compile(r"[0-9a-f]{32}")
IMAGE_RE = re.compile(r"[0-9a-f]{16}")
RENDERS_KEPT = 3


@dataclass(frozen=True)
class ImageInfo:
    """What the composition needs to know about a stored image."""

    id: str
    name: str
    width: int
    height: int
    alpha: bool


def _write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers never see half of it."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def clean_name(name: str | None, fallback: str = "image") -> str:
    """A display name from a browser-sent file name: no path, no control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f]+", "", base).strip()
    return base[:80] or fallback


class UploadStore:
    """Images of one browser session live under ``root/<session>``; idle sessions are swept."""

    def __init__(
        self, root: Path, *, limits: imaging.Limits, preview_px: int, idle_s: float
    ) -> None:
        """Keep files under ``root``; previews at most ``preview_px`` on their longest side."""
        self.root = root
        self.limits = limits
        self.preview_px = preview_px
        self.idle_s = idle_s

    @staticmethod
    def new_session() -> str:
        """A fresh, unguessable session id."""
        return secrets.token_hex(16)

    @staticmethod
    def valid_session(sid: object) -> bool:
        """Whether ``sid`` has the shape of a session id (nothing else reaches the disk)."""
        return isinstance(sid, str) and SESSION_RE.fullmatch(sid) is not None

    @staticmethod
    def valid_image(image_id: object) -> bool:
        """Whether ``image_id`` has the shape of an image or render id."""
        return isinstance(image_id, str) and IMAGE_RE.fullmatch(image_id) is not None

    def _dir(self, sid: str) -> Path:
        """The session's directory; refuses anything that is not a session id."""
        if not self.valid_session(sid):
            raise ValueError("not a session id")
        return self.root / sid

    def touch(self, sid: str) -> None:
        """Mark the session as in use, so the idle sweep keeps it."""
        path = self._dir(sid)
        if path.is_dir():
            os.utime(path)

    def sweep(self, now: float | None = None) -> int:
        """Delete sessions idle for longer than the idle time; returns how many."""
        now = time.time() if now is None else now
        removed = 0
        if not self.root.is_dir():
            return 0
        for entry in self.root.iterdir():
            if not (entry.is_dir() and SESSION_RE.fullmatch(entry.name)):
                continue
            try:
                idle = now - entry.stat().st_mtime
            except FileNotFoundError:
                continue
            if idle > self.idle_s:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        return removed

    def add(self, sid: str, data: bytes, name: str | None) -> ImageInfo:
        """Decode and store an upload; raises imaging.ImageRejected with the reason."""
        img = imaging.decode(data, self.limits)
        return self.add_image(sid, img, clean_name(name))

    def add_image(self, sid: str, img: Image.Image, name: str) -> ImageInfo:
        """Store an already decoded image (RGB or RGBA) losslessly."""
        folder = self._dir(sid)
        folder.mkdir(parents=True, exist_ok=True)
        self.sweep()
        info = ImageInfo(
            id=secrets.token_hex(8),
            name=name,
            width=img.width,
            height=img.height,
            alpha=imaging.has_alpha(img),
        )
        stored = img if info.alpha or img.mode == "RGB" else img.convert("RGB")
        tmp = folder / f".{info.id}.png.tmp"
        stored.save(tmp, "PNG", compress_level=1)
        os.replace(tmp, folder / f"{info.id}.png")
        _write_atomic(folder / f"{info.id}.json", json.dumps(asdict(info)).encode())
        os.utime(folder)
        return info

    def info(self, sid: object, image_id: object) -> ImageInfo | None:
        """The stored image's description, or None if the session has no such image."""
        if not (
            isinstance(sid, str)
            and isinstance(image_id, str)
            and self.valid_session(sid)
            and self.valid_image(image_id)
        ):
            return None
        path = self._dir(sid) / f"{image_id}.json"
        try:
            return ImageInfo(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def original_path(self, sid: str, image_id: str) -> Path | None:
        """Where the full-resolution image is, or None."""
        if self.info(sid, image_id) is None:
            return None
        path = self._dir(sid) / f"{image_id}.png"
        return path if path.is_file() else None

    def open(self, sid: str, image_id: str) -> Image.Image:
        """The full-resolution image, decoded; KeyError if it is gone."""
        path = self.original_path(sid, image_id)
        if path is None:
            raise KeyError(image_id)
        with Image.open(path) as img:
            img.load()
            return img

    def preview(
        self, sid: str, image_id: str, *, flip_h: bool = False, flip_v: bool = False, rot: int = 0
    ) -> tuple[Path, str] | None:
        """A cached, downscaled and transformed preview file and its type, or None."""
        if rot not in imaging.ROTATIONS:
            return None
        source = self.original_path(sid, image_id)
        if source is None:
            return None
        key = f"{image_id}-{int(flip_h)}{int(flip_v)}{rot}"
        folder = self._dir(sid) / "previews"
        for ext, mime in ((".png", "image/png"), (".jpg", "image/jpeg")):
            if (folder / (key + ext)).is_file():
                return folder / (key + ext), mime
        with Image.open(source) as img:
            img.draft("RGB", (self.preview_px, self.preview_px))
            small = imaging.preview(img, self.preview_px)
        small = imaging.transform(small, flip_h=flip_h, flip_v=flip_v, rot=rot)
        data, mime = imaging.encode_preview(small)
        folder.mkdir(exist_ok=True)
        path = folder / (key + (".png" if mime == "image/png" else ".jpg"))
        _write_atomic(path, data)
        return path, mime

    def save_render(self, sid: str, img: Image.Image, *, fmt: str, quality: int) -> str:
        """Encode a composed image as PNG or JPEG into the session; returns its render id."""
        folder = self._dir(sid) / "renders"
        folder.mkdir(parents=True, exist_ok=True)
        render_id = secrets.token_hex(8)
        ext = "png" if fmt == "png" else "jpg"
        tmp = folder / f".{render_id}.tmp"
        if fmt == "png":
            img.save(tmp, "PNG", compress_level=3)
        else:
            rgb = img.convert("RGB") if img.mode != "RGB" else img
            rgb.save(tmp, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)
        os.replace(tmp, folder / f"{render_id}.{ext}")
        old = sorted(folder.glob("*.*"), key=lambda p: p.stat().st_mtime)[:-RENDERS_KEPT]
        for path in old:
            path.unlink(missing_ok=True)
        return render_id

    def render_preview(self, sid: str, render_id: str) -> tuple[Path, str] | None:
        """A downscaled copy of a render for the page, cached; None if there is no render."""
        found = self.render_file(sid, render_id)
        if found is None:
            return None
        folder = found[0].parent / "previews"
        for ext, mime in ((".png", "image/png"), (".jpg", "image/jpeg")):
            if (folder / (render_id + ext)).is_file():
                return folder / (render_id + ext), mime
        with Image.open(found[0]) as img:
            img.draft("RGB", (self.preview_px, self.preview_px))
            data, mime = imaging.encode_preview(imaging.preview(img, self.preview_px))
        folder.mkdir(exist_ok=True)
        path = folder / (render_id + (".png" if mime == "image/png" else ".jpg"))
        _write_atomic(path, data)
        return path, mime

    def render_file(self, sid: str, render_id: str) -> tuple[Path, str] | None:
        """A rendered file of this session and its type, or None."""
        if not (self.valid_session(sid) and self.valid_image(render_id)):
            return None
        folder = self._dir(sid) / "renders"
        for ext, mime in (("png", "image/png"), ("jpg", "image/jpeg")):
            path = folder / f"{render_id}.{ext}"
            if path.is_file():
                return path, mime
        return None
