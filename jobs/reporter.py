"""What a trainer reports through: progress, metrics, log lines, images, the final model."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path
from typing import Any

from jobs.files import write_atomic
from jobs.store import JobStore

# A fact (a single value such as ``rows_trained``) is stored as a metric at this step: no
# training step is negative, so every reader tells facts from series by it alone.
FACT_STEP = -1
# Facts recorded before trainers could declare them (as a metric at step 0).
LEGACY_FACTS = frozenset({"rows_trained"})

Series = dict[str, list[tuple[int, float]]]


def split_facts(metrics: Series) -> tuple[Series, dict[str, float]]:
    """A job's metrics split into series (drawn against the step) and facts (one value each)."""
    series: Series = {}
    facts: dict[str, float] = {}
    for name, points in metrics.items():
        if any(step == FACT_STEP for step, _ in points):
            facts[name] = next(v for s, v in reversed(points) if s == FACT_STEP)
        elif name in LEGACY_FACTS and len(points) == 1:
            facts[name] = points[0][1]
        else:
            series[name] = points
    return series, facts


class Cancelled(Exception):
    """Raised inside a trainer when the user asked the job to stop."""


class Reporter:
    """Writes a running job's progress to the store; checks for cancellation as it goes."""

    PROGRESS_EVERY_S = 0.25
    enabled = True  # False: nothing is recorded, so trainers may skip building images

    def __init__(
        self,
        store: JobStore,
        job_id: str,
        artifact_dir: Path,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Report for ``job_id``; artifact files go under ``artifact_dir``.

        ``context`` carries what a trainer may need from the app (``database_url``).
        """
        self.store, self.job_id = store, job_id
        self.context = dict(context or {})
        self.artifact_dir = artifact_dir
        self.artifact_dir.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        self._last_write = 0.0
        self._step = 0
        self._moved = False  # the first step past zero is always written: the bar moves at once
        self._metrics: list[tuple[int, str, float]] = []  # written with the next progress

    def progress(
        self, step: int, total: int, *, epoch: int | None = None, epochs: int | None = None
    ) -> None:
        """Record how far the job is (throttled); raises Cancelled if asked to stop."""
        first_move = step > 0 and not self._moved
        self._step = step
        now = time.monotonic()
        if now - self._last_write < self.PROGRESS_EVERY_S and 0 < step < total and not first_move:
            return
        self._moved = self._moved or step > 0
        self._last_write = now
        self.flush()
        elapsed = now - self.started
        fraction = step / total if total else 0.0
        eta = elapsed / fraction - elapsed if fraction > 0 else None
        self.store.update(
            self.job_id,
            progress={
                "step": step,
                "total": total,
                "epoch": epoch,
                "epochs": epochs,
                "percent": round(100 * fraction, 1),
                "elapsed_s": round(elapsed, 1),
                "eta_s": None if eta is None else round(eta, 1),
            },
            heartbeat_at=_utcnow(),
        )
        self.check_cancel()

    def set_device(self, device: str) -> None:
        """Record where the job computes (``cpu``, ``cuda``)."""
        self.store.update(self.job_id, device=device)

    def check_cancel(self) -> None:
        """Raise Cancelled when the user asked this job to stop."""
        if self.store.cancel_requested(self.job_id):
            raise Cancelled()

    def metric(self, name: str, value: float, step: int | None = None) -> None:
        """Record one value of a named metric (written with the next progress write)."""
        self._metrics.append((self._step if step is None else step, name, float(value)))
        if len(self._metrics) >= 500:
            self.flush()

    def fact(self, name: str, value: float) -> None:
        """Record a single value about the run (``rows_trained``): a figure, not a series."""
        self._metrics.append((FACT_STEP, name, float(value)))

    def flush(self) -> None:
        """Write the metrics recorded since the last write."""
        pending, self._metrics = self._metrics, []
        self.store.add_metrics(self.job_id, pending)

    def log(self, line: str) -> None:
        """Append a line to the job's log."""
        self.flush()
        self.store.add_log(self.job_id, line)

    def image(self, name: str, image: Any) -> Path:
        """Save a Pillow image as a PNG artifact and record it."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80] or "image"
        path = self.artifact_dir / f"{self._step:07d}-{safe}.png"
        # Encoded once (a fast PNG level: this runs inside the training loop), then kept
        # both on disk and in the state database, in one transaction.
        buf = io.BytesIO()
        image.save(buf, format="PNG", compress_level=3)
        data = buf.getvalue()
        write_atomic(path, data)  # whole or not at all, on a full disk too
        self.store.add_artifact(self.job_id, name, str(path), self._step, data=data)
        return path

    def model(self, state_dict: Any) -> Path:
        """Save the trained weights (``torch.save``) and record where they are.

        Serialised in memory (the bytes go to the state database anyway), then written whole
        or not at all: a full disk leaves no truncated ``model.pt`` and raises the OSError
        itself (torch's own file writer reports only "file write failed").
        """
        import torch

        path = self.artifact_dir / "model.pt"
        buf = io.BytesIO()
        torch.save(state_dict, buf)
        data = buf.getvalue()
        write_atomic(path, data)
        self.store.put_file(self.job_id, path.name, data)
        self.store.update(self.job_id, weights_path=str(path))
        return path


class SilentReporter(Reporter):
    """Reporting off: the same API and nothing recorded (the benchmark's baseline)."""

    enabled = False

    def __init__(self, context: dict[str, Any] | None = None) -> None:
        """No store, no files."""
        self.context = dict(context or {})
        self._step = 0

    def progress(
        self, step: int, total: int, *, epoch: int | None = None, epochs: int | None = None
    ) -> None:
        """Only remember the step."""
        self._step = step

    def set_device(self, device: str) -> None:
        """Nothing to record."""

    def check_cancel(self) -> None:
        """Nobody can cancel."""

    def metric(self, name: str, value: float, step: int | None = None) -> None:
        """Nothing to record."""

    def fact(self, name: str, value: float) -> None:
        """Nothing to record."""

    def flush(self) -> None:
        """Nothing to write."""

    def log(self, line: str) -> None:
        """Nothing to record."""

    def image(self, name: str, image: Any) -> Path:
        """Nothing to record."""
        return Path(os.devnull)

    def model(self, state_dict: Any) -> Path:
        """Nothing to record."""
        return Path(os.devnull)


def _utcnow() -> Any:
    """Now, in the store's convention."""
    from jobs.store import now

    return now()
