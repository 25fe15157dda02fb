"""Who a request is from, decided without a server: proxies, the portal header, basic auth."""

from __future__ import annotations

import base64

import pytest
from werkzeug.security import generate_password_hash

from dashapp.settings import Settings, SettingsError
from dashapp.web import security
from dashapp.web.security import TRUSTED_KEY, Identity, identify

USERS = {"carol": generate_password_hash("right-horse")}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_se001_header_only_from_trusted_proxies() -> None:
    kw = {"user_header": "X-User", "users": {}, "admins": ["root"]}
    assert identify({TRUSTED_KEY: True}, {"X-User": "alice"}, **kw) == Identity(
        "alice", False, "header"
    )
    assert identify({TRUSTED_KEY: True}, {"X-User": "root"}, **kw).admin is True
    # Anywhere else, or malformed, the header names nobody: refused (issue 17: the app
    # used to serve such requests as "anonymous"), or anonymous when that is allowed.
    assert identify({TRUSTED_KEY: False}, {"X-User": "alice"}, **kw) is None
    assert identify({TRUSTED_KEY: True}, {"X-User": "bad\x00name"}, **kw) is None
    assert identify({TRUSTED_KEY: True}, {"X-User": "x" * 200}, **kw) is None
    kw["allow_anonymous"] = True
    assert identify({TRUSTED_KEY: False}, {"X-User": "alice"}, **kw) == Identity("anonymous")
    assert identify({TRUSTED_KEY: True}, {"X-User": "x" * 200}, **kw).name == "anonymous"


def test_se002_basic_users() -> None:
    kw = {"user_header": "", "users": USERS, "admins": []}
    assert identify({}, basic("carol", "right-horse"), **kw).name == "carol"
    assert identify({}, basic("carol", "wrong"), **kw) is None
    assert identify({}, basic("eve", "right-horse"), **kw) is None
    assert identify({}, {}, **kw) is None
    for junk in (
        "Basic",
        "Basic ###",
        "Bearer abc",
        "Basic " + base64.b64encode(b"nocolon").decode(),
    ):
        assert identify({}, {"Authorization": junk}, **kw) is None
    # Behind the portal, basic users still work for direct access.
    both = {"user_header": "X-User", "users": USERS, "admins": []}
    assert (
        identify(
            {TRUSTED_KEY: False}, {"X-User": "alice", **basic("carol", "right-horse")}, **both
        ).name
        == "carol"
    )


def test_se003_trusted_networks() -> None:
    nets = security.networks(["10.0.0.0/8", "192.0.2.7", "::1"])
    assert security.trusted("10.1.2.3", nets)
    assert security.trusted("192.0.2.7", nets)
    assert security.trusted("::1", nets)
    assert not security.trusted("192.0.2.8", nets)
    assert not security.trusted("not-an-ip", nets)
    assert not security.trusted("10.1.2.3", ())


def test_se004_settings_refuse_plain_passwords_and_bad_networks() -> None:
    with pytest.raises(SettingsError, match="hash-password"):
        Settings.from_env({"DASHAPP_USERS": "carol:hunter2"})
    with pytest.raises(SettingsError, match="not an address"):
        Settings.from_env({"DASHAPP_TRUSTED_PROXIES": "10.0.0.0/33"})
    with pytest.raises(SettingsError, match="header name"):
        Settings.from_env({"DASHAPP_USER_HEADER": "X User"})
    ok = Settings.from_env(
        {"DASHAPP_USERS": f"carol:{USERS['carol']}", "DASHAPP_ADMINS": "carol, root"}
    )
    assert ok.user_hashes == USERS
    assert ok.admins == ("carol", "root")


def test_se005_a_signed_in_session_counts_only_for_a_configured_user() -> None:
    kw = {"user_header": "", "users": USERS, "admins": ["carol"]}
    assert identify({}, {}, session_user="carol", **kw) == Identity("carol", True, "session")
    assert identify({}, {}, session_user="removed-since", **kw) is None
    assert identify({}, {}, session_user=None, **kw) is None
    open_kw = {"user_header": "", "users": {}, "admins": []}
    assert identify({}, {}, session_user="carol", **open_kw).via == "open"


@pytest.mark.parametrize(
    ("target", "prefix", "expected"),
    [
        ("/data?table=main.teams", "/", "/data?table=main.teams"),
        ("/tools/dashapp/training", "/tools/dashapp/", "/tools/dashapp/training"),
        ("/training", "/tools/dashapp/", "/tools/dashapp/"),  # outside the app
        ("//evil.example/", "/", "/"),
        ("https://evil.example/", "/", "/"),
        ("/\\evil.example", "/", "/"),
        ("/data\r\nSet-Cookie: x=1", "/", "/"),
        (None, "/", "/"),
        (["/data"], "/", "/"),
    ],
)
def test_se006_sign_in_returns_only_to_a_page_of_this_app(target, prefix, expected) -> None:
    from dashapp.web.signin import safe_next

    assert safe_next(target, prefix) == expected


def test_se007_portal_mode_refuses_requests_without_a_user() -> None:
    kw = {"user_header": "X-User", "users": {}, "admins": []}
    assert identify({TRUSTED_KEY: True}, {}, **kw) is None
    assert identify({TRUSTED_KEY: False}, {}, **kw) is None
    assert identify({}, {}, allow_anonymous=True, **kw) == Identity("anonymous")
    # What the refused person reads says why, and what to do.
    assert "not from a trusted proxy" in security.portal_refusal({TRUSTED_KEY: False}, "X-User")
    assert "X-User is missing" in security.portal_refusal({TRUSTED_KEY: True}, "X-User")
    # Portal and users: sent to sign in (None) unless anonymous access is allowed.
    both = {"user_header": "X-User", "users": USERS, "admins": []}
    assert identify({TRUSTED_KEY: False}, {}, **both) is None
    assert identify({}, {}, allow_anonymous=True, **both) == Identity("anonymous")
    # Credentials that were sent must still be right.
    assert identify({}, basic("carol", "wrong"), allow_anonymous=True, **both) is None


def test_se008_the_start_up_line_states_the_mode() -> None:
    def mode(**kw):
        args = {"user_header": "", "users": {}, "trusted_proxies": (), "allow_anonymous": False}
        return security.auth_mode(**(args | kw))

    line, warn = mode()
    assert line.startswith("auth mode: open: dashapp is open")
    assert warn
    line, warn = mode(user_header="X-User", trusted_proxies=("10.0.0.5", "10.1.0.0/16"))
    assert line.startswith("auth mode: portal: ")
    assert "X-User" in line
    assert "10.0.0.5, 10.1.0.0/16" in line
    assert "refused" in line
    assert not warn
    line, warn = mode(user_header="X-User")
    assert "no proxy is trusted" in line
    assert warn
    line, warn = mode(users=USERS)
    assert line.startswith("auth mode: sign-in: 1 users")
    assert "sent to sign in" in line
    assert not warn
    line, warn = mode(users=USERS, user_header="X-User", trusted_proxies=("10.0.0.5",))
    assert line.startswith("auth mode: portal+sign-in: ")
    line, warn = mode(user_header="X-User", trusted_proxies=("10.0.0.5",), allow_anonymous=True)
    assert "served as 'anonymous' (DASHAPP_ALLOW_ANONYMOUS)" in line
    assert warn
    assert all("\n" not in mode(**kw)[0] for kw in ({}, {"users": USERS}))


def test_se009_an_unknown_name_costs_the_same_hash_check(monkeypatch) -> None:
    """Basic auth hashes the password for unknown names too (like the sign-in form)."""
    calls: list[str] = []
    real = security.check_password_hash

    def counted(stored: str, password: str) -> bool:
        calls.append(stored.split("$", 1)[0])
        return real(stored, password)

    monkeypatch.setattr(security, "check_password_hash", counted)
    kw = {"user_header": "", "users": USERS, "admins": []}
    assert identify({}, basic("carol", "wrong"), **kw) is None
    assert identify({}, basic("nobody-by-that-name", "wrong"), **kw) is None
    method = USERS["carol"].split("$", 1)[0]
    assert calls == [method, method]  # one check each, made the same way


def test_se010_the_dummy_hash_is_made_like_the_users_hashes() -> None:
    pbkdf2 = {"erin": generate_password_hash("pw", method="pbkdf2:sha256:1000")}
    assert security.hash_method(pbkdf2) == "pbkdf2:sha256:1000"
    assert security.dummy_hash("pbkdf2:sha256:1000").startswith("pbkdf2:sha256:1000$")
    assert security.hash_method({}) == "scrypt"
    assert not security.check_password(pbkdf2, "eve", "pw")
    assert security.check_password(pbkdf2, "erin", "pw")


def test_se011_shared_state_needs_a_shared_secret_key(tmp_path) -> None:
    from dashapp.app import require_shared_secret

    alone = Settings(data_dir=tmp_path)
    require_shared_secret(alone)  # one node: a key generated into the data folder is fine
    for shared in (
        alone.with_overrides(celery_broker="redis://127.0.0.1:6379/0"),
        alone.with_overrides(state_url="postgresql://postgres@db:5432/state"),
        alone.with_overrides(state_url="postgresql+psycopg2://postgres@db:5432/state"),
    ):
        with pytest.raises(SettingsError, match="set the same DASHAPP_SECRET_KEY on every node"):
            require_shared_secret(shared)
        require_shared_secret(shared.with_overrides(secret_key="k" * 40))


@pytest.mark.parametrize(
    ("path", "current", "expected"),
    [
        ("/data", None, "no-store"),
        ("/_dash-update-component", None, "no-store"),
        ("/_dash-layout", None, "no-store"),
        ("/export.csv", None, "no-store"),
        ("/compositor/files/s/i/preview", "public, max-age=604800", "private, max-age=604800"),
        ("/compositor/files/s/renders/r", "no-cache", "private, no-cache"),
        ("/jobs/j/artifacts/1", "max-age=3600", "private, max-age=3600"),
        ("/login", "no-store", None),
        ("/_dash-component-suites/dash/x.v1m2.js", "public, max-age=31536000", None),
        ("/tools/app/assets/style.css", "no-cache", None),
        ("/tools/app/data", None, "no-store"),
    ],
)
def test_se012_only_versioned_assets_may_be_cached_by_others(path, current, expected) -> None:
    from dashapp.web.server import cache_control

    prefix = "/tools/app/" if path.startswith("/tools/") else "/"
    assert cache_control(path, prefix, current) == expected


def test_se013_any_text_as_a_form_token_is_just_wrong() -> None:
    from dashapp.web.signin import form_ok, form_token, same_token

    nonce = "n" * 24
    good = form_token("secret", nonce)
    assert form_ok("secret", nonce, good)
    assert not form_ok("other-secret", nonce, good)  # another key: another token
    for sent in ("é", "\udcff", "", good + "x", None, ["x"]):
        assert not form_ok("secret", nonce, sent)
        assert not same_token(sent, good)
    assert not form_ok("secret", "short", form_token("secret", "short"))
