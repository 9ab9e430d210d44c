"""Pure feed checks: judge each event kind (from daily counts) and each import source (from its batches).

A feed is *stale* when nothing arrived for longer than its usual gap allows, *anomalous* when its most
recent volume is far below its usual level, *new* when there is too little history to know, *unwatched* when
settings say not to judge it. What settings state about a feed (`FeedExpectation`) overrides what is learned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import PurePath

import numpy as np
import pandas as pd

from churnradar.config import DataHealthSettings, FeedExpectation
from churnradar.i18n import Message, msg, nmsg


class FeedState(StrEnum):
    """How an event feed looks at the as-of date."""

    OK = "ok"
    STALE = "stale"
    ANOMALOUS = "anomalous"
    NEW = "new"
    UNWATCHED = "unwatched"


# The thresholds are the settings' `data_health` area: one definition, usable with no settings at all.
FeedPolicy = DataHealthSettings
MIN_SOURCE_BATCHES = 4  # fewer batches than this from a source: too new to learn its cadence


AS_USUAL = msg("arriving as usual")
NOT_WATCHED = msg("not watched (settings)")


def _usually_every(gap: float, spec: str) -> Message:
    return nmsg("usually every {gap} day", "usually every {gap} days", gap, gap=format(gap, spec))


@dataclass(frozen=True)
class FeedHealth:
    """One kind of event as of a date: last arrival, usual gap and volume, and the verdict with its reason."""

    kind: str
    state: FeedState
    last_day: date | None
    usual_gap_days: float | None
    recent_per_day: float | None
    usual_per_day: float | None
    reason: Message  # rendered in the reader's language; English in the CLI and the run's summary


@dataclass(frozen=True)
class SourceHealth:
    """One import source (a file feed or an API client): its batches, cadence, last volume and verdict."""

    source: str
    kinds: tuple[str, ...]
    state: FeedState
    batches: int
    last_arrival: datetime | None
    usual_gap_days: float | None
    last_rows: int | None
    usual_rows: float | None
    reason: Message


def source_name(source: str) -> str:
    """The feed a stored import source belongs to: daily files `orders_2026-11-20.csv` are all `orders`.

    API batches (`api:login`) and explicit names (no file suffix) are kept as they are; every batch of a
    connected source (`source:crm/events`, `source:erp/orders_2026-11-20.csv`) belongs to `source:crm`.
    """
    if source.startswith("source:"):
        return source.split("/", 1)[0]
    path = PurePath(source)
    if source.startswith("api:") or not path.suffix:
        return source
    name = re.sub(r"[\s_.-]+", "_", re.sub(r"\d+", "", path.stem.lower())).strip("_")
    return name or path.name


def judge_feeds(daily: pd.DataFrame, as_of: date, policy: FeedPolicy | None = None) -> list[FeedHealth]:
    """Verdicts per kind from `daily` (kind, day, events) for the days before `as_of`."""
    policy = policy or FeedPolicy()
    start = pd.Timestamp(as_of - timedelta(days=policy.history_days))
    end = pd.Timestamp(as_of)
    out = []
    for kind, group in daily.assign(day=pd.to_datetime(daily["day"])).groupby("kind"):
        days = group[(group["day"] >= start) & (group["day"] < end)].set_index("day")["events"].sort_index()
        out.append(_judge(str(kind), days, as_of, policy))
    return sorted(out, key=lambda f: f.kind)


def _judge(kind: str, days: pd.Series, as_of: date, policy: FeedPolicy) -> FeedHealth:
    expected = policy.kinds.get(kind, FeedExpectation())
    last = days.index.max().date() if len(days) else None
    if not expected.watch:
        return FeedHealth(kind, FeedState.UNWATCHED, last, None, None, None, NOT_WATCHED)
    if len(days) < policy.min_active_days and expected.every_days is None:
        reason = nmsg(
            "only {num} day with data in the last {days}",
            "only {num} days with data in the last {days}",
            len(days),
            num=len(days),
            days=policy.history_days,
        )
        return FeedHealth(kind, FeedState.NEW, last, None, None, None, reason)
    if last is None:
        reason = nmsg(
            "no {kind} events in the last {days} day",
            "no {kind} events in the last {days} days",
            policy.history_days,
            kind=msg(kind),
            days=policy.history_days,
        )
        return FeedHealth(kind, FeedState.STALE, None, expected.every_days, 0.0, expected.per_day, reason)
    gaps = np.diff(days.index.to_numpy()).astype("timedelta64[D]").astype(float)
    usual_gap = expected.every_days or (float(np.median(gaps)) if len(gaps) else 1.0)
    silent = (as_of - last).days - 1  # whole days without data before the as-of date
    allowed = max(policy.stale_factor * usual_gap, policy.min_stale_days)
    calendar = pd.Series(0.0, index=pd.date_range(days.index.min(), pd.Timestamp(as_of - timedelta(days=1))))
    calendar.loc[days.index] = days.to_numpy(dtype=float)
    earlier = calendar.iloc[: -policy.volume_days]
    learned = float(earlier[earlier > 0].median()) if (earlier > 0).any() else 0.0
    usual = expected.per_day or learned
    recent = float(calendar.iloc[-policy.volume_days :].mean())
    if silent > allowed:
        silence = nmsg(
            "no {kind} events for {num} day",
            "no {kind} events for {num} days",
            silent,
            kind=msg(kind),
            num=silent,
        )
        reason = msg("{silence}; {usually}", silence=silence, usually=_usually_every(usual_gap, "g"))
        return FeedHealth(kind, FeedState.STALE, last, usual_gap, recent, usual, reason)
    if usual_gap <= 1.5 and usual > 0 and recent < policy.volume_ratio * usual:
        reason = nmsg(
            "{kind} events fell to {recent} a day over the last {days} day; usually {usual}",
            "{kind} events fell to {recent} a day over the last {days} days; usually {usual}",
            policy.volume_days,
            kind=msg(kind),
            recent=f"{recent:.0f}",
            days=policy.volume_days,
            usual=f"{usual:.0f}",
        )
        return FeedHealth(kind, FeedState.ANOMALOUS, last, usual_gap, recent, usual, reason)
    return FeedHealth(kind, FeedState.OK, last, usual_gap, recent, usual, AS_USUAL)


def judge_sources(
    batches: pd.DataFrame, now: datetime, policy: FeedPolicy | None = None
) -> list[SourceHealth]:
    """Verdicts per source from its accepted batches (source, kind, arrived_at, rows) before `now`."""
    policy = policy or FeedPolicy()
    start = now - timedelta(days=policy.history_days)
    recent = batches[(batches["arrived_at"] >= start) & (batches["arrived_at"] <= now)]
    named = recent.assign(source=recent["source"].map(source_name))
    out = [
        _judge_source(str(name), group.sort_values("arrived_at"), now, policy)
        for name, group in named.groupby("source")
    ]
    return sorted(out, key=lambda s: s.source)


def _judge_source(name: str, group: pd.DataFrame, now: datetime, policy: FeedPolicy) -> SourceHealth:
    expected = policy.sources.get(name, FeedExpectation())
    kinds = tuple(sorted(set(group["kind"])))
    # Files of several kinds imported together (a folder) are one delivery of the source.
    deliveries = group.groupby("arrived_at", sort=True)["rows"].sum()
    last_arrival: datetime = deliveries.index[-1].to_pydatetime()
    last_rows = int(deliveries.iloc[-1])

    def verdict(
        state: FeedState, gap: float | None, usual_rows: float | None, reason: Message
    ) -> SourceHealth:
        batches = len(deliveries)
        return SourceHealth(name, kinds, state, batches, last_arrival, gap, last_rows, usual_rows, reason)

    if not expected.watch:
        return verdict(FeedState.UNWATCHED, None, None, NOT_WATCHED)
    if len(deliveries) < MIN_SOURCE_BATCHES and expected.every_days is None:
        count = len(deliveries)
        only = nmsg("only {num} delivery so far", "only {num} deliveries so far", count, num=count)
        return verdict(FeedState.NEW, None, None, only)
    gaps = np.diff(deliveries.index.to_numpy()).astype("timedelta64[s]").astype(float) / 86400
    usual_gap = expected.every_days or (float(np.median(gaps)) if len(gaps) else 1.0)
    earlier = deliveries.iloc[:-1]
    usual_rows = expected.per_day or (float(earlier.median()) if len(earlier) else None)
    silent = (now - last_arrival).total_seconds() / 86400
    if silent > max(policy.stale_factor * usual_gap, policy.min_stale_days):
        quiet = nmsg(
            "nothing from {name} for {num} day",
            "nothing from {name} for {num} days",
            silent,
            name=name,
            num=f"{silent:.1f}",
        )
        reason = msg("{silence}; {usually}", silence=quiet, usually=_usually_every(usual_gap, ".2g"))
        return verdict(FeedState.STALE, usual_gap, usual_rows, reason)
    if usual_rows and last_rows < policy.volume_ratio * usual_rows:
        reason = nmsg(
            "last delivery of {name} had {num} row; usually {usual}",
            "last delivery of {name} had {num} rows; usually {usual}",
            last_rows,
            name=name,
            num=f"{last_rows:,}",
            usual=f"{usual_rows:,.0f}",
        )
        return verdict(FeedState.ANOMALOUS, usual_gap, usual_rows, reason)
    return verdict(FeedState.OK, usual_gap, usual_rows, AS_USUAL)


def affected_indicators(
    kinds_of: Mapping[str, Iterable[str]], depends_on: Mapping[str, Iterable[str]], bad_kinds: set[str]
) -> set[str]:
    """Indicators that read a bad feed, directly or through the indicators they are derived from."""
    hit = {slug for slug, kinds in kinds_of.items() if bad_kinds & set(kinds)}
    changed = True
    while changed:
        changed = False
        for slug, parents in depends_on.items():
            if slug not in hit and hit & set(parents):
                hit.add(slug)
                changed = True
    return hit
