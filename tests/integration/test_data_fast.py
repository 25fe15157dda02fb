"""Under real gunicorn: compressed, cached static files; Excel exports; a SQLite demo and a
PostgreSQL database side by side."""

from __future__ import annotations

import gzip
import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest

from components.ids import Data
from tests.callbacks.helpers import build_payload
from tests.conftest import LiveServer
from tests.grid_fixtures import TABLE, build_mixed

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """GET with headers; status, headers and the body as sent (not decompressed)."""
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_gf001_static_files_are_gzipped_and_cached_by_version(live_server: LiveServer) -> None:
    status, headers, html = get(live_server.url("/data?table=main.events"), **GZIP)
    assert status == 200
    refs = [r.decode() for r in re.findall(rb'(?:src|href)="([^"]+\.(?:js|css)[^"]*)"', html)]
    assert any("async-community.v" in r for r in refs)  # the grid's code comes with the page
    sent = raw = 0
    for ref in refs:
        status, headers, body = get(live_server.base + ref, **GZIP)
        assert status == 200, ref
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable", ref
        assert "Accept-Encoding" in headers["Vary"]
        sent += len(body)
        if headers.get("Content-Encoding") != "gzip":
            assert len(body) < 1024, ref  # only what is too small to be worth it goes plain
            raw += len(body)
            continue
        raw += len(gzip.decompress(body))
        # The strict CSP rides along on every file.
        assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert sent < raw * 0.3, (sent, raw)

    # The icon font is compressed already: sent as it is, but cached by its version too.
    css = gzip.decompress(get(live_server.url("assets/01_bootstrap-icons.min.css"), **GZIP)[2])
    font = re.search(rb'url\("?\.?/?(fonts/bootstrap-icons\.woff2\?[0-9a-f]+)', css).group(1)
    status, headers, _ = get(live_server.url("assets/" + font.decode()), **GZIP)
    assert status == 200
    assert "Content-Encoding" not in headers
    assert headers["Cache-Control"].endswith("immutable")

    # An address without a version is revalidated, and unchanged it costs a 304.
    chunk = live_server.url("_dash-component-suites/dash_ag_grid/async-community.js")
    status, headers, _ = get(chunk, **GZIP)
    assert headers["Cache-Control"] == "no-cache"
    status, _, body = get(chunk, **{**GZIP, "If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    # A client that does not take gzip gets the file as it is.
    status, headers, body = get(chunk)
    assert "Content-Encoding" not in headers
    assert body.endswith(b"//# sourceMappingURL=async-community.js.map")


def test_gf002_excel_exports_stream_through_gunicorn(live_server: LiveServer) -> None:
    flt = json.dumps({"event_type": {"filterType": "text", "type": "equals", "filter": "login"}})
    query = urllib.parse.urlencode({"table": "main.events", "filter": flt})
    status, headers, csv_bytes = get(live_server.url(f"export.csv?{query}&bom=1"), **GZIP)
    assert status == 200
    assert headers.get("Transfer-Encoding") == "chunked"  # streamed, not compressed
    assert "Content-Encoding" not in headers
    assert csv_bytes.startswith(b"\xef\xbb\xbfid,")
    lines = csv_bytes.decode("utf-8-sig").splitlines()
    status, headers, xlsx = get(live_server.url(f"export.xlsx?{query}"), **GZIP)
    assert status == 200
    assert headers.get("Transfer-Encoding") == "chunked"
    assert 'filename="main.events.xlsx"' in headers["Content-Disposition"]
    sheet = zipfile.ZipFile(io.BytesIO(xlsx)).read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == len(lines)  # header and the same rows as the CSV
    assert sheet.count("<t>login</t>") == len(lines) - 1
    assert get(live_server.url("export.xlsx?table=main.events&sort=[1"))[0] == 400


def contexts(node):
    """Every grid ``context`` in a layout's JSON."""
    if isinstance(node, dict):
        if isinstance(node.get("dashGridOptions"), dict):
            yield node["dashGridOptions"].get("context")
        for value in node.values():
            yield from contexts(value)
    elif isinstance(node, list):
        for value in node:
            yield from contexts(value)


@pytest.fixture
def two_databases(pg_url: str, start_server, tmp_path: Path) -> LiveServer:
    """The demo SQLite database (default) and a PostgreSQL one named ``pg``, a third down."""
    build_mixed(pg_url)
    demo = tmp_path / "demo.sqlite"
    return start_server(
        DASHAPP_DATABASE_URL=f"sqlite:///{demo}",
        DASHAPP_DATA_DIR=str(tmp_path),
        DASHAPP_DATABASES=f"pg={pg_url},down=postgresql://nobody@127.0.0.1:1/none",
        DASHAPP_DATA_DENY="pg:public.pairs",
    )


def test_gf003_a_sqlite_demo_and_a_postgresql_database_side_by_side(two_databases) -> None:
    server = two_databases
    key = f"pg:public.{TABLE}"
    deps = json.loads(get(server.url("_dash-dependencies"))[2])

    def call(output: str, values: dict) -> dict:
        body = json.dumps(build_payload(deps, output, values)).encode()
        req = urllib.request.Request(
            server.url("_dash-update-component"),
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())["response"]

    picker = call(f"{Data.PICKER}.options", {f"{Data.STATE}.data": {"table": key}})
    values = [o["value"] for o in picker[Data.PICKER]["options"]]
    assert values.index("default:") < values.index("main.events") < values.index("pg:")
    assert key in values
    assert "pg:public.pairs" not in values  # denied for that source only
    assert picker[Data.PICKER]["value"] == key
    # The source that is down is named in the banner; the others still list.
    assert "down: The database is not reachable" in picker[Data.BANNER]["children"]

    request = {"startRow": 0, "endRow": 10, "sortModel": [{"colId": "id", "sort": "desc"}]}
    rows = call(
        f"{Data.GRID}.getRowsResponse",
        {
            f"{Data.GRID}.getRowsRequest": {**request, "context": {"table": key}},
            f"{Data.QUICK}.value": "",
        },
    )[Data.GRID]["getRowsResponse"]
    assert rows["rowCount"] == 80
    assert [r["id"] for r in rows["rowData"][:3]] == [80, 79, 78]
    demo = call(
        f"{Data.GRID}.getRowsResponse",
        {
            f"{Data.GRID}.getRowsRequest": {**request, "context": {"table": "main.teams"}},
            f"{Data.QUICK}.value": "",
        },
    )[Data.GRID]["getRowsResponse"]
    assert demo["rowCount"] == 12

    # The link names the source; its grid comes with the first response.
    page = server.url("data?" + urllib.parse.urlencode({"table": key}))
    layout = json.loads(get(server.url("_dash-layout"), Referer=page)[2])
    assert key in [c.get("table") for c in contexts(layout)]
    status, _, csv_bytes = get(server.url("export.csv?" + urllib.parse.urlencode({"table": key})))
    assert status == 200
    assert len(csv_bytes.decode().splitlines()) == 81
    # A source that is down: a 503 before the first byte, with the reason.
    status, _, body = get(server.url("export.xlsx?table=down:public.events"))
    assert status == 503
    assert b"not reachable" in body
