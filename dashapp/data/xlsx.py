"""An Excel workbook (.xlsx) written as a stream, in constant memory, with the standard library.

An .xlsx file is a zip of XML parts. ``zipfile`` writes one to a stream it cannot seek (a
data descriptor after each part), so each batch of rows becomes XML, is deflated into the
current sheet's part, and the bytes compressed so far go out: memory holds one batch,
whatever the number of rows.

Values keep their type where Excel has one: numbers, booleans, dates and timestamps (as
Excel date numbers with a date format). Text is written inline (never a shared-strings table,
which would hold every distinct string), and Excel never reads it as a formula. What Excel
cannot hold exactly is written as text: integers past 2^53, decimals of more than 15 digits,
NaN and infinity, dates before 1900-03-01. Characters XML 1.0 forbids (control characters)
become U+FFFD, and a text longer than Excel's 32,767 characters is cut there, ending in "…".

A sheet holds at most 1,048,576 rows (Excel's limit): the header and 1,048,575 data rows.
More rows continue on further sheets, each with the header again, named by the rows they
hold ("rows 1-1048575", "rows 1048576-…"), so a large view is never cut silently.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from dashapp.data.json_values import to_json_value

SHEET_ROWS = 1_048_575  # data rows per sheet: Excel's 1,048,576 rows less the header
MAX_TEXT = 32_767  # Excel's longest cell text
EXACT_INT = 2**53  # Excel keeps numbers as doubles: larger integers would lose digits
EPOCH = datetime(1899, 12, 30)  # Excel's day 0, right for every date from 1900-03-01 on
FIRST_DATE = datetime(1900, 3, 1)
ZIP64_OVER = 1_500_000_000  # expected sheet XML bytes past which the part is written as Zip64
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
STYLE_HEADER, STYLE_DATE, STYLE_STAMP = 1, 2, 3
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
CONTENT_TYPES = (
    XML_HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    # Every .xml part not named below is a worksheet: the sheets can be counted at the end.
    '<Default Extension="xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/></Types>'
)
ROOT_RELS = (
    XML_HEAD + f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
STYLES = (
    XML_HEAD + f'<styleSheet xmlns="{MAIN}"><numFmts count="2">'
    '<numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
WIDTHS = {"number": 14, "date": 12, "datetime": 20, "bool": 8}


def column_letters(index: int) -> str:
    """Excel's name of the column at 0-based ``index`` (A, B, … Z, AA, …)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def text_xml(value: str) -> str:
    """Text as the content of an XML element: escaped, forbidden characters replaced, capped."""
    if len(value) > MAX_TEXT:
        value = value[: MAX_TEXT - 1] + "…"
    value = ILLEGAL_XML.sub("\ufffd", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text_cell(ref: str, value: str, style: str = "") -> str:
    """An inline-string cell (spaces at either end kept)."""
    space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
    return f'<c r="{ref}" t="inlineStr"{style}><is><t{space}>{text_xml(value)}</t></is></c>'


def _stamp_cell(ref: str, value: datetime) -> str:
    """A timestamp as an Excel date number, or text outside the dates Excel shows."""
    naive = value.replace(tzinfo=None)  # the wall time as the database gave it
    if naive < FIRST_DATE:
        return _text_cell(ref, value.isoformat(sep=" "))
    days = (naive - EPOCH).total_seconds() / 86400
    return f'<c r="{ref}" s="{STYLE_STAMP}"><v>{days!r}</v></c>'


def _date_cell(ref: str, value: date) -> str:
    """A date as an Excel day number, or text before 1900-03-01."""
    if value < FIRST_DATE.date():
        return _text_cell(ref, value.isoformat())
    return f'<c r="{ref}" s="{STYLE_DATE}"><v>{(value - EPOCH.date()).days}</v></c>'


def cell_xml(ref: str, value: Any) -> str:
    """One cell: ``ref`` (e.g. ``B7``) holding a database value ('' for NULL: no cell)."""
    kind = type(value)
    if value is None:
        return ""
    if kind is int and -EXACT_INT < value < EXACT_INT:
        return f'<c r="{ref}"><v>{value}</v></c>'
    if kind is float and math.isfinite(value):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if kind is str:
        return _text_cell(ref, value)
    if kind is bool:
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        return _stamp_cell(ref, value)
    if isinstance(value, date):
        return _date_cell(ref, value)
    if isinstance(value, Decimal) and value.is_finite() and len(value.as_tuple().digits) <= 15:
        return f'<c r="{ref}"><v>{value}</v></c>'
    shown = to_json_value(value, truncate=None)  # big integers, JSON, bytes, … as their text
    return (
        cell_xml(ref, shown) if type(shown) in (int, float, bool) else _text_cell(ref, str(shown))
    )


class _Sink(io.RawIOBase):
    """A write-only, unseekable file that hands out what was written since last asked."""

    def __init__(self) -> None:
        """Empty."""
        self._parts: list[bytes] = []
        self._offset = 0

    def writable(self) -> bool:
        """Yes."""
        return True

    def write(self, data: Any) -> int:
        """Keep ``data`` until ``take``."""
        chunk = bytes(data)
        self._parts.append(chunk)
        self._offset += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        """Bytes written so far (zipfile records where each part starts)."""
        return self._offset

    def take(self) -> bytes:
        """What was written since the last call."""
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def sheet_name(title: str, first: int, last: int, several: bool) -> str:
    """A sheet's name: the title, or with several sheets the rows it holds (31 characters)."""
    if several:
        return f"rows {first}-{last}"
    name = SHEET_NAME_BAD.sub("_", title).strip("'")[:31]
    return name if name and name.lower() != "history" else "data"


class _Sheet:
    """One worksheet part being written."""

    def __init__(self, book: zipfile.ZipFile, number: int, head: str, zip64: bool) -> None:
        """Open ``xl/worksheets/sheet<number>.xml`` and write ``head`` (up to the header row)."""
        self.part: IO[bytes] = book.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=zip64)
        self.part.write(head.encode())
        self.rows = 0  # data rows written

    def add(self, rows: Sequence[Sequence[Any]], letters: Sequence[str]) -> None:
        """Append data rows (``letters``: the column names A, B, …)."""
        out = []
        for row in rows:
            self.rows += 1
            r = str(self.rows + 1)
            cells = "".join([cell_xml(c + r, v) for c, v in zip(letters, row, strict=False)])
            out.append(f'<row r="{r}">{cells}</row>')
        self.part.write("".join(out).encode())

    def close(self) -> None:
        """End the part."""
        self.part.write(b"</sheetData></worksheet>")
        self.part.close()


def sheet_head(header: Sequence[str], kinds: Sequence[str]) -> str:
    """A sheet's XML up to and including its header row: frozen header, column widths."""
    letters = [column_letters(i) for i in range(len(header))]
    kinds = [*kinds, *[""] * len(header)]
    cols = "".join(
        f'<col min="{i}" max="{i}" customWidth="1" '
        f'width="{WIDTHS.get(kind, min(60, max(10, len(name) + 2)))}"/>'
        for i, (name, kind) in enumerate(zip(header, kinds, strict=False), start=1)
    )
    cells = "".join(
        _text_cell(f"{c}1", n, f' s="{STYLE_HEADER}"') for c, n in zip(letters, header, strict=True)
    )
    return (
        XML_HEAD + f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><sheetViews>'
        '<sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft"'
        ' state="frozen"/></sheetView></sheetViews>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + f'<sheetData><row r="1">{cells}</row>'
    )


def workbook_parts(names: Sequence[str]) -> tuple[str, str]:
    """``xl/workbook.xml`` and its relationships for sheets called ``names``."""
    sheets = "".join(
        f'<sheet name="{text_xml(n)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, n in enumerate(names, start=1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(names) + 1)
    )
    styles = f'<Relationship Id="rId{len(names) + 1}" Type="{REL}/styles" Target="styles.xml"/>'
    return (
        XML_HEAD + f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{sheets}</sheets></workbook>',
        XML_HEAD + f'<Relationships xmlns="{PKG_REL}">{rels}{styles}</Relationships>',
    )


def xlsx_chunks(
    header: Sequence[str],
    batches: Iterable[Sequence[Sequence[Any]]],
    *,
    title: str = "data",
    kinds: Sequence[str] = (),
    sheet_rows: int = SHEET_ROWS,
) -> Iterator[bytes]:
    """The bytes of a workbook of ``header`` and the rows of ``batches``, as they are made.

    ``kinds``: the columns' kinds (``dashapp.data.catalog``), for their widths. An exception
    from ``batches`` (the database failing) leaves this iterator without the zip's end: the
    caller must then break the download off, not end it as if complete.
    """
    sink = _Sink()
    book = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
    book.writestr("[Content_Types].xml", CONTENT_TYPES)
    book.writestr("_rels/.rels", ROOT_RELS)
    book.writestr("xl/styles.xml", STYLES)
    head, letters = sheet_head(header, kinds), [column_letters(i) for i in range(len(header))]
    ranges: list[tuple[int, int]] = []  # first and last data row of each finished sheet
    sheet: _Sheet | None = None
    zip64, done = False, 0
    for batch in batches:
        if sheet is None and batch:  # a part over 2 GiB needs Zip64, decided before writing it
            row_bytes = sum(len(cell_xml("AA1000000", v)) for v in batch[0]) + 24
            zip64 = row_bytes * sheet_rows > ZIP64_OVER
        at = 0
        while at < len(batch):
            if sheet is None or sheet.rows == sheet_rows:
                if sheet is not None:
                    sheet.close()
                    ranges.append((done - sheet.rows + 1, done))
                sheet = _Sheet(book, len(ranges) + 1, head, zip64)
            take = batch[at : at + sheet_rows - sheet.rows]
            sheet.add(take, letters)
            at += len(take)
            done += len(take)
        yield sink.take()
    if sheet is None:  # no rows: the header alone
        sheet = _Sheet(book, 1, head, False)
    sheet.close()
    ranges.append((done - sheet.rows + 1, done))
    several = len(ranges) > 1
    workbook, rels = workbook_parts([sheet_name(title, a, b, several) for a, b in ranges])
    book.writestr("xl/workbook.xml", workbook)
    book.writestr("xl/_rels/workbook.xml.rels", rels)
    book.close()
    yield sink.take()
