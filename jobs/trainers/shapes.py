"""Image classifier: a small CNN on procedurally drawn shapes (no downloads)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw

from jobs.figures import confusion_matrix, prediction_grid
from jobs.params import CHOICE, FLOAT, INT, Param
from jobs.trainer import Trainer

if TYPE_CHECKING:
    from jobs.reporter import Reporter

CLASSES = ("circle", "square", "triangle", "cross")
SIZE = 32


def draw_shape(kind: str, rnd: random.Random) -> Image.Image:
    """One greyscale 32x32 image of ``kind`` at a random place, size and angle, with noise."""
    img = Image.new("L", (SIZE, SIZE), rnd.randrange(0, 40))
    d = ImageDraw.Draw(img)
    r = rnd.uniform(6, 12)
    cx, cy = rnd.uniform(r + 1, SIZE - r - 1), rnd.uniform(r + 1, SIZE - r - 1)
    ink = rnd.randrange(170, 256)
    angle = rnd.uniform(0, math.pi)

    def pt(a: float, rad: float) -> tuple[float, float]:
        return cx + rad * math.cos(a + angle), cy + rad * math.sin(a + angle)

    if kind == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=ink)
    elif kind == "square":
        d.polygon([pt(math.pi / 4 + k * math.pi / 2, r * 1.2) for k in range(4)], fill=ink)
    elif kind == "triangle":
        d.polygon([pt(k * 2 * math.pi / 3, r * 1.25) for k in range(3)], fill=ink)
    else:
        w = max(2, int(r / 2.5))
        d.line([pt(0, r), pt(math.pi, r)], fill=ink, width=w)
        d.line([pt(math.pi / 2, r), pt(3 * math.pi / 2, r)], fill=ink, width=w)
    for _ in range(20):
        img.putpixel((rnd.randrange(SIZE), rnd.randrange(SIZE)), rnd.randrange(0, 256))
    return img


def make_dataset(
    n: int, seed: int, on_chunk: Callable[[int], None] | None = None, chunk: int = 200
) -> tuple[list[Image.Image], list[int]]:
    """``n`` shape images with their class indices, deterministic for a seed.

    ``on_chunk(done)`` is called after every ``chunk`` images (progress while preparing).
    """
    rnd = random.Random(seed)
    labels = [i % len(CLASSES) for i in range(n)]
    rnd.shuffle(labels)
    images = []
    for i, k in enumerate(labels, 1):
        images.append(draw_shape(CLASSES[k], rnd))
        if on_chunk and (i % chunk == 0 or i == n):
            on_chunk(i)
    return images, labels


def _tensor(images: list[Image.Image]) -> Any:
    """Images as a float tensor N x 1 x 32 x 32 in [0, 1] (no numpy needed)."""
    import torch

    raw = b"".join(img.tobytes() for img in images)
    data = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
    return data.reshape(len(images), 1, SIZE, SIZE).float() / 255.0


def train(rep: Reporter, p: dict[str, Any]) -> None:
    """Train the CNN, reporting loss and accuracy, a prediction grid and a confusion matrix."""
    rep.log(f"generating {p['samples']} images")
    batch = p["batch_size"]
    n_val = max(len(CLASSES) * 6, p["samples"] // 5)
    per_epoch = math.ceil((p["samples"] - n_val) / batch)
    # Preparing the data counts as work too, and needs no torch: the bar moves at once.
    prep = math.ceil(p["samples"] / 200)
    total = prep + per_epoch * p["epochs"]
    rep.progress(0, total, epoch=0, epochs=p["epochs"])
    images, labels = make_dataset(
        p["samples"],
        p["seed"],
        lambda done: rep.progress(math.ceil(done / 200), total, epoch=0, epochs=p["epochs"]),
    )
    import torch
    from torch import nn

    torch.manual_seed(p["seed"])
    torch.set_num_threads(p["threads"])
    device = torch.device("cuda" if p["device"] == "auto" and torch.cuda.is_available() else "cpu")
    rep.set_device(str(device))
    x, y = _tensor(images).to(device), torch.tensor(labels, device=device)
    x_train, y_train, x_val, y_val = x[n_val:], y[n_val:], x[:n_val], y[:n_val]
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 8 * 8, 64),
        nn.ReLU(),
        nn.Linear(64, len(CLASSES)),
    ).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=p["learning_rate"])
    loss_fn = nn.CrossEntropyLoss()
    step = 0
    for epoch in range(1, p["epochs"] + 1):
        model.train()
        order = torch.randperm(len(x_train), device=device)
        for b in range(per_epoch):
            idx = order[b * batch : (b + 1) * batch]
            opt.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            step += 1
            if step % 5 == 0 or step == total:
                rep.metric("train_loss", loss.item(), step)
            rep.progress(prep + step, total, epoch=epoch, epochs=p["epochs"])
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = float(loss_fn(logits, y_val))
            pred = logits.argmax(1)
            acc = float((pred == y_val).float().mean())
        rep.metric("val_loss", val_loss, step)
        rep.metric("val_accuracy", acc, step)
        rep.log(f"epoch {epoch}/{p['epochs']}: val_loss {val_loss:.3f}, val_accuracy {acc:.3f}")
        if not rep.enabled:
            continue  # reporting off (bench/training.py): no images to draw
        k = len(CLASSES)
        counts = [[0] * k for _ in range(k)]
        for t, q in zip(y_val.tolist(), pred.tolist(), strict=True):
            counts[t][q] += 1
        shown = list(range(min(24, n_val)))
        rep.image(
            f"predictions epoch {epoch}",
            prediction_grid(
                [images[i] for i in shown],
                [CLASSES[labels[i]] for i in shown],
                [CLASSES[int(pred[i])] for i in shown],
            ),
        )
        rep.image(f"confusion matrix epoch {epoch}", confusion_matrix(CLASSES, counts))
    rep.model({k: v.cpu() for k, v in model.state_dict().items()})


TRAINER = Trainer(
    name="shapes-cnn",
    title="Image classifier (shapes)",
    description=(
        "A small CNN that learns to tell circles, squares, triangles and crosses apart, "
        "on images drawn in the process. Artifacts: prediction grid and confusion matrix "
        "after every epoch."
    ),
    params=(
        Param("epochs", INT, 3, "Passes over the training images.", minimum=1, maximum=50),
        Param(
            "samples",
            INT,
            2000,
            "Images to generate (a fifth for validation).",
            minimum=100,
            maximum=50_000,
        ),
        Param("batch_size", INT, 64, "Images per optimisation step.", minimum=4, maximum=1024),
        Param("learning_rate", FLOAT, 0.003, "Adam step size.", minimum=1e-6, maximum=1.0),
        Param("seed", INT, 0, "Random seed (data and weights).", minimum=0, maximum=2**31 - 1),
        Param("threads", INT, 1, "CPU threads for torch.", minimum=1, maximum=16),
        Param(
            "device",
            CHOICE,
            "auto",
            "Where to train: auto uses a GPU if there is one.",
            choices=("auto", "cpu"),
        ),
    ),
    train=train,
)
