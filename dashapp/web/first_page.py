"""Which page a layout request is for: the address of the page that asks for its layout.

The browser fetches Dash's layout from the page it shows, sending that page's address as
the ``Referer`` (our ``Referrer-Policy: same-origin`` keeps it for our own requests). With
it the layout can hold the page itself (``dashapp.app``); without it (a proxy or browser
that drops the header) the page is filled by Dash's pages callback, as it always was.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def layout_page_address(prefix: str) -> tuple[str, str, str] | None:
    """``(path under the prefix, pathname, search)`` of the page asking for the layout.

    ``pathname`` and ``search`` are as the browser's ``window.location`` has them; None when
    the request names no page of this app (no or a foreign ``Referer``).
    """
    referrer = request.headers.get("Referer", "")
    if not referrer or len(referrer) > 4096:
        return None
    try:
        parts = urlsplit(referrer)
    except ValueError:
        return None
    if parts.netloc != request.host or parts.scheme != request.scheme:
        return None
    if not parts.path.startswith(prefix) and parts.path + "/" != prefix:
        return None
    search = f"?{parts.query}" if parts.query else ""
    return "/" + parts.path[len(prefix) :].lstrip("/"), parts.path, search
