"""The streamed XLSX writer: a valid workbook, typed values, odd text, sheets past Excel's limit."""

from __future__ import annotations

import importlib.util
import io
import warnings
import xml.etree.ElementTree as ET
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest

from dashapp.data.xlsx import SHEET_ROWS, column_letters, xlsx_chunks

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
HEADER = ["id", "name", "price", "ok", "day", "at", "big", "note"]


def book(rows, *, batches: int = 1, **kw) -> zipfile.ZipFile:
    data = b"".join(xlsx_chunks(HEADER, [rows] * batches, **kw))
    return zipfile.ZipFile(io.BytesIO(data))


def sheet_rows(zf: zipfile.ZipFile, number: int = 1) -> list[dict[str, tuple[str | None, str]]]:
    """Each row as {cell ref: (type, text)} from the sheet's XML."""
    root = ET.fromstring(zf.read(f"xl/worksheets/sheet{number}.xml"))
    out = []
    for row in root.iterfind("m:sheetData/m:row", NS):
        cells = {}
        for c in row.iterfind("m:c", NS):
            text = "".join(c.itertext())
            cells[c.get("r")] = (c.get("t"), text)
        out.append(cells)
    return out


ROW = [
    7,
    'R&D <b>"x"</b>',
    Decimal("12.50"),
    True,
    date(2024, 1, 2),
    datetime(2024, 1, 2, 6, 0),
    2**60,
    None,
]


def test_xl001_a_workbook_of_well_formed_parts() -> None:
    zf = book([ROW])
    assert zf.testzip() is None
    names = zf.namelist()
    for part in (
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
    ):
        assert part in names
        ET.fromstring(zf.read(part))  # well-formed
    sheets = ET.fromstring(zf.read("xl/workbook.xml")).findall("m:sheets/m:sheet", NS)
    assert [s.get("name") for s in sheets] == ["data"]


def test_xl002_values_keep_their_types() -> None:
    rows = sheet_rows(book([ROW]))
    assert rows[0]["A1"] == ("inlineStr", "id")
    data = rows[1]
    assert data["A2"] == (None, "7")
    assert data["B2"] == ("inlineStr", 'R&D <b>"x"</b>')  # text, never markup or a formula
    assert data["C2"] == (None, "12.50")
    assert data["D2"] == ("b", "1")
    assert data["E2"] == (None, "45293")  # Excel's day number of 2024-01-02
    assert data["F2"] == (None, "45293.25")
    assert data["G2"] == ("inlineStr", str(2**60))  # would lose digits as a number
    assert "H2" not in data  # NULL: no cell


def test_xl003_odd_text_and_values_excel_cannot_hold() -> None:
    odd = [1, "a\x00b\x1fc", float("nan"), False, date(1899, 12, 31), None, "x" * 40_000, " pad "]
    cells = sheet_rows(book([odd]))[1]
    assert cells["B2"] == ("inlineStr", "a\ufffdb\ufffdc")
    assert cells["C2"] == ("inlineStr", "nan")
    assert cells["D2"] == ("b", "0")
    assert cells["E2"] == ("inlineStr", "1899-12-31")
    long = cells["G2"][1]
    assert len(long) == 32_767
    assert long.endswith("…")
    assert cells["H2"] == ("inlineStr", " pad ")


def test_xl004_rows_past_a_sheet_go_on_to_the_next_sheet() -> None:
    rows = [[i, f"n{i}", None, None, None, None, None, None] for i in range(1, 6)]
    zf = book(rows, batches=2, sheet_rows=4, title="main.events")  # 10 rows, 4 a sheet
    sheets = ET.fromstring(zf.read("xl/workbook.xml")).findall("m:sheets/m:sheet", NS)
    assert [s.get("name") for s in sheets] == ["rows 1-4", "rows 5-8", "rows 9-10"]
    ids = []
    for number in (1, 2, 3):
        rows_xml = sheet_rows(zf, number)
        assert rows_xml[0]["A1"] == ("inlineStr", "id")  # each sheet has the header
        # Numbered from row 2 on each sheet.
        refs = [next(iter(r)) for r in rows_xml[1:]]
        assert refs == [f"A{n}" for n in range(2, 2 + len(refs))]
        ids += [int(r[ref][1]) for r, ref in zip(rows_xml[1:], refs, strict=True)]
    assert ids == list(range(1, 6)) * 2  # every row, in order, none twice
    rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    assert rels.count('Target="worksheets/') == 3
    assert SHEET_ROWS == 1_048_575  # Excel's 1,048,576 rows, less the header


def test_xl005_an_empty_view_is_a_header_row_named_after_the_table() -> None:
    zf = zipfile.ZipFile(io.BytesIO(b"".join(xlsx_chunks(HEADER, [], title="main.a/b"))))
    assert len(sheet_rows(zf)) == 1
    sheets = ET.fromstring(zf.read("xl/workbook.xml")).findall("m:sheets/m:sheet", NS)
    assert [s.get("name") for s in sheets] == ["main.a_b"]


def test_xl006_the_workbook_streams_batch_by_batch() -> None:
    rows = [[i, "text " * 20, 1.5, True, None, None, None, None] for i in range(2_000)]
    chunks = xlsx_chunks(HEADER, iter([rows] * 20))
    sizes = [len(c) for c in chunks]
    assert len(sizes) == 21  # a chunk per batch, then the end of the zip
    # What goes out per batch is that batch's compressed XML, not the file so far.
    assert max(sizes) < 3 * sorted(sizes)[len(sizes) // 2]


def test_xl007_column_letters() -> None:
    assert [column_letters(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


@pytest.mark.skipif(importlib.util.find_spec("openpyxl") is None, reason="openpyxl not installed")
def test_xl008_openpyxl_reads_it_as_written() -> None:
    import openpyxl

    data = b"".join(xlsx_chunks(HEADER, [[ROW]], title="events"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["events"]
    assert ws.freeze_panes == "A2"
    values = list(ws.iter_rows(values_only=True))
    assert values[0] == tuple(HEADER)
    assert values[1][:6] == (
        7,
        'R&D <b>"x"</b>',
        12.5,
        True,
        datetime(2024, 1, 2),
        datetime(2024, 1, 2, 6),
    )
