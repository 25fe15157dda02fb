"""The Data page's first response, its Excel exports, several sources and compressed files,
driven headlessly through the Flask test client."""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from callbacks import data as cb
from components.ids import Data
from dashapp.app import create_app, deps_of
from dashapp.settings import Settings
from tests.callbacks.helpers import post_callback

REQ = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}


def find(node, wanted_id: str):
    """The component with id ``wanted_id`` in a layout's JSON, or None."""
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == wanted_id:
            return node
        return next(
            (f for v in node.values() if (f := find(v, wanted_id)) is not None),
            None,
        )
    if isinstance(node, list):
        return next((f for v in node if (f := find(v, wanted_id)) is not None), None)
    return None


def first_layout(client, page: str | None, host: str = "localhost") -> dict:
    headers = {"Referer": f"http://{host}{page}"} if page else {}
    resp = client.get("/_dash-layout", headers=headers)
    assert resp.status_code == 200
    return resp.get_json()


def test_cf001_a_linked_table_comes_with_the_first_response(client) -> None:
    layout = first_layout(client, "/data?table=main.events&q=login")
    grid = find(layout, Data.GRID)
    assert grid is not None, "the grid is not in the layout"
    props = grid["props"]
    assert [c["field"] for c in props["columnDefs"]][:3] == ["id", "occurred_at", "user_id"]
    # The table and the view's set filters and grouping travel with every block request.
    explore = {"filter": {}, "sort": [], "sets": {}, "group": None}
    assert props["dashGridOptions"]["context"] == {"table": "main.events", "explore": explore}
    location = find(layout, "_pages_location")["props"]
    assert (location["pathname"], location["search"]) == ("/data", "?table=main.events&q=login")
    assert find(layout, "_pages_store")["props"]["data"] == {"title": "Data · dashapp"}
    assert find(layout, Data.QUICK)["props"]["value"] == "login"
    state = find(layout, Data.STATE)["props"]["data"]
    assert state["shown"] == "main.events"
    assert find(layout, Data.COLUMNS)["props"]["value"][0] == "id"


def test_cf011_under_a_url_prefix(tmp_path: Path) -> None:
    app = create_app(
        Settings(data_dir=tmp_path / "data", demo_rows=5_000, url_prefix="/tools/dashapp/")
    )
    client = app.server.test_client()
    page = "http://localhost/tools/dashapp/data?table=main.users"
    layout = client.get("/tools/dashapp/_dash-layout", headers={"Referer": page}).get_json()
    assert find(layout, Data.GRID) is not None
    location = find(layout, "_pages_location")["props"]
    assert (location["pathname"], location["search"]) == (
        "/tools/dashapp/data",
        "?table=main.users",
    )
    # A page of the same host outside the prefix is not one of ours.
    other = "http://localhost/data?table=main.users"
    layout = client.get("/tools/dashapp/_dash-layout", headers={"Referer": other}).get_json()
    assert find(layout, Data.GRID) is None
    html = client.get("/tools/dashapp/data").get_data(as_text=True)
    assert "/tools/dashapp/_dash-component-suites/dash_ag_grid/async-community.v" in html
    deps_of(app).dispose()


@pytest.mark.parametrize(
    ("page", "host"),
    [
        (None, "localhost"),  # no Referer: Dash's pages callback fills the page, as before
        ("/data?table=main.events", "elsewhere.example"),  # another site's page
        ("/?table=main.events", "localhost"),  # only the Data page comes this way
        ("/data", "localhost"),  # no table named: the picker chooses one
    ],
)
def test_cf002_otherwise_the_page_comes_as_before(client, page, host) -> None:
    layout = first_layout(client, page, host)
    assert find(layout, Data.GRID) is None
    content = find(layout, "_pages_content")
    if page == "/data":
        assert find(content, Data.PICKER) is not None
        assert "shown" not in find(content, Data.STATE)["props"]["data"]
    else:
        assert content["props"].get("children") is None


@pytest.mark.parametrize(
    "query",
    [
        "table=main.nope",
        "table=main.events&filter=%7Bbad&sort=1",
        "table=%3Cscript%3Ealert(1)%3C/script%3E",
        "table=main.events&table=main.users",
        "table=nope:main.events",
        "table=main.events&shown=main.users",
    ],
)
def test_cf003_hostile_links_in_the_first_response(client, query) -> None:
    resp = client.get("/_dash-layout", headers={"Referer": f"http://localhost/data?{query}"})
    assert resp.status_code == 200
    layout = resp.get_json()
    state = find(layout, Data.STATE)["props"]["data"]
    grid = find(layout, Data.GRID)
    if "filter=%7Bbad" in query:  # the table opens; the unreadable filter is reported
        assert grid is not None
        assert state["warnings"] == [
            "ignored an unreadable sort in the link",
            "ignored an unreadable filter in the link",
        ]
    elif query.endswith("shown=main.users"):  # a parameter of the link cannot fake it
        assert state["shown"] == "main.events"
    else:
        assert grid is None
        assert "shown" not in state


def test_cf004_the_picker_leaves_a_shown_table_alone(client) -> None:
    state = {"table": "main.events", "shown": "main.events", "sort": [], "filter": {}}
    _, body = post_callback(client, "/", f"{Data.PICKER}.options", {f"{Data.STATE}.data": state})
    picker = body["response"][Data.PICKER]
    assert "value" not in picker  # no update: the grid that came with the page stays
    assert any(o["value"] == "main.users" for o in picker["options"])
    del state["shown"]
    _, body = post_callback(client, "/", f"{Data.PICKER}.options", {f"{Data.STATE}.data": state})
    assert body["response"][Data.PICKER]["value"] == "main.events"


def test_cf005_the_rows_callback_needs_nothing_but_the_request(client) -> None:
    deps = client.get("/_dash-dependencies").get_json()
    rows = next(d for d in deps if "getRowsResponse" in d["output"])
    # Only the quick search, which no callback writes: Dash would hold a block back until a
    # callback writing its state (the picker's list of tables) had answered.
    assert [s["id"] for s in rows["state"]] == [Data.QUICK]
    outputs = {o for d in deps for o in d["output"].strip(".").split("...")}
    assert f"{Data.QUICK}.value" not in outputs
    request = {**REQ, "context": {"table": "main.users"}}
    _, body = post_callback(
        client,
        "/",
        f"{Data.GRID}.getRowsResponse",
        {f"{Data.GRID}.getRowsRequest": request, f"{Data.QUICK}.value": ""},
    )
    assert body["response"][Data.GRID]["getRowsResponse"]["rowCount"] == 2_000
    for context in (None, "main.users", {"table": 7}, {"table": "main.sqlite_master"}):
        _, body = post_callback(
            client,
            "/",
            f"{Data.GRID}.getRowsResponse",
            {
                f"{Data.GRID}.getRowsRequest": {**REQ, "context": context},
                f"{Data.QUICK}.value": "",
            },
        )
        assert body["response"][Data.GRID]["getRowsResponse"]["rowCount"] == 0


def test_cf006_excel_exports(client) -> None:
    link = "table=main.events&sort=%5B%7B%22colId%22%3A%22id%22%2C%22sort%22%3A%22desc%22%7D%5D"
    resp = client.get(f"/export.csv?{link}&bom=1")
    assert resp.status_code == 200
    text = resp.get_data()
    assert text.startswith(b"\xef\xbb\xbfid,occurred_at")  # UTF-8 with a byte-order mark
    assert not client.get(f"/export.csv?{link}").get_data().startswith(b"\xef\xbb\xbf")
    resp = client.get(f"/export.xlsx?{link}")
    assert resp.status_code == 200
    assert resp.is_streamed
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="main.events.xlsx"' in resp.headers["Content-Disposition"]
    zf = zipfile.ZipFile(io.BytesIO(resp.get_data()))
    sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == 5_001
    assert '<row r="2"><c r="A2"><v>5000</v></c>' in sheet
    assert client.get("/export.xlsx?table=main.nope").status_code == 400
    bad = client.get("/export.xlsx?table=main.events&q=a%00b")
    assert bad.status_code == 400
    assert "NUL character" in bad.get_data(as_text=True)
    assert client.get("/export.xlsx?table=main.events&filter=%7B").status_code == 400


def test_cf007_a_database_down_is_a_503_before_the_first_byte(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    app = create_app(settings)
    client = app.server.test_client()
    for path in ("/export.xlsx?table=public.events", "/export.csv?table=public.events&bom=1"):
        resp = client.get(path)
        assert resp.status_code == 503
        assert "not reachable" in resp.get_data(as_text=True)
    deps_of(app).dispose()


@pytest.fixture
def two_sources(tmp_path: Path):
    """The demo database (default) and a second SQLite file called ``lab``."""
    lab = tmp_path / "lab.sqlite"
    db = sqlite3.connect(lab)
    db.execute("CREATE TABLE samples (id INTEGER PRIMARY KEY, label TEXT)")
    db.executemany("INSERT INTO samples VALUES (?, ?)", [(i, f"s{i}") for i in range(1, 31)])
    db.execute("CREATE TABLE secret (id INTEGER)")
    db.commit()
    db.close()
    settings = Settings(
        data_dir=tmp_path / "data",
        demo_rows=5_000,
        databases=(("lab", f"sqlite:///{lab}"),),
        data_deny=("lab:main.secret",),
        database_url=f"sqlite:///{(tmp_path / 'data').resolve()}/demo.sqlite",
    )
    app = create_app(settings)
    yield app
    deps_of(app).dispose()


def test_cf008_two_sources_picker_rows_link_and_export(two_sources) -> None:
    client = two_sources.server.test_client()
    deps = deps_of(two_sources)
    sources = [(n, deps.catalog_of(n)) for n in deps.source_names]
    options, value, warning = cb.load_tables(sources, {"table": "lab:main.samples"})
    assert warning is None
    assert value == "lab:main.samples"
    values = [o["value"] for o in options]
    # Grouped: a heading per source, then its tables; the default source's keep their keys.
    assert values[0] == "default:"
    assert options[0]["disabled"]
    assert "main.events" in values
    assert values.index("lab:") < values.index("lab:main.samples")
    assert "lab:main.secret" not in values
    assert options[values.index("lab:main.samples")]["label"] == "main.samples — 30 rows"

    request = {**REQ, "context": {"table": "lab:main.samples"}}
    _, body = post_callback(
        client,
        "/",
        f"{Data.GRID}.getRowsResponse",
        {f"{Data.GRID}.getRowsRequest": request, f"{Data.QUICK}.value": "s2"},
    )
    block = body["response"][Data.GRID]["getRowsResponse"]
    assert block["rowCount"] == 11  # s2, s20-s29
    assert block["rowData"][0] == {"id": 2, "label": "s2"}

    layout = first_layout(client, "/data?table=lab:main.samples")
    grid = find(layout, Data.GRID)["props"]
    assert grid["dashGridOptions"]["context"]["table"] == "lab:main.samples"
    assert [c["field"] for c in grid["columnDefs"]] == ["id", "label"]

    csv_text = client.get("/export.csv?table=lab:main.samples&q=s3").get_data(as_text=True)
    assert csv_text.splitlines() == ["id,label", "3,s3", "30,s30"]
    assert client.get("/export.csv?table=lab:main.secret").status_code == 400
    # An old link without a source still opens the default one.
    assert client.get("/export.csv?table=main.teams").status_code == 200


def fetch(client, path: str, **headers: str):
    """GET ``path``, read, closed (a file response holds its file open until closed)."""
    resp = client.get(path, headers={k.replace("_", "-"): v for k, v in headers.items()})
    resp.get_data()
    resp.close()
    return resp


def test_cf009_static_files_and_json_go_out_gzipped_with_cache_headers(client) -> None:
    page = client.get("/data").get_data(as_text=True)
    suite = next(
        part.split('"')[0]
        for part in page.split('src="')[1:]
        if "dash_ag_grid.v" in part.split('"')[0]
    )
    gz = {"Accept_Encoding": "gzip, deflate, br"}
    resp = fetch(client, suite, **gz)
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in resp.headers["Vary"]
    body = gzip.decompress(resp.get_data())
    assert int(resp.headers["Content-Length"]) == len(resp.get_data()) < len(body) // 3
    plain = fetch(client, suite)
    assert "Content-Encoding" not in plain.headers
    assert plain.get_data() == body

    # An unversioned address is revalidated: its ETag (of the gzip form) gives a 304.
    resp = fetch(client, "/assets/dashapp.js", **gz)
    assert resp.headers["Cache-Control"] == "no-cache"
    etag = resp.headers["ETag"]
    assert etag.endswith('-gzip"')
    again = fetch(client, "/assets/dashapp.js", If_None_Match=etag, **gz)
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    versioned = fetch(client, "/assets/dashapp.js?m=1795964283.87", **gz)
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    deps_json = fetch(client, "/_dash-dependencies", **gz)
    assert deps_json.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(deps_json.get_data()))
    # Not compressed: the layout (it may hold a session's form token), a streamed export.
    assert "Content-Encoding" not in fetch(client, "/_dash-layout", **gz).headers
    export = client.get("/export.csv?table=main.events", headers={"Accept-Encoding": "gzip"})
    assert export.is_streamed
    assert "Content-Encoding" not in export.headers
    export.close()
    refused = fetch(client, "/assets/dashapp.js", Accept_Encoding="gzip;q=0, identity")
    assert "Content-Encoding" not in refused.headers


def test_cf010_the_data_page_names_the_grid_code_in_its_html(client) -> None:
    data_page = client.get("/data?table=main.events").get_data(as_text=True)
    assert "/_dash-component-suites/dash_ag_grid/async-community.v" in data_page
    assert "defer" in data_page.split("async-community.v")[1][:80]
    home = client.get("/").get_data(as_text=True)
    assert "async-community" not in home
