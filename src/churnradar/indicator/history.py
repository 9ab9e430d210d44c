"""All-history indicators for many as-of dates without joining every event to every later date.

"Days since the last login", "the latest balance", "features ever used" read all history before each as-of
date. Joining events to every later date multiplies them by the number of dates (52 for a weekly backtest).
Instead each event goes to exactly one bucket, the interval between two consecutive as-of dates that holds
it; buckets are aggregated per customer, then carried forward with a cumulative window over the dates.
Portable SQL (a range join to a small table, GROUP BY, window functions), so PostgreSQL runs it too.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from churnradar.indicator.predicates import epoch, selected
from churnradar.indicator.schemas import DaysSince, Indicator, LastValue, WindowAgg

DAY_S = 86_400
_CUMULATIVE = ("count", "sum", "distinct", "min", "max")


def is_history(i: Indicator) -> bool:
    """Whether `i` reads all history up to the as-of instant and can be carried forward bucket by bucket."""
    p = i.params
    if isinstance(p, DaysSince | LastValue):
        return True
    return (
        isinstance(p, WindowAgg)
        and p.days is None
        and p.offset_days == 0
        and not p.known_after_value_hours
        and p.agg in _CUMULATIVE
    )


def _bucket_metrics(events: ir.Table, buckets: ir.Table, i: Indicator) -> ir.Table:
    """Per (customer, bucket): what the bucket adds to indicator `i`, in column `m`."""
    p = i.params
    assert isinstance(p, WindowAgg | DaysSince | LastValue)
    ev = events.filter(selected(events, p))
    if isinstance(p, WindowAgg) and p.agg == "distinct":
        # A distinct value counts once, in the bucket where it is first seen.
        assert p.field is not None
        ev = ev.filter(ev[p.field].notnull()).group_by(["customer_id", p.field]).aggregate(ts=ev.ts.min())
    j = ev.join(buckets, [ev.ts >= buckets.prev_ts, ev.ts < buckets.as_of_ts])
    keys = ["customer_id", "k"]
    if isinstance(p, DaysSince):
        return j.group_by(keys).aggregate(m=j.ts.max())
    if isinstance(p, LastValue):
        j = j.mutate(latest=j.ts.max().over(group_by=keys))
        at_latest = j.ts == j.latest
        return j.group_by(keys).aggregate(m_ts=j.ts.max(), m=j[p.field].cast("float64").max(where=at_latest))
    if p.agg in ("count", "distinct"):
        return j.group_by(keys).aggregate(m=j.count())
    assert p.field is not None
    value = j[p.field].cast("float64")
    reduce = {"sum": value.sum, "min": value.min, "max": value.max}[p.agg]
    return j.group_by(keys).aggregate(m=reduce())


def history_table(
    customers: ir.Table, events: ir.Table, dates: ir.Table, indicators: Sequence[Indicator]
) -> ir.Table:
    """`customer_id`, `as_of` and a column per indicator of `indicators` (all `is_history`)."""
    buckets = dates.select("k", "as_of", "as_of_ts", "prev_ts")
    scaffold = customers.select("customer_id").cross_join(buckets.select("k", "as_of", "as_of_ts"))
    cumulative = ibis.cumulative_window(group_by="customer_id", order_by="k")
    metrics: dict[str, ir.Table] = {}
    for i in indicators:
        part = _bucket_metrics(events, buckets, i)
        metrics[i.slug] = part
        renamed = {f"{i.slug}__m": part.m}
        if isinstance(i.params, LastValue):
            renamed[f"{i.slug}__k"] = part.k
        scaffold = scaffold.left_join(
            part.select("customer_id", "k", **renamed), ["customer_id", "k"]
        ).select(scaffold, *renamed)
    values: dict[str, ir.Value] = {}
    carried: dict[str, ir.Value] = {}
    for i in indicators:
        p = i.params
        m = scaffold[f"{i.slug}__m"]
        if isinstance(p, DaysSince):
            last = m.max().over(cumulative)
            values[i.slug] = ((epoch(scaffold.as_of_ts) - epoch(last)) / DAY_S).floor().cast("float64")
        elif isinstance(p, LastValue):
            carried[i.slug] = scaffold[f"{i.slug}__k"].max().over(cumulative)
        elif isinstance(p, WindowAgg) and p.agg in ("count", "sum", "distinct"):
            values[i.slug] = m.cast("float64").sum().over(cumulative).fill_null(0.0) * p.scale
        else:
            assert isinstance(p, WindowAgg)
            reduce = m.min() if p.agg == "min" else m.max()
            values[i.slug] = reduce.over(cumulative).cast("float64") * p.scale
    out = scaffold.select(
        "customer_id", "as_of", **values, **{f"{s}__latest_k": v for s, v in carried.items()}
    )
    for slug in carried:
        # The latest value sits in the latest bucket that had an event: fetch it from that bucket.
        part = metrics[slug]
        fetch = part.select(fetch_customer=part.customer_id, fetch_k=part.k, **{slug: part.m})
        out = out.left_join(
            fetch, [out.customer_id == fetch.fetch_customer, out[f"{slug}__latest_k"] == fetch.fetch_k]
        ).select(out, slug)
    return out.select("customer_id", "as_of", *[i.slug for i in indicators])
