"""Pillow renderings of training results: prediction grids and confusion matrices."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

GREEN, RED, INK = (25, 135, 84), (220, 53, 69), (33, 37, 41)


def prediction_grid(
    images: Sequence[Image.Image],
    truth: Sequence[str],
    predicted: Sequence[str],
    *,
    columns: int = 6,
    scale: int = 3,
) -> Image.Image:
    """Sample images with their true and predicted labels (green when right, red when wrong)."""
    font = ImageFont.load_default()
    w, h = images[0].width * scale, images[0].height * scale
    cell_w, cell_h = max(w, 96) + 8, h + 30
    rows = (len(images) + columns - 1) // columns
    out = Image.new("RGB", (columns * cell_w + 8, rows * cell_h + 8), "white")
    draw = ImageDraw.Draw(out)
    for i, (img, t, p) in enumerate(zip(images, truth, predicted, strict=True)):
        x, y = 8 + (i % columns) * cell_w, 8 + (i // columns) * cell_h
        out.paste(img.convert("RGB").resize((w, h), Image.Resampling.NEAREST), (x, y))
        draw.text((x, y + h + 2), f"true: {t}", fill=INK, font=font)
        draw.text((x, y + h + 14), f"pred: {p}", fill=GREEN if t == p else RED, font=font)
    return out


def confusion_matrix(labels: Sequence[str], counts: Sequence[Sequence[int]]) -> Image.Image:
    """A confusion matrix (rows: true, columns: predicted) with counts in blue shades."""
    font = ImageFont.load_default()
    n = len(labels)
    cell, margin = 56, 90
    out = Image.new("RGB", (margin + n * cell + 10, margin + n * cell + 10), "white")
    draw = ImageDraw.Draw(out)
    peak = max((max(r) for r in counts), default=0) or 1
    for i in range(n):
        draw.text((6, margin + i * cell + cell // 2 - 6), labels[i][:12], fill=INK, font=font)
        draw.text((margin + i * cell + 4, margin - 18), labels[i][:9], fill=INK, font=font)
        for j in range(n):
            v = counts[i][j]
            shade = int(255 - 200 * v / peak)
            x, y = margin + j * cell, margin + i * cell
            draw.rectangle([x, y, x + cell - 2, y + cell - 2], fill=(shade, shade, 255))
            draw.text(
                (x + 8, y + cell // 2 - 6), str(v), fill="white" if shade < 120 else INK, font=font
            )
    draw.text((margin, 6), "rows: true class, columns: predicted", fill=INK, font=font)
    return out
