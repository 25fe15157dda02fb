"""Decoding untrusted image uploads safely, normalising them, and making previews."""

from __future__ import annotations

import base64
import binascii
import ctypes
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# Raster formats we accept, as Pillow names its decoders (camera JPEGs open as MPO).
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
FORMAT_NAMES = "PNG, JPEG, WebP, GIF or BMP"
ROTATIONS = (0, 90, 180, 270)


# glibc's mallopt parameter, and the size from which buffers are mapped (and unmapped when
# freed): below Pillow's 16 MB blocks of image memory.
M_MMAP_THRESHOLD = -3
LARGE_BUFFER = 8 * 1024 * 1024


def give_back_freed_images() -> bool:
    """Make freed image memory go back to the system at once (glibc); False elsewhere.

    glibc raises its mmap threshold to the size of the first large block freed, after
    which Pillow's 16 MB blocks come from per-thread heaps that keep them when freed: a
    worker whose threads had each decoded a large upload kept every one of those peaks
    (six 60-megapixel uploads: +1.2 GB held after they were done, with two decoded at a
    time). A fixed threshold keeps such blocks mapped, and unmapped when freed.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl, macOS): nothing to tune
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER))


class ImageRejected(ValueError):
    """An upload is not an image we can use; the message says why, for the user."""


@dataclass(frozen=True)
class Limits:
    """What an upload may be: bytes on the wire and pixels once decoded."""

    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 60_000_000


def decode_data_url(contents: object, max_bytes: int) -> bytes:
    """The bytes of a ``data:...;base64,`` upload; ImageRejected if it is not one."""
    if not isinstance(contents, str) or "," not in contents:
        raise ImageRejected("The upload did not arrive as a file.")
    payload = contents.split(",", 1)[1]
    if len(payload) * 3 // 4 > max_bytes + 3:
        size = f"{len(payload) * 3 / 4 / 1048576:.1f}"
        limit = f"{max_bytes / 1048576:.1f}".removesuffix(".0")
        raise ImageRejected(f"The file is {size} MB; the limit is {limit} MB.")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageRejected("The upload is not valid base64 data.") from None


def _looks_like_vector(head: bytes) -> bool:
    """SVG, PDF, EPS and other vector or markup formats, by their first bytes."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html", b"%pdf", b"%!ps"))


def _mb(size: int) -> str:
    """Bytes as MB (2**20) with at most one decimal, as the browser-side check words it."""
    return f"{size / 1048576:.1f}".removesuffix(".0")


def decode(data: bytes, limits: Limits) -> Image.Image:
    """Decode an upload into an RGB or RGBA image, or raise ImageRejected with a reason.

    The pixel count is checked from the header before any pixel is decoded, so a
    decompression bomb costs nothing; EXIF orientation is applied; CMYK, 16-bit,
    greyscale and palette images (with their transparency) are converted.
    """
    if not data:
        raise ImageRejected("The file is empty.")
    if len(data) > limits.max_bytes:
        raise ImageRejected(
            f"The file is {_mb(len(data))} MB; the limit is {_mb(limits.max_bytes)} MB."
        )
    if _looks_like_vector(data[:256]):
        raise ImageRejected(f"Vector and document formats are not supported; use {FORMAT_NAMES}.")
    try:
        with warnings.catch_warnings():
            # Pillow warns (and errors at twice its own limit) about large images; our
            # explicit check below replaces both.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError:
        raise ImageRejected(
            "The image has far more pixels than the limit of "
            f"{limits.max_pixels / 1e6:.0f} megapixels."
        ) from None
    except UnidentifiedImageError:
        raise ImageRejected(f"This is not an image we can read; use {FORMAT_NAMES}.") from None
    except (OSError, ValueError, SyntaxError):
        raise ImageRejected("The image is damaged and cannot be read.") from None
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageRejected("The image has no pixels.")
    if width * height > limits.max_pixels:
        raise ImageRejected(
            f"The image is {width}x{height} ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {limits.max_pixels / 1e6:.0f} megapixels."
        )
    try:
        img.seek(0)  # GIF and other animations: the first frame
        img.load()
        # In place: a copy of an upright image would double the memory a decode costs
        # (a 60-megapixel RGB image is 240 MB in Pillow).
        ImageOps.exif_transpose(img, in_place=True)
        return normalise(img)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        raise ImageRejected("The image is truncated or damaged and cannot be read.") from None


def normalise(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB, or RGBA when the image has transparency."""
    mode = img.mode
    if mode in ("RGB", "RGBA"):
        return img
    if mode == "P" or mode == "PA":
        has_alpha = "transparency" in img.info or mode == "PA"
        return img.convert("RGBA" if has_alpha else "RGB")
    if mode in ("LA", "La", "RGBa"):
        return img.convert("RGBA")
    if mode == "CMYK":
        return img.convert("RGB")  # Pillow already undoes Adobe's inverted CMYK JPEGs
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit (or 32-bit integer) greyscale: scale the full range to 8 bits.
        return img.point(lambda v: v * (1 / 257)).convert("L").convert("RGB")
    if mode == "F":
        return img.convert("L").convert("RGB")
    if "transparency" in img.info:
        return img.convert("RGBA")
    return img.convert("RGB")


def has_alpha(img: Image.Image) -> bool:
    """Whether any pixel is not fully opaque."""
    if img.mode != "RGBA":
        return False
    lo, _hi = img.getchannel("A").getextrema()
    return isinstance(lo, int | float) and lo < 255


def transform(img: Image.Image, *, flip_h: bool, flip_v: bool, rot: int) -> Image.Image:
    """Apply a layer's flips, then its clockwise rotation by a multiple of 90 degrees."""
    if flip_h:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if flip_v:
        img = img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    turns = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180}
    if rot == 270:
        img = img.transpose(Image.Transpose.ROTATE_90)
    elif rot in turns:
        img = img.transpose(turns[rot])
    return img


def preview_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size of a preview: the longest side at most ``max_side``, the shape kept."""
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def preview(img: Image.Image, max_side: int) -> Image.Image:
    """A copy whose longest side is at most ``max_side`` pixels.

    Resized straight from the image (no full-size copy first): reducing by whole factors
    before the Lanczos pass keeps a 60-megapixel source cheap.
    """
    size = preview_size(img.size, max_side)
    if size == img.size:
        return img.copy()
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def encode_preview(img: Image.Image, quality: int = 85) -> tuple[bytes, str]:
    """Encode a preview: PNG when it has transparency, JPEG otherwise (smaller)."""
    buf = io.BytesIO()
    if has_alpha(img):
        img.save(buf, "PNG", optimize=False, compress_level=6)
        return buf.getvalue(), "image/png"
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue(), "image/jpeg"
