"""How database values reach the grid, and how a shared link is read back."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
)

from dashapp.data.json_values import column_shaper, shape_rows, to_json_value
from dashapp.data.links import parse_query


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, None),
        (True, True),
        ("", ""),
        (42, 42),
        (2**60, str(2**60)),  # beyond what JavaScript numbers hold exactly
        (Decimal("12.50"), 12.5),
        (Decimal("12345678901234567.89"), "12345678901234567.89"),
        (float("nan"), "nan"),
        (datetime(2024, 5, 1, 13, 4, 5), "2024-05-01 13:04:05"),
        (datetime(2024, 5, 1, 13, 4, 5, 120000), "2024-05-01 13:04:05.120000"),
        (datetime(2024, 5, 1, 13, 4, 5, tzinfo=UTC), "2024-05-01 13:04:05+00:00"),
        (date(2024, 5, 1), "2024-05-01"),
        (time(13, 4), "13:04:00"),
        (b"\x00\x01\x02", "⟨binary, 3 bytes⟩"),
        ({"a": [1, 2], "é": None}, '{"a": [1, 2], "é": null}'),
        ([1, "two"], '[1, "two"]'),
    ],
)
def test_gv001_values_are_readable_and_json_safe(value, shown) -> None:
    assert to_json_value(value) == shown


def test_gv002_long_text_is_truncated_for_the_grid_only() -> None:
    long = "x" * 2000
    assert to_json_value(long) == "x" * 500 + "…"
    assert to_json_value(long, truncate=None) == long


def test_gv003_link_state_round_trip_and_garbage() -> None:
    state = parse_query(
        {
            "table": "main.events",
            "sort": '[{"colId":"id","sort":"desc"}]',
            "filter": '{"a":{}}',
            "q": "hi",
        }
    )
    assert state == {
        "table": "main.events",
        "sort": [{"colId": "id", "sort": "desc"}],
        "filter": {"a": {}},
        "quick": "hi",
        # The parts of a view a link may also carry (issue 15), absent here.
        "columns": None,
        "group": None,
        "chart": None,
        "grid_filter": {"a": {}},
        "sets": {},
    }
    bad = parse_query({"table": "main.events", "sort": "{not json", "filter": "[1]"})
    assert bad["sort"] == []
    assert bad["filter"] == {}
    assert len(bad["warnings"]) == 2


_NOW = datetime(2024, 5, 1, 13, 4, 5, 120000)
# (SQL type, values PostgreSQL's driver returns for it, extra values SQLite may hold)
_COLUMNS = [
    (Integer(), [1, -7, None], ["text in an integer column", 2**60, 1.5]),
    (BigInteger(), [1, 2**60, -(2**60), None], ["x"]),
    (Float(), [1.5, float("nan"), float("-inf"), None], [3, "x"]),
    (Numeric(10, 2), [Decimal("12.50"), Decimal("NaN"), None], [1.25, "x"]),
    (Numeric(), [Decimal("12345678901234567.89"), Decimal("1.5"), None], ["x"]),
    (DateTime(), [_NOW, _NOW.replace(tzinfo=UTC), None], ["2024-05-01 bad", 5]),
    (DateTime(timezone=True), [_NOW.replace(tzinfo=UTC), None], []),
    (String(20), ["short", "", None], [12]),
    (Text(), ["x" * 2000, "y" * 501, "z" * 500, "", "é" * 10, None], [b"\x00", 3]),
    (Boolean(), [True, False, None], [1, "yes"]),
    (Date(), [date(2024, 5, 1), None], ["2024-05-01"]),
    (JSON(), [{"a": [1, 2]}, [1, "two"], None], []),
    (LargeBinary(), [b"\x00\x01", None], []),
]


@pytest.mark.parametrize("typed", [True, False], ids=["postgresql", "sqlite"])
def test_gv004_block_shaping_by_column_matches_value_by_value(typed: bool) -> None:
    """The fast per-column path shows exactly what ``to_json_value`` shows for each value."""
    keys = [f"c{i}" for i in range(len(_COLUMNS))]
    shapers = [column_shaper(t, typed=typed) for t, _, _ in _COLUMNS]
    columns = [pg + ([] if typed else extra) for _, pg, extra in _COLUMNS]
    height = max(len(c) for c in columns)
    rows = [tuple(c[i % len(c)] for c in columns) for i in range(height)]
    want = [{k: to_json_value(v) for k, v in zip(keys, row, strict=True)} for row in rows]
    assert shape_rows(keys, rows, shapers) == want
    assert shape_rows(keys, [], shapers) == []
    if typed:  # the point of the fast path: most PostgreSQL columns are left as they are
        assert column_shaper(Integer(), typed=True) is None
        assert column_shaper(Boolean(), typed=True) is None
        assert column_shaper(String(20), typed=True) is None
