"""Delivery decisions, pure: backoff after a failure, quiet hours, the per-receiver rate limit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def backoff(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """The wait after the `attempts`-th failure: base, 2 x base, 4 x base, ... capped."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds))


def quiet_until(now: datetime, zone: ZoneInfo, start: time | None, end: time | None) -> datetime | None:
    """When quiet hours covering `now` (naive UTC) end, in naive UTC; None when sending is allowed."""
    if start is None or end is None or start == end:
        return None
    local = now.replace(tzinfo=UTC).astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def rate_limited_until(now: datetime, sent_at: Sequence[datetime], limit: int) -> datetime | None:
    """When the receiver may get another message, given what it got in the last hour; None means now."""
    window = sorted(t for t in sent_at if t > now - timedelta(hours=1))
    if len(window) < limit:
        return None
    return window[len(window) - limit] + timedelta(hours=1)
