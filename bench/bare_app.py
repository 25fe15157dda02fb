"""The baseline of bench/production.py: a bare Flask endpoint running the grid block's SQL.

Served by the same gunicorn configuration as the app (``dashapp.gunicorn_conf``), so the
comparison isolates what Dash, our validation and the callback protocol add.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
from flask import Flask, Response, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashapp.data.catalog import Catalog
from dashapp.data.grid_query import parse_view, select_view
from dashapp.db import make_engine
from dashapp.settings import Settings

SORTED = [{"colId": "occurred_at", "sort": "asc"}]
settings = Settings.from_env()
engine = make_engine(settings.database_url, statement_timeout_s=10, read_only=True)
dialect = engine.dialect.name
info = Catalog(engine).table("main.events" if dialect == "sqlite" else "public.events")
view = parse_view(info, {"sortModel": SORTED, "filterModel": {}}, dialect)
base = select_view(info, view, dialect)
app = Flask(__name__)


@app.get("/block")
def block() -> Response:
    """100 rows from ``start`` of the sorted table, as JSON: the grid block's SQL, bare."""
    start = int(request.args.get("start", "0"))
    with engine.connect() as conn:
        rows = conn.execute(base.offset(start).limit(100)).mappings().all()
    data = [{str(k): v for k, v in r.items()} for r in rows]
    return Response(orjson.dumps(data, default=str), mimetype="application/json")
