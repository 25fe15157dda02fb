"""Uploads: every accepted format decodes to the right pixels; everything else is refused."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from dashapp.compositor import imaging
from dashapp.compositor.imaging import ImageRejected, Limits
from tests.image_fixtures import SVG, encode, jpeg_rotated_by_exif, png_bomb, quadrants, solid

LIMITS = Limits(max_bytes=5 * 1024 * 1024, max_pixels=4_000_000)


def test_im001_png_with_alpha_keeps_transparency() -> None:
    img = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    img.putpixel((3, 4), (10, 20, 30, 128))
    out = imaging.decode(encode(img, "PNG"), LIMITS)
    assert out.mode == "RGBA"
    assert out.getpixel((3, 4)) == (10, 20, 30, 128)
    assert out.getpixel((0, 0))[3] == 0


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "BMP"])
def test_im002_opaque_formats_decode_to_rgb(fmt: str) -> None:
    out = imaging.decode(encode(solid((16, 8), (200, 100, 50)), fmt), LIMITS)
    assert out.mode == "RGB"
    assert out.size == (16, 8)
    assert all(abs(a - b) <= 6 for a, b in zip(out.getpixel((8, 4)), (200, 100, 50), strict=True))


def test_im003_webp_with_alpha_and_lossless() -> None:
    img = quadrants()
    img.putpixel((0, 0), (1, 2, 3, 0))
    out = imaging.decode(encode(img, "WEBP", lossless=True), LIMITS)
    assert out.mode == "RGBA"
    assert out.getpixel((0, 0))[3] == 0
    assert out.getpixel((30, 15)) == (255, 255, 255, 255)


def test_im004_gif_first_frame_with_transparency() -> None:
    first = Image.new("P", (10, 10), 1)
    first.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    first.putpixel((0, 0), 0)
    second = Image.new("P", (10, 10), 2)
    second.putpalette(first.getpalette())
    data = encode(first, "GIF", save_all=True, append_images=[second], transparency=0)
    out = imaging.decode(data, LIMITS)
    assert out.mode == "RGBA"
    assert out.getpixel((5, 5)) == (255, 0, 0, 255)  # the first frame, not the green second
    assert out.getpixel((0, 0))[3] == 0


def test_im005_exif_orientation_is_applied() -> None:
    out = imaging.decode(jpeg_rotated_by_exif(), LIMITS)
    assert out.size == (20, 40)


def test_im006_cmyk_16_bit_palette_and_grey_convert() -> None:
    cmyk = imaging.decode(encode(solid((8, 8), (0, 255, 255, 0), "CMYK"), "JPEG"), LIMITS)
    assert cmyk.mode == "RGB"
    r, g, b = cmyk.getpixel((4, 4))
    assert r > 200
    assert g < 60
    assert b < 60
    deep = Image.new("I;16", (8, 8), 65535)
    deep.putpixel((0, 0), 0)
    out16 = imaging.decode(encode(deep, "PNG"), LIMITS)
    assert out16.mode == "RGB"
    assert out16.getpixel((4, 4)) == (255, 255, 255)
    assert out16.getpixel((0, 0)) == (0, 0, 0)
    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([0, 0, 255, 9, 9, 9] + [0] * 762)
    pal.putpixel((1, 1), 1)
    outp = imaging.decode(encode(pal, "PNG", transparency=1), LIMITS)
    assert outp.mode == "RGBA"
    assert outp.getpixel((1, 1))[3] == 0
    assert outp.getpixel((0, 0)) == (0, 0, 255, 255)
    grey = imaging.decode(encode(solid((8, 8), (77,), "L"), "PNG"), LIMITS)
    assert grey.mode == "RGB"
    assert grey.getpixel((0, 0)) == (77, 77, 77)
    la = imaging.decode(encode(solid((8, 8), (77, 100), "LA"), "PNG"), LIMITS)
    assert la.mode == "RGBA"
    assert la.getpixel((0, 0)) == (77, 77, 77, 100)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, this is text", "not an image"),
        (SVG, "Vector"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "Vector"),
        (b"%PDF-1.7\n", "Vector"),
        (encode(solid((64, 64), (1, 2, 3)), "PNG")[:80], "damaged"),
        (encode(solid((64, 64), (1, 2, 3)), "TIFF"), "not an image"),
    ],
)
def test_im007_bad_files_get_a_clear_reason(data: bytes, message: str) -> None:
    with pytest.raises(ImageRejected, match=message):
        imaging.decode(data, LIMITS)


def test_im008_too_large_a_file_is_refused_by_size() -> None:
    with pytest.raises(ImageRejected, match=r"the limit is 5 MB"):
        imaging.decode(b"\x89PNG" + b"\0" * (5 * 1024 * 1024), LIMITS)


def test_im009_decompression_bomb_refused_before_decoding() -> None:
    bomb = png_bomb(20_000, 20_000)  # 400 megapixels in a few kB
    assert len(bomb) < 10_000
    started = time.perf_counter()
    with pytest.raises(ImageRejected, match="limit of 4 megapixels"):
        imaging.decode(bomb, LIMITS)
    # Below Pillow's own guard, ours still refuses from the header alone.
    with pytest.raises(ImageRejected, match=r"8000x8000 \(64 megapixels\)"):
        imaging.decode(png_bomb(8000, 8000), LIMITS)
    # Decoding 400 MP would take seconds and 1.2 GB; refusing from the header is instant.
    assert time.perf_counter() - started < 1.0


def test_im010_pixels_just_over_the_limit_are_refused() -> None:
    data = encode(solid((2001, 2000), (0, 0, 0)), "PNG")
    with pytest.raises(ImageRejected, match="the limit is 4 megapixels"):
        imaging.decode(data, LIMITS)
    assert imaging.decode(encode(solid((2000, 2000), (0, 0, 0)), "PNG"), LIMITS).size == (
        2000,
        2000,
    )


def test_im011_transform_flips_then_rotates_clockwise() -> None:
    img = quadrants((40, 20))  # red top-left, green top-right, blue bottom-left
    flipped = imaging.transform(img, flip_h=True, flip_v=False, rot=0)
    assert flipped.getpixel((0, 0))[:3] == (0, 255, 0)
    turned = imaging.transform(img, flip_h=False, flip_v=False, rot=90)
    assert turned.size == (20, 40)
    assert turned.getpixel((19, 0))[:3] == (255, 0, 0)  # top-left went to top-right
    upside = imaging.transform(img, flip_h=False, flip_v=True, rot=180)
    assert upside.getpixel((0, 0))[:3] == (0, 255, 0)
    left = imaging.transform(img, flip_h=False, flip_v=False, rot=270)
    assert left.getpixel((0, 39))[:3] == (255, 0, 0)


def test_im012_preview_is_bounded_and_encoded_by_alpha() -> None:
    small = imaging.preview(solid((4000, 1000), (1, 2, 3)), 1600)
    assert small.size == (1600, 400)
    data, mime = imaging.encode_preview(small)
    assert mime == "image/jpeg"
    assert data[:2] == b"\xff\xd8"
    data, mime = imaging.encode_preview(quadrants().copy())
    assert mime == "image/jpeg"  # RGBA but fully opaque
    see_through = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert imaging.encode_preview(see_through)[1] == "image/png"
