"""Compare engine output with the reference, value by value, null for null."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from churnradar.analytics.source import Source, duckdb_over_frames
from churnradar.indicator.schemas import Indicator
from churnradar.indicator.service import compute_indicators, selected_indicators
from tests.indicator import reference
from tests.indicator.cases import frames

ALL = selected_indicators()


def frame_source(data: reference.Data) -> Source:
    """In-memory DuckDB over the data."""
    f = frames(data)
    return duckdb_over_frames(f["customers"], f["events"], f["contracts"], f["invoices"])


def engine_values(wide: pd.DataFrame, as_of: date, id_of: Any = int) -> dict[tuple[int, str], Any]:
    """{(customer, slug): value or None} for one date of a wide frame."""
    rows = wide[wide["as_of"] == as_of]
    out: dict[tuple[int, str], Any] = {}
    for record in rows.to_dict("records"):
        for key, value in record.items():
            if key not in ("customer_id", "as_of"):
                out[id_of(record["customer_id"]), key] = None if pd.isna(value) else float(value)
    return out


def mismatches(got: dict[tuple[int, str], Any], want: dict[tuple[int, str], Any]) -> list[str]:
    """Human-readable differences (empty when equal within float rounding)."""
    problems = [f"missing {k}" for k in want if k not in got]
    for key, expected in want.items():
        actual = got.get(key)
        if expected is None or actual is None:
            if expected is not None or actual is not None:
                problems.append(f"{key}: engine {actual!r}, reference {expected!r}")
        elif not math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9):
            problems.append(f"{key}: engine {actual!r}, reference {expected!r}")
    return problems


def check_against_reference(
    source: Source,
    data: reference.Data,
    dates: Sequence[date],
    zone: ZoneInfo,
    indicators: Sequence[Indicator] = ALL,
    id_of: Any = int,
) -> pd.DataFrame:
    """Compute on `source` for all `dates` in one pass and assert equality with the reference per date."""
    wide = compute_indicators(source, dates, slugs=[i.slug for i in indicators], zone=zone)
    assert len(wide) == len(data.customers) * len(set(dates)), "every customer gets a row per date"
    for day in dates:
        want = reference.compute(data, list(indicators), day, zone)
        problems = mismatches(engine_values(wide, day, id_of), want)
        assert not problems, f"as of {day}:\n" + "\n".join(problems)
    return wide
