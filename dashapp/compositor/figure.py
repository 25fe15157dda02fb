"""The canvas as a Plotly figure (plain dicts, no Plotly import): images bound to shapes.

Plotly cannot drag a layout image, so each layer's image sits on an editable
rectangle shape of the same box; the browser moves both together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dashapp.compositor.composition import Comp, Layer

PreviewUrl = Callable[[str, Layer | None], str]


def figure(comp: Comp, url: PreviewUrl) -> dict[str, Any]:
    """The Plotly figure: the background as a layout image, each layer an image on a shape."""
    bg = comp["bg"]
    width, height = (bg["w"], bg["h"]) if bg else (1600, 900)
    images: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
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
            }
        )
    for lay in comp["layers"]:
        images.append(
            {
                **common,
                "source": url(lay["image"], lay),
                "x": lay["x"],
                "y": lay["y"],
                "sizex": lay["w"],
                "sizey": lay["h"],
                "opacity": lay["opacity"],
                "layer": "above",
            }
        )
        shapes.append(shape(lay, lay["id"] == comp.get("sel")))
    axis = {"visible": False, "showgrid": False, "zeroline": False, "fixedrange": False}
    return {
        "data": [],
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
            "color": "#0d6efd" if is_selected else "rgba(128,128,128,0.8)",
            "width": 2 if is_selected else 1,
            "dash": "solid" if is_selected else "dot",
        },
        "fillcolor": "rgba(0,0,0,0)",
        "layer": "above",
        "editable": True,
        "name": lay["id"],
    }
