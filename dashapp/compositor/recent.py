"""The renders a Compositor session made lately, for the home page."""

from __future__ import annotations

from dashapp.compositor.storage import RENDER
from dashapp.compositor.upload_store import RENDERS_KEPT, UploadStore


def recent_renders(store: UploadStore, sid: object, limit: int = RENDERS_KEPT) -> list[str]:
    """The ids of a session's renders, newest first (none for anything not a session id).

    Raises ``StorageError`` when the store does not answer (the state database).
    """
    if not store.valid_session(sid) or limit <= 0:
        return []
    assert isinstance(sid, str)
    return list(reversed(store.storage.listing(sid, RENDER)))[:limit]
