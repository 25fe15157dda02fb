"""An example trainer plugin: a loss that shrinks step by step, and a picture of it (no torch)."""

from __future__ import annotations

import time
from typing import Any

from PIL import Image, ImageDraw

from jobs.params import FLOAT, INT, Param
from jobs.trainer import Trainer


def train(rep: Any, p: dict[str, Any]) -> None:
    """Count ``steps`` steps, reporting progress and a ``loss`` each, then draw the curve."""
    steps, losses = p["steps"], []
    rep.log(f"counting to {steps}")
    for step in range(1, steps + 1):
        time.sleep(p["step_s"])
        losses.append(1.0 / step)
        rep.metric("loss", losses[-1], step)
        rep.progress(step, steps)
    img = Image.new("RGB", (160, 100), "white")
    ImageDraw.Draw(img).line(
        [(10 + 140 * i / max(steps - 1, 1), 90 - 80 * v) for i, v in enumerate(losses)],
        fill="navy",
        width=2,
    )
    rep.image("loss curve", img)
    rep.log("done")


TRAINER = Trainer(
    name="example-counter",
    title="Example counter (plugin)",
    description="A plugin's trainer: counts steps, records a loss and draws it.",
    params=(
        Param("steps", INT, 10, "How many steps.", minimum=1, maximum=1000),
        Param("step_s", FLOAT, 0.1, "Seconds per step.", minimum=0, maximum=10),
    ),
    train=train,
)
