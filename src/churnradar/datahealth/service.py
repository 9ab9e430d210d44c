"""Feed health: event kinds from the lake's events, import sources from the store's import log, and which
indicators a bad feed spoils."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.engine import Engine

from churnradar import i18n
from churnradar.datahealth.checks import (
    FeedHealth,
    FeedPolicy,
    FeedState,
    SourceHealth,
    affected_indicators,
    judge_feeds,
    judge_sources,
)
from churnradar.indicator.registry import default_registry
from churnradar.indicator.schemas import Selection
from churnradar.lake.service import lake_for
from churnradar.lake.timeline import daily_kind_counts
from churnradar.models import ImportRun, StoredFigures
from churnradar.models.import_run import ImportStatus

RUNS: Table = ImportRun.__table__  # type: ignore[assignment]
# The day's events per kind and day, as the evaluation of that day counted them (for the overview's panel).
FIGURES: Table = StoredFigures.__table__  # type: ignore[assignment]
DAILY_COUNTS = "feed_daily_counts"
BAD = (FeedState.STALE, FeedState.ANOMALOUS)


def daily_counts(engine: Engine, as_of: date, days: int) -> pd.DataFrame:
    """Events per kind and day over the `days` before `as_of` (kind, day, events)."""
    start = datetime.combine(as_of - timedelta(days=days), time.min)
    end = datetime.combine(as_of, time.min)
    rows = daily_kind_counts(lake_for(engine), start, end)
    return pd.DataFrame(rows, columns=["kind", "day", "events"])


def feed_health(
    engine: Engine,
    as_of: date,
    policy: FeedPolicy | None = None,
    *,
    store: bool = False,
    reuse: bool = False,
) -> list[FeedHealth]:
    """Every event feed's state as of `as_of`.

    Counting the lake's events per kind and day is the costly part: an evaluation `store`s the counts of its
    day, and a page may `reuse` them (the days before `as_of` are the same for the rest of that day).
    """
    policy = policy or FeedPolicy()
    counts = _stored_counts(engine, as_of, policy.history_days) if reuse else None
    if counts is None:
        counts = daily_counts(engine, as_of, policy.history_days)
        if store:
            _store_counts(engine, as_of, policy.history_days, counts)
    return judge_feeds(counts, as_of, policy)


def _counts_scope(days: int) -> str:
    return f"days:{days}"


def _store_counts(engine: Engine, as_of: date, days: int, counts: pd.DataFrame) -> None:
    rows = [
        [str(kind), pd.Timestamp(day).date().isoformat(), int(n)] for kind, day, n in counts.itertuples(False)
    ]
    keys = (FIGURES.c.name == DAILY_COUNTS, FIGURES.c.as_of == as_of, FIGURES.c.scope == _counts_scope(days))
    with engine.begin() as conn:
        conn.execute(delete(FIGURES).where(*keys))
        conn.execute(
            insert(FIGURES).values(
                name=DAILY_COUNTS,
                as_of=as_of,
                scope=_counts_scope(days),
                computed_at=datetime.now(UTC).replace(tzinfo=None),
                body={"rows": rows},
            )
        )


def _stored_counts(engine: Engine, as_of: date, days: int) -> pd.DataFrame | None:
    keys = (FIGURES.c.name == DAILY_COUNTS, FIGURES.c.as_of == as_of, FIGURES.c.scope == _counts_scope(days))
    with engine.connect() as conn:
        body = conn.execute(select(FIGURES.c.body).where(*keys)).scalar_one_or_none()
    if body is None:
        return None
    rows = [(kind, date.fromisoformat(day), n) for kind, day, n in body["rows"]]
    return pd.DataFrame(rows, columns=["kind", "day", "events"])


def source_batches(engine: Engine, now: datetime, days: int) -> pd.DataFrame:
    """Accepted import batches of the last `days` (source, kind, arrived_at, rows)."""
    query = select(
        RUNS.c.source, RUNS.c.kind, RUNS.c.finished_at.label("arrived_at"), RUNS.c.rows_read.label("rows")
    ).where(
        RUNS.c.status == ImportStatus.SUCCEEDED.value,
        RUNS.c.finished_at.is_not(None),
        RUNS.c.finished_at >= now - timedelta(days=days),
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=["source", "kind", "arrived_at", "rows"])
    return frame.astype({"arrived_at": "datetime64[us]"})


def source_health(engine: Engine, now: datetime, policy: FeedPolicy | None = None) -> list[SourceHealth]:
    """Every import source's state at `now` (naive UTC, like the import log)."""
    policy = policy or FeedPolicy()
    return judge_sources(source_batches(engine, now, policy.history_days), now, policy)


def bad_connected_sources(
    engine: Engine, now: datetime, policy: FeedPolicy | None = None
) -> list[SourceHealth]:
    """Connected sources (`source:NAME`, churnradar.source) that stopped delivering or delivered too little:
    the admins' data alert names them, so a silent CRM is told apart from customers going quiet."""
    return [
        s for s in source_health(engine, now, policy) if s.source.startswith("source:") and s.state in BAD
    ]


def spoiled_indicators(feeds: Sequence[FeedHealth]) -> set[str]:
    """Built-in indicators that read a stale or anomalous feed."""
    bad = {f.kind for f in feeds if f.state in BAD}
    if not bad:
        return set()
    registry = default_registry()
    indicators = [registry.get(slug) for slug in registry]
    kinds = {i.slug: i.params.kinds for i in indicators if isinstance(i.params, Selection)}
    parents = {i.slug: i.depends_on for i in indicators}
    return affected_indicators(kinds, parents, bad)


def _fields(verdict: FeedHealth | SourceHealth) -> dict[str, Any]:
    """A verdict's fields, its reason in English (the run's summary and the CLI are English)."""
    values = {f.name: getattr(verdict, f.name) for f in fields(verdict)}
    return values | {"reason": i18n.render(verdict.reason, "en")}


def report(feeds: Sequence[FeedHealth]) -> list[dict[str, Any]]:
    """A JSON-ready list of feed states."""
    return [
        {
            **_fields(f),
            "state": f.state.value,
            "last_day": f.last_day.isoformat() if f.last_day else None,
        }
        for f in feeds
    ]


def source_report(sources: Sequence[SourceHealth]) -> list[dict[str, Any]]:
    """A JSON-ready list of source states."""
    return [
        {
            **_fields(s),
            "kinds": list(s.kinds),
            "state": s.state.value,
            "last_arrival": s.last_arrival.isoformat() if s.last_arrival else None,
        }
        for s in sources
    ]
