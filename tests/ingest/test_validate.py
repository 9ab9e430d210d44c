"""Pure validation helpers: no database, no files."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from churnradar.ingest.exceptions import FileFormatError
from churnradar.ingest.mapping import ColumnMapping
from churnradar.ingest.schemas import SPECS, RecordKind
from churnradar.ingest.validate import attributes_json, parse_dates, parse_timestamps, plan_columns

SHANGHAI = ZoneInfo("Asia/Shanghai")


class TestParseTimestamps:
    @pytest.mark.parametrize(
        ("text", "zone", "utc"),
        [
            pytest.param(
                "2024-03-01T09:30:00+08:00", "UTC", "2024-03-01 01:30:00", id="offset_wins_over_zone"
            ),
            pytest.param("2024-03-01T09:30:00Z", "Asia/Shanghai", "2024-03-01 09:30:00", id="zulu"),
            pytest.param(
                "2024-03-01 09:30", "Asia/Shanghai", "2024-03-01 01:30:00", id="naive_in_configured_zone"
            ),
            pytest.param(
                "2024-03-01", "Asia/Shanghai", "2024-02-29 16:00:00", id="date_only_is_local_midnight"
            ),
            pytest.param(
                "2024-03-10T02:30:00", "America/New_York", "2024-03-10 07:00:00", id="dst_gap_shifts"
            ),
            pytest.param("2024-03-01T09:30:00.250-05:00", "UTC", "2024-03-01 14:30:00.250000", id="fraction"),
        ],
    )
    def test_valid(self, text: str, zone: str, utc: str) -> None:
        parsed = parse_timestamps(pd.Series([text], dtype=object), ZoneInfo(zone), None)
        assert str(parsed.iloc[0]) == utc

    @pytest.mark.parametrize("text", ["2024-13-01", "yesterday", "2024-02-30T10:00", "1.5"])
    def test_invalid_is_nat(self, text: str) -> None:
        assert parse_timestamps(pd.Series([text], dtype=object), SHANGHAI, None).isna().all()

    def test_custom_format_and_missing(self) -> None:
        parsed = parse_timestamps(pd.Series(["19970101", None], dtype=object), ZoneInfo("UTC"), "%Y%m%d")
        assert str(parsed.iloc[0]) == "1997-01-01 00:00:00"
        assert pd.isna(parsed.iloc[1])


def test_dates_keep_the_calendar_day_whatever_the_offset() -> None:
    parsed = parse_dates(
        pd.Series(["2024-03-01", "2024-03-01T23:30:00+08:00", "2024-02-30"], dtype=object), None
    )
    assert [str(v)[:10] if pd.notna(v) else None for v in parsed] == ["2024-03-01", "2024-03-01", None]


class TestPlanColumns:
    def test_case_insensitive_mapping_and_extras(self) -> None:
        mapping = ColumnMapping(columns={"客户编号": "customer_id"})
        plan = plan_columns(["客户编号", "TS", "Kind", "Region"], SPECS[RecordKind.EVENTS], mapping, "e.csv")
        assert plan.known == ["customer_id", "ts", "kind"]
        assert plan.extra == ["region"]

    def test_default_fills_a_missing_required_column(self) -> None:
        mapping = ColumnMapping(defaults={"kind": "order"})
        plan = plan_columns(["customer_id", "ts"], SPECS[RecordKind.EVENTS], mapping, "e.csv")
        assert "kind" in plan.known

    def test_suggests_the_close_name(self) -> None:
        with pytest.raises(FileFormatError, match=r"missing required column\(s\) customer_id \(did you mean"):
            plan_columns(["customerid", "ts", "kind"], SPECS[RecordKind.EVENTS], ColumnMapping(), "e.csv")


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param([{"user": "u1", "区域": "华东"}, {"user": None, "区域": "华北"}], id="two_columns"),
        pytest.param(
            [{"a": 'quote " and \\ backslash', "b": None}, {"a": None, "b": None}], id="escapes_and_empty"
        ),
        pytest.param([{"x": "1", "y": "2", "z": "3"}, {"x": None, "y": "2", "z": None}], id="three_columns"),
    ],
)
def test_attributes_json_equals_json_dumps(rows: list[dict[str, str | None]]) -> None:
    frame = pd.DataFrame(rows, dtype=object)
    expected = [
        json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False)
        if any(v is not None for v in row.values())
        else None
        for row in rows
    ]
    assert attributes_json(frame).tolist() == expected
