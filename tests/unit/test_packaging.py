"""The wheel carries every package of ours and declares every third-party import."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ("dashapp", "components", "callbacks", "jobs")
# Import names that differ from their distribution's name, or that come with another.
PROVIDED_BY = {"PIL": "pillow", "dash_bootstrap_components": "dash-bootstrap-components"}
PROVIDED_BY |= {"dash_ag_grid": "dash-ag-grid", "psycopg2": "psycopg2-binary"}
PROVIDED_BY |= {"flask_limiter": "flask-limiter"}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_pk001_every_package_is_in_the_wheel() -> None:
    listed = set(project()["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in OURS
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found - listed == set()
    assert "dashapp.assets" in listed  # the top-level assets/ folder, shipped in the package


def test_pk002_every_third_party_import_is_a_declared_dependency() -> None:
    declared = {
        dep.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
        for dep in project()["project"]["dependencies"]
    }
    imported: set[str] = set()
    for top in OURS:
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
    third_party = {
        name
        for name in imported
        if name not in OURS and name not in sys.stdlib_module_names and name != "__future__"
    }
    missing = {n for n in third_party if PROVIDED_BY.get(n, n).lower() not in declared}
    assert missing == set()
