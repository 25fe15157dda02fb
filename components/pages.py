"""The app's pages: address, name, icon and layout builder of each."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from dash.development.base_component import Component


@dataclass(frozen=True)
class Page:
    """One page of the app, as registered with Dash pages and shown in the navigation."""

    key: str
    path: str
    name: str
    icon: str
    summary: str
    layout: Callable[..., Component]
    path_template: str | None = None

    def matches(self, path: str) -> bool:
        """Whether a path (without the URL prefix) is served by this page."""
        norm = "/" + path.strip("/")
        if self.path_template:
            pattern = re.sub(r"<[^/>]+>", "[^/]+", self.path_template.rstrip("/"))
            return re.fullmatch(pattern, norm) is not None
        return norm == ("/" + self.path.strip("/"))


def _layout_of(module: str) -> Callable[..., Component]:
    """A layout function that looks up ``components.<module>.layout`` when called.

    The indirection breaks the import cycle (home lists the pages); the factory imports
    every page module up front so their component libraries are registered with Dash
    before the first request.
    """

    def build(**query: str) -> Component:
        return importlib.import_module(f"components.{module}").layout(**query)  # type: ignore[no-any-return]

    build.__name__ = f"{module}_layout"
    return build


HOME = Page("home", "/", "Home", "house", "Overview of the tools.", _layout_of("home"))
TOOL_PAGES: tuple[Page, ...] = (
    Page(
        "data",
        "/data",
        "Data",
        "table",
        "Browse any table of the database: sort, filter and export millions of rows.",
        _layout_of("data"),
    ),
    Page(
        "training",
        "/training",
        "Training",
        "cpu",
        "Start PyTorch training jobs, watch them live and collect their artifacts.",
        _layout_of("training"),
    ),
    Page(
        "compositor",
        "/compositor",
        "Compositor",
        "layers",
        "Drag uploaded images onto a background and render the composite.",
        _layout_of("compositor"),
    ),
)
JOB = Page(
    "job",
    "/training/job",
    "Job",
    "cpu",
    "One training job.",
    _layout_of("job"),
    path_template="/training/<job_id>",
)
ALL_PAGES: tuple[Page, ...] = (HOME, *TOOL_PAGES, JOB)
NOT_FOUND = Page(
    "not_found_404", "/404", "Not found", "signpost-split", "", _layout_of("not_found")
)


def import_page_modules() -> None:
    """Import every page module (and so every component library the pages use)."""
    for page in (*ALL_PAGES, NOT_FOUND):
        importlib.import_module(f"components.{page.layout.__name__.removesuffix('_layout')}")


def is_known_path(path: str) -> bool:
    """Whether any page serves ``path`` (relative to the URL prefix)."""
    return any(page.matches(path) for page in ALL_PAGES)
