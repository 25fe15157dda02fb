"""Callbacks of the app shell: theme switch and the collapsible navigation."""

from __future__ import annotations

from dash import ClientsideFunction, Dash, Input, Output, State

from components.ids import Shell
from dashapp.deps import Deps


def register(app: Dash, deps: Deps) -> None:
    """Wire the shell's callbacks (all clientside: no server round trip)."""
    del deps
    # The theme lives in localStorage (assets/dashapp.js); this keeps the switch in step.
    app.clientside_callback(
        ClientsideFunction(namespace="dashapp", function_name="themeSwitch"),
        Output(Shell.THEME_SWITCH, "value"),
        Input(Shell.THEME_SWITCH, "value"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="dashapp", function_name="toggleNav"),
        Output(Shell.NAV_COLLAPSE, "is_open"),
        Input(Shell.NAV_TOGGLER, "n_clicks"),
        State(Shell.NAV_COLLAPSE, "is_open"),
        prevent_initial_call=True,
    )
