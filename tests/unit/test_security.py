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
    assert identify({TRUSTED_KEY: False}, {"X-User": "alice"}, **kw) == Identity("anonymous")
    assert identify({TRUSTED_KEY: True}, {"X-User": "bad\x00name"}, **kw).name == "anonymous"
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
