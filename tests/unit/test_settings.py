"""Settings: defaults, parsing, and a clear message for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashapp.db import normalize_url
from dashapp.settings import SETTINGS_DOC, Settings, SettingsError


def test_st001_defaults_point_into_the_data_dir(tmp_path: Path) -> None:
    s = Settings.from_env({"DASHAPP_DATA_DIR": str(tmp_path)})
    assert s.data_dir == tmp_path.resolve()
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'demo.sqlite'}"
    assert s.state_url == f"sqlite:///{tmp_path.resolve() / 'state.sqlite'}"
    assert (s.host, s.port, s.url_prefix) == ("127.0.0.1", 8050, "/")
    assert s.frame_ancestors == ("'self'",)
    assert s.uses_demo_db


def test_st002_values_are_parsed() -> None:
    s = Settings.from_env(
        {
            "DASHAPP_PORT": "9000",
            "DASHAPP_WORKERS": " 4 ",
            "DASHAPP_URL_PREFIX": "tools/dashapp",
            "DASHAPP_FRAME_ANCESTORS": "https://portal.example.com, self",
            "DASHAPP_DATABASE_URL": "postgresql://u@db:5432/x",
            "DASHAPP_DEMO_AUTOCREATE": "no",
            "DASHAPP_STATEMENT_TIMEOUT_S": "2.5",
        }
    )
    assert s.port == 9000
    assert s.workers == 4
    assert s.url_prefix == "/tools/dashapp/"
    assert s.frame_ancestors == ("https://portal.example.com", "'self'")
    assert not s.uses_demo_db
    assert s.demo_autocreate is False
    assert s.statement_timeout_s == 2.5


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DASHAPP_PORT", "eighty", "DASHAPP_PORT='eighty' is not a whole number"),
        ("DASHAPP_PORT", "70000", "DASHAPP_PORT=70000 is out of range"),
        ("DASHAPP_WORKERS", "0", "DASHAPP_WORKERS=0 is out of range"),
        ("DASHAPP_DATABASE_URL", "not a url", "DASHAPP_DATABASE_URL is not a database URL"),
        ("DASHAPP_STATE_URL", "mysql://x@y/z", "supported databases are sqlite and postgresql"),
        ("DASHAPP_URL_PREFIX", "/a b/", "is not a URL path prefix"),
        ("DASHAPP_FRAME_ANCESTORS", "javascript:alert(1)", "is not an origin"),
        ("DASHAPP_DEMO_AUTOCREATE", "maybe", "is not a boolean"),
        ("DASHAPP_LOG_LEVEL", "loud", "must be one of debug, info, warning, error"),
        ("DASHAPP_HOST", "a host", "is not a host name or address"),
        ("DASHAPP_PROT", "8050", "unknown setting DASHAPP_PROT"),
    ],
)
def test_st003_bad_values_name_the_setting(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=None) as err:
        Settings.from_env({name: value})
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("/", "/"), ("", "/"), ("x", "/x/"), ("/x", "/x/"), ("/a/b/", "/a/b/"), ("a/b", "/a/b/")],
)
def test_st004_prefix_is_normalised(raw: str, expected: str) -> None:
    env = {"DASHAPP_URL_PREFIX": raw} if raw else {}
    assert Settings.from_env(env).url_prefix == expected


def test_st005_plain_postgresql_url_uses_psycopg2() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg2"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg2"
    assert normalize_url("postgresql+psycopg2://u@h/db").drivername == "postgresql+psycopg2"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_st006_every_setting_is_documented_in_the_readme() -> None:
    documented = {name for name, _, _ in SETTINGS_DOC}
    fields = {"DASHAPP_" + f.upper() for f in Settings.__dataclass_fields__}
    assert documented == fields
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name in documented:
        assert f"`{name}`" in readme, f"{name} missing from the README settings table"
