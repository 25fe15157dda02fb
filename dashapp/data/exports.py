"""Downloads of a grid view in other forms than CSV: the Excel workbook (``xlsx``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from dashapp.data.catalog import Catalog
from dashapp.data.grid_query import parse_view, select_view
from dashapp.data.grid_service import stream_batches
from dashapp.data.xlsx import SHEET_ROWS, xlsx_chunks


def iter_xlsx(
    catalog: Catalog, key: str, request: Mapping[str, Any], *, sheet_rows: int = SHEET_ROWS
) -> Iterator[bytes]:
    """The rows of a view as an .xlsx workbook in chunks, streamed from a server-side cursor.

    As ``grid_service.iter_csv``: the query runs, and its first batch is read, before this
    returns (a bad request or a database that cannot answer is known before a byte is
    sent); a failure later raises DataUnavailable from the iterator, and the caller must
    then end the download as failed.
    """
    info = catalog.table(key)
    view = parse_view(info, request, catalog.dialect)
    batches = stream_batches(catalog, select_view(info, view, catalog.dialect))
    first = next(batches, [])
    return xlsx_chunks(
        [c.name for c in info.columns],
        _then(first, batches),
        title=info.name,
        kinds=[c.kind for c in info.columns],
        sheet_rows=sheet_rows,
    )


def _then(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    """``first``, then the rest; closing this closes ``rest`` (and its connection)."""
    yield first
    yield from rest
