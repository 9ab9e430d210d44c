"""An independent, obviously-correct reference: plain Python over lists of events, one as-of date at a time.

It reads the same typed definitions as the compiler but shares none of its code. Values: float or None.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from churnradar.indicator.schemas import (
    Check,
    Condition,
    DaysSince,
    DaysToContractEnd,
    Difference,
    Flag,
    GapVsMedian,
    Indicator,
    Invoices,
    LastValue,
    PctChange,
    Ratio,
    Selection,
    Share,
    WindowAgg,
)

EPOCH = datetime(1970, 1, 1)


@dataclass
class Data:
    """Customers (ids) and their events, contracts and invoices as plain dicts."""

    customers: list[int]
    events: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def holds(event: dict[str, Any], c: Condition) -> bool:
    v = event.get(c.field)
    if c.op == "is_null":
        return v is None
    if c.op == "not_null":
        return v is not None
    if v is None:
        return False
    if c.op == "in":
        return v in c.value  # type: ignore[operator]
    if c.op == "contains_any":
        return any(str(k).lower() in str(v).lower() for k in c.value)  # type: ignore[union-attr]
    return {
        "=": v == c.value, "!=": v != c.value, "<": v < c.value, "<=": v <= c.value,
        ">": v > c.value, ">=": v >= c.value,
    }[c.op]  # fmt: skip


def selected(e: dict[str, Any], s: Selection) -> bool:
    return e["kind"] in s.kinds and all(holds(e, c) for c in s.where)


def compute(
    data: Data, indicators: list[Indicator], as_of: date, zone: ZoneInfo
) -> dict[tuple[int, str], Any]:
    """{(customer, slug): value} for every customer and indicator (indicators in dependency order)."""
    at = midnight(as_of, zone)
    offset = (
        datetime(as_of.year, as_of.month, as_of.day, tzinfo=zone).utcoffset() or timedelta(0)
    ).total_seconds()

    def start(days: int) -> datetime:
        return midnight(as_of - timedelta(days=days), zone)

    out: dict[tuple[int, str], Any] = {}
    for cust in data.customers:
        evs = [e for e in data.events if e["customer_id"] == cust and e["ts"] < at]
        for ind in indicators:
            out[cust, ind.slug] = _one(ind, evs, data, cust, as_of, at, offset, start, out)
    return out


def _one(ind, evs, data, cust, as_of, at, offset, start, out):  # type: ignore[no-untyped-def]
    p = ind.params
    if isinstance(p, WindowAgg | Share):
        lo = start(p.days + p.offset_days) if p.days is not None else datetime.min
        hi = start(p.offset_days)
        win = [e for e in evs if selected(e, p) and lo <= e["ts"] < hi]
        if isinstance(p, Share):
            if not win:
                return None
            return sum(any(all(holds(e, c) for c in g) for g in p.match_any) for e in win) / len(win)
        if p.known_after_value_hours:
            win = [e for e in win if e["value"] is not None and e["ts"] + timedelta(hours=e["value"]) < at]
        factor = p.scale * (p.per_days / p.days if p.per_days else 1.0)
        if p.agg == "count":
            return len(win) * factor
        if p.agg == "active_days":
            return (
                len({math.floor(((e["ts"] - EPOCH).total_seconds() + offset) / 86400) for e in win}) * factor
            )
        values = [e[p.field] for e in win if e.get(p.field) is not None]
        if p.agg == "distinct":
            return len(set(values)) * factor
        if p.agg == "sum":
            return sum(values) * factor
        if not values:
            return None
        fn = {"mean": statistics.fmean, "median": statistics.median, "min": min, "max": max}[p.agg]
        return fn(values) * factor
    if isinstance(p, DaysSince):
        times = [e["ts"] for e in evs if selected(e, p)]
        return math.floor((at - max(times)).total_seconds() / 86400) if times else None
    if isinstance(p, LastValue):
        sel = [e for e in evs if selected(e, p)]
        if not sel:
            return None
        last = max(e["ts"] for e in sel)
        values = [e[p.field] for e in sel if e["ts"] == last and e[p.field] is not None]
        return max(values) if values else None
    if isinstance(p, GapVsMedian):
        times = sorted(e["ts"] for e in evs if selected(e, p) and e["ts"] >= start(p.history_days))
        gaps = [(b - a).total_seconds() / 86400 for a, b in itertools.pairwise(times)]
        if not gaps or statistics.median(gaps) == 0:
            return None
        return (at - times[-1]).total_seconds() / 86400 / statistics.median(gaps)
    if isinstance(p, DaysToContractEnd):
        ends = [c["end_date"] for c in data.contracts if c["customer_id"] == cust and c["start_date"] < as_of]
        return float((max(ends) - as_of).days) if ends else None
    if isinstance(p, Invoices):
        mine = [i for i in data.invoices if i["customer_id"] == cust]
        known = [i for i in mine if i["due_date"] < as_of and (i["issued_at"] is None or i["issued_at"] < at)]
        overdue = [i for i in known if i["paid_at"] is None or i["paid_at"] >= at]
        if p.measure == "overdue_count":
            return float(len(overdue))
        if p.measure == "max_days_overdue":
            return float(max(((as_of - i["due_date"]).days for i in overdue), default=0))
        if not known:
            return None

        def paid_late(i: dict[str, Any]) -> bool:
            paid_day = math.floor(((i["paid_at"] - EPOCH).total_seconds() + offset) / 86400)
            return paid_day > (i["due_date"] - EPOCH.date()).days

        return sum(i in overdue or paid_late(i) for i in known) / len(known)
    if isinstance(p, Ratio):
        num, den = out[cust, p.numerator], out[cust, p.denominator]
        return None if num is None or not den else num / den
    if isinstance(p, PctChange):
        cur, base = out[cust, p.current], out[cust, p.baseline]
        if cur is None or not base:
            return None
        return ((base - cur) if p.drop else (cur - base)) * 100 / base
    if isinstance(p, Difference):
        cur, base = out[cust, p.current], out[cust, p.baseline]
        return None if cur is None or base is None else cur - base
    if isinstance(p, Flag):
        return 1.0 if all(_check(out[cust, c.indicator], c) for c in p.all_of) else 0.0
    raise AssertionError(f"no reference for {p.template}")


def _check(v: float | None, c: Check) -> bool:
    if v is None:
        return False
    if c.op == "between":
        low, high = c.value  # type: ignore[misc]
        return bool(low <= v <= high)
    return {"=": v == c.value, "!=": v != c.value, "<": v < c.value, "<=": v <= c.value,
            ">": v > c.value, ">=": v >= c.value}[c.op]  # type: ignore[operator]  # fmt: skip
