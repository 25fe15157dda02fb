"""The plain data the Compositor's actions take and give: the page's stores as the browser
sent them, and an action's answer (what to store, what the page shows, what to say where).

Messages are ``(text, kind)`` pairs addressed to ``MAIN``, ``BACKGROUND`` or ``LAYERS``;
the page decides how to show them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from dashapp.compositor import composition
from dashapp.compositor.composition import Comp, Layer
from dashapp.compositor.upload_store import UploadStore

MAIN, BACKGROUND, LAYERS = "main", "background", "layers"
Message = tuple[str, str]  # (text, kind: danger, success or warning)
Messages = dict[str, list[Message]]
# The layer fields of the panel, by the edit each one makes.
FIELD_ACTIONS = ("rename", "x", "y", "w", "h", "opacity")


@dataclass(frozen=True)
class PageState:
    """The Compositor's stores as the browser sent them: composition, history, drag boxes."""

    comp: Any
    hist: Any = None
    geom: Any = None


@dataclass(frozen=True)
class View:
    """What the page shows for a composition: the canvas, the selected layer's fields."""

    comp: Comp  # the drag's pending boxes folded in
    fields: dict[str, Any]  # by FIELD_ACTIONS: name, x, y, w, h and opacity (%) as shown
    has_selection: bool
    bg_info: str
    max_bytes: int  # the largest upload the browser should send
    preview_scale: float = 1.0  # preview pixels per background pixel (the "100 %" view)


@dataclass(frozen=True)
class Step:
    """One action's answer; ``None`` (or an absent message target) leaves that part as it is."""

    comp: Comp | None = None  # the composition to store, with its new ``rev``
    hist: dict[str, list[Comp]] | None = None
    clear_geom: bool = False  # the drag's pending boxes were folded into ``comp``
    messages: Messages = field(default_factory=dict)  # an empty list clears that message
    view: View | None = None
    rev: int | None = None  # the revision ``view`` shows
    query_done: bool = False  # page load: the ``?artifact=`` link was consumed


@dataclass(frozen=True)
class Rendered:
    """A full-resolution render saved in the session's folder."""

    session: str
    render_id: str
    fmt: str
    width: int
    height: int
    seconds: float


@dataclass(frozen=True)
class Refused:
    """Why a render did not happen, for the user."""

    message: str


@dataclass(frozen=True)
class RecipeFile:
    """A recipe ready to download."""

    content: str
    filename: str = "composition-recipe.json"
    media_type: str = "application/json"


def view_of(comp: Comp, store: UploadStore) -> View:
    """What the page shows for a (checked) composition."""
    lay = composition.selected(comp)
    bg = comp["bg"]
    return View(
        comp=comp,
        fields=(dict.fromkeys(FIELD_ACTIONS) | {"rename": ""}) if lay is None else shown(lay),
        has_selection=lay is not None,
        bg_info=f"{bg['name']} · {bg['w']}×{bg['h']} px" if bg else "",
        max_bytes=store.limits.max_bytes,
        preview_scale=min(1.0, store.preview_px / max(bg["w"], bg["h"])) if bg else 1.0,
    )


def shown(lay: Layer) -> dict[str, Any]:
    """A layer's values as its fields show them: whole output pixels, opacity in percent."""
    x0, y0, x1, y1 = composition.box(lay)
    return {
        "rename": lay["name"],
        "x": x0,
        "y": y0,
        "w": x1 - x0,
        "h": y1 - y0,
        "opacity": round(lay["opacity"] * 100),
    }


def revision(raw: Any) -> int:
    """The ``rev`` a stored composition carries (0 when none): it changes on every write."""
    rev = raw.get("rev") if isinstance(raw, dict) else None
    return rev if isinstance(rev, int) and not isinstance(rev, bool) else 0


def then(
    first: Step | None, page: PageState, second: Callable[[PageState], Step | None]
) -> Step | None:
    """Two actions that arrived in one request (a field's blur and a click): the second
    acts on what the first left, and the answer carries both."""
    if first is None:
        return second(page)
    after = PageState(
        page.comp if first.comp is None else first.comp,
        page.hist if first.hist is None else first.hist,
        None if first.clear_geom else page.geom,
    )
    step = second(after)
    if step is None:
        return first
    return replace(
        step,
        comp=first.comp if step.comp is None else step.comp,
        hist=first.hist if step.hist is None else step.hist,
        clear_geom=first.clear_geom or step.clear_geom,
        messages={**first.messages, **step.messages},
        view=first.view if step.view is None else step.view,
        rev=first.rev if step.view is None else step.rev,
    )
