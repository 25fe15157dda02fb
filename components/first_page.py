"""The page container with a page already in it, for pages rendered into the first response.

Dash's pages fill ``dash.page_container`` with a callback once the browser has the layout:
one more round trip before anything of the page shows. A page rendered with the layout
instead comes in a copy of that container whose location already holds the page's address,
so the location does not fire the pages callback when it mounts (it only reports what
differs from the props it was given) and later navigation works as before.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html
from dash.dash import _ID_CONTENT, _ID_DUMMY, _ID_LOCATION, _ID_STORE


def page_container(pathname: str, search: str, content: Any, title: str) -> html.Div:
    """``dash.page_container`` holding ``content`` for the address ``pathname`` + ``search``."""
    return html.Div(
        [
            dcc.Location(id=_ID_LOCATION, refresh="callback-nav", pathname=pathname, search=search),
            html.Div(content, id=_ID_CONTENT, disable_n_clicks=True),
            # Dash sets the tab's title from this store's data (a clientside callback).
            dcc.Store(id=_ID_STORE, data={"title": title}),
            html.Div(id=_ID_DUMMY, disable_n_clicks=True),
        ]
    )
