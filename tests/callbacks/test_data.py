"""Data page callbacks driven headlessly: block requests, hostile models, detail, chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callbacks import data as cb
from components.ids import Data
from dashapp.app import create_app, deps_of
from dashapp.settings import Settings
from tests.callbacks.helpers import post_callback

REQ = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}


def rows_call(client, request, table="main.events", quick=""):
    """A block request as the grid sends it: the table in its context (the grid's own)."""
    if isinstance(request, dict):
        request = {**request, "context": {"table": table}}
    return post_callback(
        client,
        "/",
        f"{Data.GRID}.getRowsResponse",
        {f"{Data.GRID}.getRowsRequest": request, f"{Data.QUICK}.value": quick},
    )


def test_cd001_block_request_through_dash(client) -> None:
    status, body = rows_call(client, {**REQ, "sortModel": [{"colId": "id", "sort": "desc"}]})
    assert status == 200
    resp = body["response"]
    assert resp[Data.GRID]["getRowsResponse"]["rowCount"] == 5_000
    assert [r["id"] for r in resp[Data.GRID]["getRowsResponse"]["rowData"][:2]] == [5000, 4999]
    assert resp[Data.STATUS]["children"] == "Rows 1–100 of 5,000"
    assert resp[Data.GRID_ERROR]["is_open"] is False


@pytest.mark.parametrize(
    ("request_patch", "message"),
    [
        (
            {
                "filterModel": {
                    "id": {"filterType": "number", "type": "equals", "filter": "1 OR 1=1"}
                }
            },
            "is not a number",
        ),
        (
            {
                "filterModel": {
                    'evil"; DROP TABLE events; --': {
                        "filterType": "text",
                        "type": "contains",
                        "filter": "x",
                    }
                }
            },
            "no such column",
        ),
        (
            {"sortModel": [{"colId": "id) UNION SELECT * FROM users --", "sort": "asc"}]},
            "no such column",
        ),
        (
            {"filterModel": {"message": {"filterType": "text", "type": "regex", "filter": ".*"}}},
            "unknown operator",
        ),
        ({"startRow": 0, "endRow": 50_000_000}, "a block must be"),
        ({"filterModel": "'; DELETE FROM events"}, "must be an object"),
    ],
)
def test_cd002_hostile_requests_answer_empty_block_and_message(
    client, request_patch, message
) -> None:
    status, body = rows_call(client, {**REQ, **request_patch})
    assert status == 200
    resp = body["response"]
    assert resp[Data.GRID]["getRowsResponse"] == {"rowData": [], "rowCount": 0}
    assert message in resp[Data.GRID_ERROR]["children"]
    assert resp[Data.GRID_ERROR]["is_open"] is True
    # And the table is intact.
    assert rows_call(client, REQ)[1]["response"][Data.GRID]["getRowsResponse"]["rowCount"] == 5_000


def test_cd003_unknown_table_and_garbage_request(client) -> None:
    status, body = rows_call(client, REQ, table="main.sqlite_master")
    assert status == 200
    assert "no table" in body["response"][Data.GRID_ERROR]["children"]
    status, body = rows_call(client, "not a request")
    assert status == 200
    assert body["response"][Data.GRID]["getRowsResponse"]["rowCount"] == 0


def test_cd004_picker_lists_tables_and_honours_the_link(app) -> None:
    catalog = deps_of(app).catalog
    options, value, warning = cb.load_tables([("default", catalog)], {"table": "main.users"})
    labels = {o["value"]: o["label"] for o in options}
    assert labels["main.events"] == "main.events — 5,000 rows"
    assert labels["main.experiment_summary"].startswith("main.experiment_summary — view")
    assert value == "main.users"
    assert warning is None
    _, value, warning = cb.load_tables([("default", catalog)], {"table": "main.missing"})
    assert value == "main.customer_churn"
    assert "no table 'main.missing'" in warning


def test_cd005_row_detail_rereads_the_full_row(app) -> None:
    catalog = deps_of(app).catalog
    is_open, body = cb.row_detail(catalog, "main.users", [{"id": 7, "username": "trunc…"}])
    assert is_open is True
    text = json.dumps(body.to_plotly_json(), default=str)
    assert "last_login_at" in text
    assert "trunc…" not in text


def test_cd006_chart_kinds(app) -> None:
    catalog = deps_of(app).catalog
    fig, note = cb.chart(catalog, "main.events", "duration_ms", {}, "")
    assert fig.data[0].type == "bar"
    assert sum(fig.data[0].y) == 5_000
    assert "5,000 non-null" in note
    fig, _ = cb.chart(catalog, "main.events", "event_type", {}, "")
    assert fig.data[0].orientation == "h"
    fig, _ = cb.chart(catalog, "main.events", "occurred_at", {}, "")
    assert sum(fig.data[0].y) == 5_000
    flt = {"event_type": {"filterType": "text", "type": "equals", "filter": "login"}}
    fig, _ = cb.chart(catalog, "main.events", "event_type", flt, "")
    assert list(fig.data[0].y) == ["login"]
    fig, note = cb.chart(catalog, "main.events", "nope", {}, "")
    assert fig is None
    assert "no column" in note
    fig, note = cb.chart(catalog, "main.events", None, {}, "")
    assert fig is None  # no graph (and no Plotly script) until a column is chosen
    assert "Pick a column" in note


def test_cd007_database_down_gives_a_banner_not_a_500(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    client = create_app(settings).server.test_client()
    status, body = post_callback(client, "/", f"{Data.PICKER}.options", {f"{Data.STATE}.data": {}})
    assert status == 200
    assert "not reachable" in body["response"][Data.BANNER]["children"]
    status, body = rows_call(client, REQ, table="public.events")
    assert status == 200
    assert body["response"][Data.GRID]["getRowsResponse"]["rowCount"] == 0
    assert body["response"][Data.GRID_ERROR]["is_open"] is True


def test_cd020_export_is_streamed_through_every_request_hook(client) -> None:
    """Nothing (logging, headers) may read a streamed export whole into memory."""
    resp = client.get("/export.csv?table=main.events")
    assert resp.status_code == 200
    assert resp.is_streamed
    assert resp.headers.get("Content-Length") is None
    first = next(resp.response)
    assert first.startswith(b"id,") or b"," in first
    resp.close()
    assert client.get("/export.csv?table=main.nope").status_code == 400


@pytest.mark.parametrize(
    ("request_patch", "quick", "rows", "message"),
    [
        (
            {
                "filterModel": {
                    "occurred_at": {
                        "filterType": "date",
                        "type": "equals",
                        "dateFrom": "9999-12-31 00:00:00",
                    }
                }
            },
            "",
            0,
            None,
        ),
        (
            {"filterModel": {"id": {"filterType": "number", "type": "lessThan", "filter": 2**63}}},
            "",
            5_000,
            None,
        ),
        (
            {
                "filterModel": {
                    "id": {"filterType": "number", "type": "greaterThan", "filter": -(2**64)}
                }
            },
            "",
            5_000,
            None,
        ),
        (
            {
                "filterModel": {
                    "message": {"filterType": "text", "type": "contains", "filter": "a\0"}
                }
            },
            "",
            0,
            "cannot contain the NUL character",
        ),
        ({}, "cache\0hit", 0, "cannot contain the NUL character"),
        (
            {
                "filterModel": {
                    "occurred_at": {
                        "filterType": "date",
                        "type": "equals",
                        "dateFrom": "10000-01-01",
                    }
                }
            },
            "",
            0,
            "outside the dates a filter can take",
        ),
    ],
)
def test_cd008_edge_values_give_rows_or_a_message_never_a_500(
    client, request_patch, quick, rows, message
) -> None:
    status, body = rows_call(client, {**REQ, **request_patch}, quick=quick)
    assert status == 200
    resp = body["response"]
    assert resp[Data.GRID]["getRowsResponse"]["rowCount"] == rows
    if message is None:
        assert resp[Data.GRID_ERROR]["is_open"] is False
    else:
        assert message in resp[Data.GRID_ERROR]["children"]


HOSTILE = ['<a href="https://example.com/">link</a>', "<b>bold</b>", "&lt;i&gt; & R&D"]


@pytest.fixture
def hostile_app(tmp_path: Path):
    """An app browsing a SQLite file of markup-like and unreadable values, a dotted name."""
    import sqlite3

    path = tmp_path / "hostile.sqlite"
    db = sqlite3.connect(path)
    db.execute('CREATE TABLE hostile (id INTEGER PRIMARY KEY, "a.b" TEXT, html TEXT, day DATE)')
    db.executemany(
        "INSERT INTO hostile VALUES (?, ?, ?, ?)",
        [(i + 1, f"dotted {i}", v, "2024-01-01") for i, v in enumerate(HOSTILE)],
    )
    db.execute("INSERT INTO hostile VALUES (4, 'nul', 'a' || char(0) || 'b', '10000-01-01')")
    db.execute("INSERT INTO hostile VALUES (5, 'latin-1', CAST(x'e9' AS TEXT), 'soon')")
    db.commit()
    db.close()
    app = create_app(Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{path}"))
    yield app
    deps_of(app).dispose()


def test_cd009_chart_labels_are_the_values_as_text(hostile_app) -> None:
    fig, _ = cb.chart(deps_of(hostile_app).catalog, "main.hostile", "html", {}, "")
    assert sorted(fig.data[0].y) == sorted(
        [
            '&lt;a href="https://example.com/"&gt;link&lt;/a&gt;',
            "&lt;b&gt;bold&lt;/b&gt;",
            "&amp;lt;i&amp;gt; &amp; R&amp;D",
            "a\0b",
            "\ufffd",
        ]
    )


def test_cd010_grid_reads_dotted_names_as_names_and_knows_its_deadline(hostile_app) -> None:
    client = hostile_app.server.test_client()
    status, body = post_callback(
        client, "/", f"{Data.GRID_BOX}.children", {f"{Data.PICKER}.value": "main.hostile"}
    )
    assert status == 200
    frame = body["response"][Data.GRID_BOX]["children"]
    assert frame["props"]["data-block-deadline-ms"] == "35000"  # 3 x 10 s + a connect
    grid = frame["props"]["children"]["props"]
    assert grid["dashGridOptions"]["suppressFieldDotNotation"] is True
    assert "a.b" in [c["field"] for c in grid["columnDefs"]]


def test_cd021_export_of_odd_values_is_whole(hostile_app) -> None:
    resp = hostile_app.server.test_client().get("/export.csv?table=main.hostile")
    assert resp.status_code == 200
    lines = resp.get_data(as_text=True).splitlines()
    assert lines[0] == "id,a.b,html,day"
    assert lines[4] == "4,nul,a\0b,10000-01-01"
    assert lines[5] == "5,latin-1,\ufffd,soon"
    assert len(lines) == 6


def test_cd022_export_refuses_nul_before_sending_anything(client) -> None:
    resp = client.get("/export.csv?table=main.events&q=cache%00hit")
    assert resp.status_code == 400
    assert "NUL character" in resp.get_data(as_text=True)
