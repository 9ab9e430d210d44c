"""Which indicator snapshot dates to let go: pure date arithmetic, no database.

Every date of the recent window stays (charts, "change since last time", the rules editor's flag count);
older dates thin to one a week, the latest stored date of each ISO week, so long charts keep their shape;
beyond the weekly horizon nothing stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def dates_to_prune(
    stored: Iterable[date], *, today: date, keep_daily_days: int, keep_weekly_days: int | None
) -> list[date]:
    """The stored snapshot dates a retention policy removes as of `today`, oldest first."""
    daily_from = today - timedelta(days=keep_daily_days)
    weekly_from = None if keep_weekly_days is None else today - timedelta(days=keep_weekly_days)
    older = sorted(d for d in set(stored) if d < daily_from)
    kept_weeks: dict[tuple[int, int], date] = {}
    for day in older:  # ascending: the last date seen in a week is its latest
        kept_weeks[day.isocalendar()[:2]] = day
    weekly = set(kept_weeks.values())
    return [d for d in older if d not in weekly or (weekly_from is not None and d < weekly_from)]
