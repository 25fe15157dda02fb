"""Sign-in sessions in the state database: revoked at sign-out, ended by the server's clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dashapp import migrations
from dashapp.db import make_engine
from dashapp.web.sessions import SessionStore, now, signin_sessions, token_hash


@pytest.fixture
def engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


def test_ss001_the_cookie_token_is_not_stored_and_sign_out_revokes(engine) -> None:
    store = SessionStore(lambda: engine, hours=12)
    token, started = store.create("carol")
    assert len(token) >= 40
    with engine.connect() as conn:
        rows = conn.execute(select(signin_sessions)).mappings().all()
    assert len(rows) == 1
    assert rows[0]["token_hash"] == token_hash(token)
    assert token not in rows[0].values()  # a leaked table signs nobody in
    assert store.get(token) == started
    assert started.user == "carol"
    assert len(started.csrf) >= 24
    # Another store on the same database (another worker, another node) agrees.
    assert SessionStore(lambda: engine, hours=12).get(token) == started
    store.end(token)
    assert store.get(token) is None
    assert SessionStore(lambda: engine, hours=12).get(token) is None
    for forged in ("", "x", token + "x", "a" * 10_000):
        assert store.get(forged) is None


def test_ss002_sessions_end_on_the_server_and_ended_rows_are_deleted(engine) -> None:
    store = SessionStore(lambda: engine, hours=1)
    t0 = now()
    old, _ = store.create("dave", at=t0 - timedelta(hours=2))
    live, _ = store.create("erin", at=t0 - timedelta(minutes=30))
    assert store.get(old) is None  # the cookie may still be sent: the server says no
    assert store.get(live) is not None
    assert store.get(live, at=t0 + timedelta(minutes=31)) is None
    store.create("frank")  # signing in deletes what has ended, not what lives
    with engine.connect() as conn:
        users = sorted(r.user for r in conn.execute(select(signin_sessions.c.user)))
    assert users == ["erin", "frank"]
