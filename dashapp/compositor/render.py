"""Full-resolution rendering of a composition with Pillow, one layer in memory at a time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PIL import Image

from dashapp.compositor import imaging
from dashapp.compositor.composition import Comp, CompositionError, box, shown_on_canvas

Opener = Callable[[str], Image.Image]


def render(comp: Comp, open_image: Opener) -> Image.Image:
    """Compose the originals at the background's resolution (hidden layers left out); RGBA."""
    bg = comp["bg"]
    if bg is None:
        raise CompositionError("Upload a background first.")
    base = open_image(bg["image"])
    base = base if base.mode == "RGBA" else base.convert("RGBA")
    for lay in comp["layers"]:
        if shown_on_canvas(lay):
            place(base, open_image(lay["image"]), lay)
    return base


def place(base: Image.Image, source: Image.Image, lay: Mapping[str, Any]) -> None:
    """Draw one layer onto ``base`` in place, exactly over the pixels ``box(lay)`` names."""
    x0, y0, x1, y1 = box(lay)
    vx0, vy0 = max(x0, 0), max(y0, 0)
    vx1, vy1 = min(x1, base.width), min(y1, base.height)
    if vx0 >= vx1 or vy0 >= vy1 or lay["opacity"] <= 0:
        return  # entirely off the canvas or invisible
    img = imaging.transform(source, flip_h=lay["flip_h"], flip_v=lay["flip_v"], rot=lay["rot"])
    w, h = x1 - x0, y1 - y0
    sx, sy = img.width / w, img.height / h
    # Resample only the visible part: a layer scaled far past the canvas costs no more
    # memory than the canvas itself.
    crop = (vx0 - x0) * sx, (vy0 - y0) * sy, (vx1 - x0) * sx, (vy1 - y0) * sy
    size = (vx1 - vx0, vy1 - vy0)
    if (w, h) == img.size and size == img.size:
        part = img
    else:
        part = img.resize(size, Image.Resampling.LANCZOS, box=crop)
    part = part if part.mode == "RGBA" else part.convert("RGBA")
    if lay["opacity"] < 1:
        alpha = part.getchannel("A").point(lambda a: round(a * lay["opacity"]))
        part.putalpha(alpha)
    base.alpha_composite(part, dest=(vx0, vy0))


def output_format(fmt: Any, quality: Any) -> tuple[str, int]:
    """The render's format (PNG unless JPEG is asked for) and JPEG quality, checked."""
    fmt = "jpeg" if fmt == "jpeg" else "png"
    try:
        q = int(quality if quality is not None else 90)
    except (TypeError, ValueError):
        q = -1
    if fmt == "jpeg" and not 1 <= q <= 100:
        raise CompositionError("JPEG quality must be a whole number from 1 to 100.")
    return fmt, q


def flatten(img: Image.Image, fmt: str) -> Image.Image:
    """The image as it is saved: RGBA for PNG, RGB on white for JPEG."""
    if fmt == "png":
        return img
    if img.mode == "RGBA" and imaging.has_alpha(img):
        white = Image.new("RGB", img.size, (255, 255, 255))
        white.paste(img, mask=img.getchannel("A"))
        return white
    return img.convert("RGB")
