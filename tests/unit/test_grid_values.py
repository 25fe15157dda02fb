"""How database values reach the grid, and how a shared link is read back."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from dashapp.grid_query import parse_query, to_json_value


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
    }
    bad = parse_query({"table": "main.events", "sort": "{not json", "filter": "[1]"})
    assert bad["sort"] == []
    assert bad["filter"] == {}
    assert len(bad["warnings"]) == 2
