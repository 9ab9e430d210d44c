"""Compile indicator definitions into one Ibis expression over a source, for many as-of dates at once.

Pure: builds expressions, executes nothing. The as-of dates become a small table joined in the engine, so a
backtest of 52 dates is one query, and each event is only joined to the as-of dates whose look-back can
contain it. Indicators reading the same look-back share one join and one aggregation (conditional aggregates),
which keeps the SQL close to what one would write by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd

from churnradar.analytics.source import Source
from churnradar.indicator.history import history_table, is_history
from churnradar.indicator.predicates import condition, epoch, selected
from churnradar.indicator.schemas import (
    Check,
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

DAY_S = 86_400
_KEYS = ("customer_id", "as_of")


def local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    """The instant `day` begins in `zone`, as naive UTC (how events are stored)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def utc_offset_seconds(day: date, zone: ZoneInfo) -> int:
    """The zone's UTC offset at the start of `day`, in seconds (local days of events use it)."""
    offset = datetime(day.year, day.month, day.day, tzinfo=zone).utcoffset() or timedelta(0)
    return int(offset.total_seconds())


def bound_column(days: int) -> str:
    """The dates-table column holding the instant `days` local days before the as-of date."""
    return f"b{days}"


def dates_frame(as_of_dates: Sequence[date], zone: ZoneInfo, bounds: Sequence[int]) -> pd.DataFrame:
    """One row per as-of date: its start instant, epoch day, UTC offset and window bounds, computed here."""
    days = sorted(set(as_of_dates))
    frame = pd.DataFrame(
        {
            "as_of": days,
            "as_of_ts": [local_midnight_utc(d, zone) for d in days],
            "as_of_day": [(d - date(1970, 1, 1)).days for d in days],
            "tz_offset_s": [utc_offset_seconds(d, zone) for d in days],
        }
    )
    for n in sorted(set(bounds)):
        frame[bound_column(n)] = [local_midnight_utc(d - timedelta(days=n), zone) for d in days]
    # Buckets for all-history indicators (history.py): k orders the dates, prev_ts opens each interval.
    frame["k"] = range(len(days))
    frame["prev_ts"] = [datetime(1900, 1, 1), *frame["as_of_ts"][:-1]]
    frame["prev_ts"] = frame["prev_ts"].astype("datetime64[us]")
    frame["as_of_ts"] = frame["as_of_ts"].astype("datetime64[us]")
    for n in sorted(set(bounds)):
        frame[bound_column(n)] = frame[bound_column(n)].astype("datetime64[us]")
    return frame


def _bounds_needed(indicators: Sequence[Indicator]) -> set[int]:
    out: set[int] = set()
    for i in indicators:
        p = i.params
        if isinstance(p, WindowAgg | Share):
            out.add(p.offset_days)
            if p.days is not None:
                out.add(p.days + p.offset_days)
        elif isinstance(p, GapVsMedian):
            out.add(p.history_days)
    return out


@dataclass
class _Group:
    """Event indicators sharing one join of events to as-of dates."""

    lookback: int | None
    indicators: list[Indicator]


def _event_groups(indicators: Sequence[Indicator], single_date: bool) -> list[_Group]:
    groups: dict[int | None, list[Indicator]] = defaultdict(list)
    for i in indicators:
        p = i.params
        # The latest value needs a window over its own events; all-history indicators of many dates are
        # carried forward bucket by bucket (history.py) instead of joining every event to every later date.
        if isinstance(p, LastValue) or (not single_date and is_history(i)):
            continue
        if isinstance(p, WindowAgg | Share):
            days = None if p.days is None else p.days + p.offset_days
        elif isinstance(p, DaysSince):
            days = None
        else:
            continue
        # With one as-of date no join can multiply events, so one scan serves every window; with many,
        # each event joins only the dates whose look-back holds it, so look-backs are kept tight.
        groups[None if single_date else days].append(i)
    return [_Group(k, v) for k, v in groups.items()]


def _selection(i: Indicator) -> Selection:
    assert isinstance(i.params, Selection), f"{i.slug} reads no events"
    return i.params


def _window_pred(j: ir.Table, days: int | None, offset_days: int) -> ir.BooleanValue:
    upper = j.ts < j[bound_column(offset_days)]
    if days is None:
        return upper
    return upper & (j.ts >= j[bound_column(days + offset_days)])


def _agg_metrics(j: ir.Table, i: Indicator) -> dict[str, ir.Scalar]:
    p = i.params
    s = i.slug
    if isinstance(p, WindowAgg):
        pred = selected(j, p) & _window_pred(j, p.days, p.offset_days)
        if p.known_after_value_hours:
            pred = pred & (epoch(j.ts) + j.value.cast("float64") * 3600.0 < epoch(j.as_of_ts))
        if p.agg == "count":
            return {s: j.count(where=pred)}
        if p.agg == "active_days":
            local_day = (epoch(j.ts) + j.tz_offset_s.cast("float64")) // DAY_S
            return {s: local_day.nunique(where=pred)}
        col = j[p.field]
        if p.agg == "distinct":
            return {s: col.nunique(where=pred)}
        num = col.cast("float64")
        reducers = {"sum": num.sum, "mean": num.mean, "median": num.median, "min": num.min, "max": num.max}
        return {s: reducers[p.agg](where=pred)}
    if isinstance(p, Share):
        pred = selected(j, p) & _window_pred(j, p.days, p.offset_days)
        match = ibis.or_(*(ibis.and_(*(condition(j, c) for c in group)) for group in p.match_any))
        return {f"{s}__num": j.count(where=pred & match), f"{s}__den": j.count(where=pred)}
    if isinstance(p, DaysSince):
        return {f"{s}__since": (epoch(j.as_of_ts) - epoch(j.ts)).min(where=selected(j, p))}
    raise TypeError(f"{s}: template {p.template} is not an event aggregate")


def _finish(t: ir.Table, i: Indicator) -> ir.Value:
    p = i.params
    s = i.slug
    if isinstance(p, WindowAgg):
        value = t[s].cast("float64")
        if p.agg in ("count", "sum", "distinct", "active_days"):
            value = value.fill_null(0.0)
        factor = p.scale * (p.per_days / p.days if p.per_days is not None and p.days else 1.0)
        return value * factor if factor != 1.0 else value
    if isinstance(p, Share):
        return t[f"{s}__num"].cast("float64") / t[f"{s}__den"].cast("float64").nullif(0.0)
    if isinstance(p, DaysSince):
        return (t[f"{s}__since"] / DAY_S).floor().cast("float64")
    raise TypeError(f"{s}: template {p.template} is not an event aggregate")


def _span(events: ir.Table, frame: pd.DataFrame, lookback: int | None) -> ir.Table:
    # Constant bounds the scan can use (Parquet row-group statistics, fewer rows into the join): the
    # join to the dates then only decides which of the remaining events belong to which date.
    events = events.filter(events.ts < ibis.literal(frame["as_of_ts"].max().to_pydatetime()))
    if lookback is None:
        return events
    return events.filter(events.ts >= ibis.literal(frame[bound_column(lookback)].min().to_pydatetime()))


def _event_group_table(events: ir.Table, dates: ir.Table, frame: pd.DataFrame, group: _Group) -> ir.Table:
    kinds = sorted({k for i in group.indicators for k in _selection(i).kinds})
    ev = _span(events.filter(events.kind.isin(kinds)), frame, group.lookback)
    preds = [ev.ts < dates.as_of_ts]
    if group.lookback is not None:
        preds.append(ev.ts >= dates[bound_column(group.lookback)])
    j = ev.join(dates, preds)
    metrics: dict[str, ir.Scalar] = {}
    for i in group.indicators:
        metrics.update(_agg_metrics(j, i))
    # Only the two keys: grouping by every date column costs as much as the aggregates themselves.
    return j.group_by(["customer_id", "as_of"]).aggregate(**metrics)


def _gap_table(events: ir.Table, dates: ir.Table, frame: pd.DataFrame, i: Indicator) -> ir.Table:
    p = i.params
    assert isinstance(p, GapVsMedian)
    # Cutting the history window's start before the lag is safe: a gap whose earlier event falls
    # before the window does not count anyway.
    ev = _span(events.filter(selected(events, p)), frame, p.history_days)
    ev = ev.mutate(prev_ts=ev.ts.lag().over(group_by="customer_id", order_by=ev.ts))
    lower = dates[bound_column(p.history_days)]
    j = ev.join(dates, [ev.ts < dates.as_of_ts, ev.ts >= lower])
    in_history = j.prev_ts >= j[bound_column(p.history_days)]
    gap_days = (epoch(j.ts) - epoch(j.prev_ts)) / DAY_S
    agg = j.group_by(["customer_id", "as_of", "as_of_ts"]).aggregate(
        median_gap=gap_days.median(where=in_history), last_ts=j.ts.max()
    )
    current = (epoch(agg.as_of_ts) - epoch(agg.last_ts)) / DAY_S
    return agg.select("customer_id", "as_of", **{i.slug: current / agg.median_gap.nullif(0.0)})


def _contract_table(contracts: ir.Table, dates: ir.Table, i: Indicator) -> ir.Table:
    j = contracts.join(dates, contracts.start_date < dates.as_of)
    agg = j.group_by(["customer_id", "as_of", "as_of_day"]).aggregate(end=j.end_date.max())
    end_day = (epoch(agg.end.cast("timestamp")) / DAY_S).round()
    return agg.select("customer_id", "as_of", **{i.slug: end_day - agg.as_of_day.cast("float64")})


def _invoice_table(invoices: ir.Table, dates: ir.Table, wanted: Sequence[Indicator]) -> ir.Table:
    j = invoices.join(
        dates,
        [
            invoices.due_date < dates.as_of,
            invoices.issued_at.isnull() | (invoices.issued_at < dates.as_of_ts),
        ],
    )
    overdue = j.paid_at.isnull() | (j.paid_at >= j.as_of_ts)
    due_day = (epoch(j.due_date.cast("timestamp")) / DAY_S).round()
    paid_day = (epoch(j.paid_at) + j.tz_offset_s.cast("float64")) // DAY_S
    late = overdue | (paid_day > due_day)
    agg = j.group_by(["customer_id", "as_of", "as_of_day"]).aggregate(
        n_overdue=j.count(where=overdue), first_due=due_day.min(where=overdue),
        n_late=j.count(where=late), n_due=j.count(),
    )  # fmt: skip
    values: dict[str, ir.Value] = {}
    for i in wanted:
        assert isinstance(i.params, Invoices)
        values[i.slug] = {
            "overdue_count": agg.n_overdue.cast("float64"),
            "max_days_overdue": agg.as_of_day.cast("float64") - agg.first_due,
            "late_share": agg.n_late.cast("float64") / agg.n_due.cast("float64").nullif(0.0),
        }[i.params.measure]
    return agg.select("customer_id", "as_of", **values)


def _derived(t: ir.Table, i: Indicator) -> ir.Value:
    p = i.params
    if isinstance(p, Ratio):
        return t[p.numerator] / t[p.denominator].nullif(0.0)
    if isinstance(p, PctChange):
        change = (t[p.baseline] - t[p.current]) if p.drop else (t[p.current] - t[p.baseline])
        return change * 100.0 / t[p.baseline].nullif(0.0)
    if isinstance(p, Difference):
        return t[p.current] - t[p.baseline]
    if isinstance(p, Flag):
        # PostgreSQL cannot cast boolean to double precision; a CASE works everywhere.
        return ibis.ifelse(ibis.and_(*(_check(t, c) for c in p.all_of)).fill_null(False), 1.0, 0.0)
    raise TypeError(f"{i.slug}: template {p.template} is not derived")


def _check(t: ir.Table, c: Check) -> ir.BooleanValue:
    col = t[c.indicator]
    if c.op == "between":
        low, high = c.value if isinstance(c.value, tuple) else (c.value, c.value)
        return col.between(low, high)
    ops = {"=": col == c.value, "!=": col != c.value, "<": col < c.value,
           "<=": col <= c.value, ">": col > c.value, ">=": col >= c.value}  # fmt: skip
    return ops[c.op]


_ZERO_WHEN_ABSENT = ("overdue_count", "max_days_overdue")


def compile_indicators(
    source: Source, indicators: Sequence[Indicator], as_of_dates: Sequence[date], zone: ZoneInfo
) -> ir.Table:
    """One wide table: a row per (customer, as-of date), a float64 column per indicator, in given order.

    `indicators` must hold every dependency before its dependents (see registry.dependency_order).
    """
    if not as_of_dates:
        raise ValueError("at least one as-of date is needed")
    frame = dates_frame(as_of_dates, zone, sorted(_bounds_needed(indicators)))
    dates = ibis.memtable(frame)
    parts: list[ir.Table] = []
    finish: dict[str, Indicator] = {}
    for group in _event_groups(indicators, single_date=len(frame) == 1):
        table = _event_group_table(source.events, dates, frame, group)
        columns = {i.slug: _finish(table, i) for i in group.indicators}
        parts.append(table.select("customer_id", "as_of", **columns))
        finish |= {i.slug: i for i in group.indicators}
    history = [i for i in indicators if isinstance(i.params, LastValue) or (len(frame) > 1 and is_history(i))]
    if history:
        parts.append(history_table(source.customers, source.events, dates, history))
    invoices = [i for i in indicators if isinstance(i.params, Invoices)]
    if invoices:
        parts.append(_invoice_table(source.invoices, dates, invoices))
    for i in indicators:
        if isinstance(i.params, GapVsMedian):
            parts.append(_gap_table(source.events, dates, frame, i))
        elif isinstance(i.params, DaysToContractEnd):
            parts.append(_contract_table(source.contracts, dates, i))
    wide = source.customers.select("customer_id").cross_join(dates.select("as_of"))
    for part in parts:
        wide = wide.left_join(part, list(_KEYS)).select(wide, *[c for c in part.columns if c not in _KEYS])
    fills: dict[str, ir.Value] = {}
    for i in indicators:
        p = i.params
        if isinstance(p, WindowAgg) and p.agg in ("count", "sum", "distinct", "active_days"):
            # A customer with no event of the group at all has no row to aggregate: zero, not null.
            fills[i.slug] = wide[i.slug].fill_null(0.0)
        elif isinstance(p, Invoices) and p.measure in _ZERO_WHEN_ABSENT:
            fills[i.slug] = wide[i.slug].fill_null(0.0)
    if fills:
        wide = wide.mutate(**fills)
    for i in indicators:
        if i.derived:
            wide = wide.mutate(**{i.slug: _derived(wide, i)})
    return wide.select(*_KEYS, *[wide[i.slug].cast("float64").name(i.slug) for i in indicators])
