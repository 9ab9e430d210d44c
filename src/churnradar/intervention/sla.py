"""Deadline maths, pure: hours after a start, on the wall clock or in business hours of a calendar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days and hours in a time zone; holidays are whole local dates."""

    zone: ZoneInfo
    start: time = time(9)
    end: time = time(18)
    weekdays: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError("business hours must start before they end")
        if not self.weekdays:
            raise ValueError("a calendar needs at least one working weekday")

    def is_working_day(self, day: date) -> bool:
        """Whether `day` has business hours."""
        return day.weekday() in self.weekdays and day not in self.holidays


def _local(at: datetime, zone: ZoneInfo) -> datetime:
    return at.replace(tzinfo=UTC).astimezone(zone)


def _utc(local: datetime) -> datetime:
    return local.astimezone(UTC).replace(tzinfo=None)


def _opening(day: date, calendar: BusinessCalendar) -> datetime:
    return datetime.combine(day, calendar.start, tzinfo=calendar.zone)


def _closing(day: date, calendar: BusinessCalendar) -> datetime:
    return datetime.combine(day, calendar.end, tzinfo=calendar.zone)


def add_hours(start: datetime, hours: float, calendar: BusinessCalendar | None = None) -> datetime:
    """`hours` after `start` (naive UTC): plain hours, or only those inside the calendar's business hours."""
    if calendar is None:
        return start + timedelta(hours=hours)
    remaining = timedelta(hours=hours)
    cursor = _local(start, calendar.zone)
    for _ in range(3_700):  # ten years of days: a calendar always has working days, so this ends
        day = cursor.date()
        if not calendar.is_working_day(day) or cursor >= _closing(day, calendar):
            cursor = _opening(day + timedelta(days=1), calendar)
            continue
        cursor = max(cursor, _opening(day, calendar))
        available = _closing(day, calendar) - cursor
        if remaining <= available:
            return _utc(cursor + remaining)
        remaining -= available
        cursor = _opening(day + timedelta(days=1), calendar)
    raise ValueError("no business hours found within ten years")


def reminder_due(
    now: datetime, deadline: datetime, remind_before: timedelta, reminded_at: datetime | None
) -> bool:
    """A reminder is due once, inside the window before the deadline and not after it."""
    return reminded_at is None and deadline - remind_before <= now < deadline


def breached(now: datetime, deadline: datetime, snoozed_until: datetime | None) -> bool:
    """The deadline has passed and no snooze covers now."""
    return now >= deadline and (snoozed_until is None or now >= snoozed_until)
