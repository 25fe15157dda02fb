"""Batch render: the current composition (or a saved recipe) laid onto many backgrounds.

Each background goes the way a person would take it one at a time: it becomes the
background of an empty composition, the recipe is applied to it (``recipes.apply_recipe``:
the layers placed and scaled as on any new background), and ``render.render`` composes
it. Only one background is in memory at a time, each under one of the process's render
slots; the renders are written one by one into a zip on disk, then stored as one file.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from dashapp.compositor import composition, recipes, render
from dashapp.compositor.composition import CompositionError
from dashapp.compositor.imaging import ImageRejected
from dashapp.compositor.model import PageState, Refused
from dashapp.compositor.storage import StorageError
from dashapp.compositor.upload_store import ImageInfo, UploadStore, encode_render

MAX_BACKGROUNDS = 50
UPLOAD, ARTIFACT = "upload", "artifact"
# A training job's image by its artifact id: ``(bytes, name)``, or LookupError saying why not.
FetchArtifact = Callable[[Any], tuple[bytes, str]]
# Called before each background and once at the end: (done, total, name of the next one).
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Batch:
    """A finished batch: its zip in the session's store, and what could not be rendered."""

    session: str
    batch_id: str
    count: int
    fmt: str
    seconds: float
    problems: list[str] = field(default_factory=list)


def source(kind: str, ref: Any) -> str:
    """The value that names a background in the batch's picker."""
    return f"{kind}:{ref}"


def parse_sources(values: Any) -> list[tuple[str, str]]:
    """The picker's values as ``(kind, ref)``: well-formed, once each, at most the maximum."""
    picked: list[tuple[str, str]] = []
    for value in values if isinstance(values, list) else []:
        kind, _, ref = value.partition(":") if isinstance(value, str) else ("", "", "")
        ok = (kind == UPLOAD and UploadStore.valid_image(ref)) or (
            kind == ARTIFACT and ref.isdigit() and len(ref) < 19
        )
        if ok and (kind, ref) not in picked:
            picked.append((kind, ref))
    return picked[:MAX_BACKGROUNDS]


def batch_render(
    store: UploadStore,
    page: PageState,
    *,
    sources: Any,
    recipe_file: Any,
    use_recipe: bool,
    fmt: Any,
    quality: Any,
    slots: threading.Semaphore,
    fetch: FetchArtifact,
    progress: Progress,
    wait_s: float = 60.0,
) -> Batch | Refused:
    """Render the composition's recipe (or, ``use_recipe``, ``recipe_file``) onto each source."""
    if use_recipe and not recipe_file:
        return Refused("Choose a recipe file first, or apply the current composition.")
    try:
        comp, _ = composition.sanitize(page.comp, store)
        comp = composition.merge_geometry(comp, page.geom)
        fmt, q = render.output_format(fmt, quality)
        recipe = recipes.parse(recipe_file) if use_recipe else _recipe_of(comp)
    except (CompositionError, StorageError) as exc:
        return Refused(str(exc))
    picked = parse_sources(sources)
    if not picked:
        return Refused("Choose one or more backgrounds to render onto.")
    sid, started = comp["session"], time.perf_counter()
    problems: list[str] = []
    count = 0
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_STORED) as zipped:
            for i, (kind, ref) in enumerate(picked):
                progress(i, len(picked), ref)
                try:
                    info = _background(store, sid, kind, ref, fetch)
                    name = f"{count + 1:02d}-{_stem(info.name)}.{'png' if fmt == 'png' else 'jpg'}"
                    with _slot(slots, wait_s):
                        flat = _composed(store, sid, info, recipe, fmt)
                        # Encoded straight into the zip on disk: no second copy in memory.
                        with zipped.open(name, "w", force_zip64=True) as entry:
                            encode_render(flat, entry, fmt=fmt, quality=q)
                        del flat  # before the next background is decoded
                    count += 1
                except (CompositionError, ImageRejected, StorageError) as exc:
                    problems.append(f"{_label(kind, ref)}: {exc}")
                except KeyError:
                    problems.append(f"{_label(kind, ref)}: an upload has expired.")
        progress(len(picked), len(picked), "")
        if not count:
            return Refused("Nothing was rendered. " + " ".join(problems))
        spool.seek(0)
        try:
            batch_id = store.save_batch(sid, lambda f: shutil.copyfileobj(spool, f, 1 << 20))
        except StorageError as exc:
            return Refused(str(exc))
    took = time.perf_counter() - started
    return Batch(sid, batch_id, count, fmt, took, problems)


def _recipe_of(comp: composition.Comp) -> dict[str, Any]:
    """The current composition as a recipe; it needs a background (the layers' frame)."""
    if comp["bg"] is None:
        raise CompositionError("Upload a background and place layers first, or load a recipe.")
    return recipes.to_recipe(comp)


def _background(
    store: UploadStore, sid: str, kind: str, ref: str, fetch: FetchArtifact
) -> ImageInfo:
    """The stored image a source names; a job's image is stored in the session first."""
    if kind == UPLOAD:
        info = store.info(sid, ref)
        if info is None:
            raise ImageRejected("not among this session's uploads (expired?).")
        return info
    try:
        data, name = fetch(int(ref))
    except LookupError as exc:
        raise ImageRejected(str(exc)) from None
    return store.add(sid, data, name)


def _composed(store: UploadStore, sid: str, info: ImageInfo, recipe: Any, fmt: str) -> Image.Image:
    """One background: a fresh composition on it, the recipe applied, rendered for ``fmt``."""
    comp = composition.set_background(composition.empty(sid), info)
    comp, _ = recipes.apply_recipe(comp, recipe, store)
    image = render.render(comp, lambda image_id: store.open(sid, image_id))
    return render.flatten(image, fmt)


@contextmanager
def _slot(slots: threading.Semaphore, wait_s: float) -> Iterator[None]:
    """One of the process's render slots for one background, or a busy message."""
    if not slots.acquire(timeout=wait_s):
        raise StorageError("the server is busy rendering; try again in a moment.")
    try:
        yield
    finally:
        slots.release()


def _stem(name: str) -> str:
    """A file name's stem, safe inside a zip."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit(".", 1)[0]).strip("._")
    return stem[:60] or "background"


def _label(kind: str, ref: str) -> str:
    """A source as a problem message names it."""
    return f"job image {ref}" if kind == ARTIFACT else f"upload {ref[:8]}"
