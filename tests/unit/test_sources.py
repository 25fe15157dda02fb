"""Several databases: DASHAPP_DATABASES, the default source, keys and per-source allow/deny."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashapp.data.catalog import Catalog, CatalogError
from dashapp.data.sources import is_visible, qualify, split_key
from dashapp.db import make_engine
from dashapp.deps import Deps
from dashapp.settings import Settings, SettingsError

PG = "postgresql://u@db:5432/dw"


def test_so001_databases_are_parsed_in_order(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "DASHAPP_DATA_DIR": str(tmp_path),
            "DASHAPP_DATABASES": f"warehouse={PG}, demo=sqlite:///{tmp_path}/d.sqlite",
        }
    )
    assert s.databases == (
        ("warehouse", "postgresql://u@db:5432/dw"),
        ("demo", f"sqlite:///{tmp_path}/d.sqlite"),
    )
    # No DASHAPP_DATABASE_URL: the first listed is the default, and no demo is made.
    assert s.sources == s.databases
    assert s.database_url == PG
    assert not s.uses_demo_db


def test_so002_database_url_stays_the_default_source(tmp_path: Path) -> None:
    env = {"DASHAPP_DATA_DIR": str(tmp_path), "DASHAPP_DATABASES": f"warehouse={PG}"}
    s = Settings.from_env(env)
    assert [n for n, _ in s.sources] == ["warehouse"]
    s = Settings.from_env({**env, "DASHAPP_DATABASE_URL": "sqlite:///x.sqlite"})
    assert s.sources == (("default", "sqlite:///x.sqlite"), ("warehouse", PG))
    # Alone, as before: one source, the demo database.
    s = Settings.from_env({"DASHAPP_DATA_DIR": str(tmp_path)})
    assert s.sources == (("default", f"sqlite:///{tmp_path.resolve()}/demo.sqlite"),)
    assert s.uses_demo_db
    # The demo file as a named source is still made on first start.
    demo = f"sqlite:///{tmp_path.resolve()}/demo.sqlite"
    s = Settings.from_env({**env, "DASHAPP_DATABASES": f"warehouse={PG},demo={demo}"})
    assert s.uses_demo_db


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DASHAPP_DATABASES": PG}, "is not name=url"),
        ({"DASHAPP_DATABASES": f"9x={PG}"}, "is not name=url"),
        ({"DASHAPP_DATABASES": f"a:b={PG}"}, "is not name=url"),
        ({"DASHAPP_DATABASES": f"a={PG},a=sqlite:///x"}, "is not name=url with a new name"),
        ({"DASHAPP_DATABASES": "a=mysql://u@h/d"}, "supported databases are sqlite and postgresql"),
        ({"DASHAPP_DATABASES": "a=not a url"}, "DASHAPP_DATABASES (a) is not a database URL"),
        (
            {"DASHAPP_DATABASES": f"default={PG}", "DASHAPP_DATABASE_URL": "sqlite:///x"},
            "'default' names DATABASE_URL's source",
        ),
        (
            {"DASHAPP_DATABASES": f"wh={PG}", "DASHAPP_DATA_ALLOW": "warehouse:public.*"},
            "'warehouse:public.*' names no data source",
        ),
        ({"DASHAPP_DATA_DENY": "nope:main.*"}, "names no data source"),
        ({"DASHAPP_DATA_ALLOW": "a b:x.y"}, "is not a [source:]schema.table pattern"),
    ],
)
def test_so003_bad_sources_are_refused_with_the_setting_named(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"DASHAPP_DATA_DIR": str(tmp_path), **env})
    assert message in str(err.value)


def test_so004_keys_name_their_source_only_when_it_exists() -> None:
    names = ("default", "warehouse")
    assert split_key("main.events", names) == (None, "main.events")
    assert split_key("warehouse:public.events", names) == ("warehouse", "public.events")
    assert split_key("default:main.events", names) == ("default", "main.events")
    # A schema with a colon stays a schema of the default source.
    assert split_key("odd:schema.t", names) == (None, "odd:schema.t")
    assert split_key("public.a:b", names) == (None, "public.a:b")
    assert qualify("default", "main.events", "default") == "main.events"
    assert qualify("warehouse", "public.x", "default") == "warehouse:public.x"


def test_so005_allow_and_deny_per_source() -> None:
    allow = ("demo:main.events", "*.users")
    assert is_visible("demo", "main.events", allow, ())
    assert is_visible("demo", "main.users", allow, ())
    assert not is_visible("demo", "main.teams", allow, ())
    assert is_visible("warehouse", "public.users", allow, ())
    assert not is_visible("warehouse", "main.events", allow, ())  # that entry is demo's
    deny = ("warehouse:public.secret*",)
    assert not is_visible("warehouse", "public.secrets", (), deny)
    assert is_visible("demo", "public.secrets", (), deny)
    assert is_visible("x", "a.b", (), ())


def test_so006_a_catalog_refuses_keys_of_another_source(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    catalog = Catalog(engine, source="demo", sources=("demo", "warehouse"))
    assert catalog.table("demo:main.t").key == "main.t"
    assert catalog.table("main.t").key == "main.t"
    with pytest.raises(CatalogError, match="table of the data source 'warehouse'"):
        catalog.table("warehouse:main.t")
    engine.dispose()


def test_so007_deps_holds_one_catalog_per_source(tmp_path: Path) -> None:
    urls = {n: f"sqlite:///{tmp_path / n}.sqlite" for n in ("demo", "second")}
    for url in urls.values():
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        engine.dispose()
    settings = Settings(
        data_dir=tmp_path,
        databases=tuple(urls.items()),
        data_deny=("second:main.hidden",),
        statement_timeout_s=3,
    )
    deps = Deps(settings)
    assert deps.source_names == ("demo", "second")
    assert deps.catalog is deps.catalog_of("demo")
    catalog, key = deps.locate("second:main.t")
    assert (catalog.source, key) == ("second", "main.t")
    assert str(catalog.engine.url) == urls["second"]
    assert catalog is not deps.catalog
    assert deps.locate("main.t") == (deps.catalog, "main.t")
    # Each source's own engine is read-only.
    with pytest.raises(Exception, match="readonly"), catalog.engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE z (x)")
    assert not catalog.visible("main.hidden")
    assert deps.catalog.visible("main.hidden")
    with pytest.raises(CatalogError, match="no data source 'nope'"):
        deps.catalog_of("nope")
    deps.dispose()
