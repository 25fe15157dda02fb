"""Small images in every format and shape the Compositor must accept or refuse."""

from __future__ import annotations

import base64
import io
import struct
import zlib

from PIL import Image


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    """The bytes of ``img`` saved as ``fmt``."""
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    """A ``data:`` URL as dcc.Upload sends it."""
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def solid(size: tuple[int, int], colour: tuple[int, ...], mode: str = "RGB") -> Image.Image:
    """A one-colour image."""
    return Image.new(mode, size, colour)


def quadrants(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """RGBA image with four coloured quadrants (red, green / blue, white), to see flips."""
    w, h = size
    img = Image.new("RGBA", size)
    img.paste((255, 0, 0, 255), (0, 0, w // 2, h // 2))
    img.paste((0, 255, 0, 255), (w // 2, 0, w, h // 2))
    img.paste((0, 0, 255, 255), (0, h // 2, w // 2, h))
    img.paste((255, 255, 255, 255), (w // 2, h // 2, w, h))
    return img


def jpeg_rotated_by_exif() -> bytes:
    """A 40x20 JPEG whose EXIF says "rotate 90° clockwise to view" (orientation 6)."""
    img = solid((40, 20), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(img, "JPEG", exif=exif.tobytes())


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` pixels, with tiny compressed data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 16)  # a few rows; enough to look real
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
