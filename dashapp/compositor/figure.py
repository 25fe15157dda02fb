"""The canvas as a Plotly figure (plain dicts, no Plotly import): images bound to shapes.

Plotly cannot drag a layout image, so each layer's image sits on an editable
rectangle shape of the same box; the browser moves both together. Hidden layers are
not drawn; locked ones have no shape (nothing to drag), only an outline when selected.
Images and shapes carry their layer's id as ``name``: the browser finds them by it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dashapp.compositor.composition import Comp, Layer, draggable, shown_on_canvas

PreviewUrl = Callable[[str, Layer | None], str]
SELECTED = "#0d6efd"
LOCKED = "#fd7e14"


def figure(comp: Comp, url: PreviewUrl, preview_scale: float = 1.0) -> dict[str, Any]:
    """The Plotly figure: the background as a layout image, each layer an image on a shape.

    ``preview_scale`` (preview pixels per background pixel) travels in ``layout.meta``:
    the browser's "100 %" view shows one preview pixel per screen pixel.
    """
    bg = comp["bg"]
    width, height = (bg["w"], bg["h"]) if bg else (1600, 900)
    images: list[dict[str, Any]] = []
    common = {"xref": "x", "yref": "y", "xanchor": "left", "yanchor": "top", "sizing": "stretch"}
    if bg:
        images.append(
            {
                **common,
                "source": url(bg["image"], None),
                "x": 0,
                "y": 0,
                "sizex": width,
                "sizey": height,
                "layer": "below",
                "name": "background",
            }
        )
    shown = [lay for lay in comp["layers"] if shown_on_canvas(lay)]
    for lay in shown:
        images.append(
            {
                **common,
                "source": url(lay["image"], lay),
                "x": lay["x"],
                "y": lay["y"],
                "sizex": lay["w"],
                "sizey": lay["h"],
                "opacity": lay["opacity"],
                # Below the plot (in array order, over the background): a locked layer's
                # outline, a trace, then shows above every image.
                "layer": "below",
                "name": lay["id"],
            }
        )
    shapes = [shape(lay, lay["id"] == comp.get("sel")) for lay in draggable(comp)]
    locked = [lay for lay in shown if lay.get("locked") and lay["id"] == comp.get("sel")]
    axis = {"visible": False, "showgrid": False, "zeroline": False, "fixedrange": False}
    return {
        "data": [outline(lay) for lay in locked],
        "layout": {
            "xaxis": {**axis, "range": [0, width], "constrain": "domain"},
            "yaxis": {
                **axis,
                "range": [height, 0],
                "scaleanchor": "x",
                "scaleratio": 1,
                "constrain": "domain",
            },
            "images": images,
            "shapes": shapes,
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "dragmode": "pan",
            "uirevision": bg["image"] if bg else "empty",
            "showlegend": False,
            "meta": {"size": [width, height], "preview_scale": preview_scale},
        },
    }


def shape(lay: Mapping[str, Any], is_selected: bool) -> dict[str, Any]:
    """The editable rectangle a layer's image is bound to."""
    return {
        "type": "rect",
        "xref": "x",
        "yref": "y",
        "x0": lay["x"],
        "y0": lay["y"],
        "x1": lay["x"] + lay["w"],
        "y1": lay["y"] + lay["h"],
        "line": {
            "color": SELECTED if is_selected else "rgba(128,128,128,0.8)",
            "width": 2 if is_selected else 1,
            "dash": "solid" if is_selected else "dot",
        },
        "fillcolor": "rgba(0,0,0,0)",
        "layer": "above",
        "editable": True,
        "name": lay["id"],
    }


def outline(lay: Mapping[str, Any]) -> dict[str, Any]:
    """A selected locked layer's frame: a line trace, which (unlike a shape) cannot be dragged."""
    x0, y0, x1, y1 = lay["x"], lay["y"], lay["x"] + lay["w"], lay["y"] + lay["h"]
    return {
        "type": "scatter",
        "x": [x0, x1, x1, x0, x0],
        "y": [y0, y0, y1, y1, y0],
        "mode": "lines",
        "line": {"color": LOCKED, "width": 2, "dash": "dash"},
        "hoverinfo": "skip",
        "name": lay["id"],
    }
