"""Crontab weekdays read the crontab way (0 and 7 = Sunday), not APScheduler's (0 = Monday)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from churnradar.kit.cron import crontab_trigger, weekday_names

MONDAY = datetime(2026, 11, 30, tzinfo=UTC)


def fire_days(line: str, days: int = 14) -> list[str]:
    """The weekday names on which `line` fires in the two weeks from a Monday."""
    trigger = crontab_trigger(line, UTC)
    fired, previous, now = [], None, MONDAY
    while True:
        moment = trigger.get_next_fire_time(previous, now)
        if moment is None or moment >= MONDAY + timedelta(days=days):
            return fired
        fired.append(moment.strftime("%a"))
        previous, now = moment, moment + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("weekday", "expected"),
    [
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("0", ["Sun"]),
        ("7", ["Sun"]),
        ("1", ["Mon"]),
        ("0,6", ["Sat", "Sun"]),
        ("*/2", ["Tue", "Thu", "Sat", "Sun"]),
        ("mon-fri", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("*", ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
    ],
)
def test_weekdays_as_crontab_reads_them(weekday: str, expected: list[str]) -> None:
    assert sorted(set(fire_days(f"0 6 * * {weekday}"))) == sorted(expected)


def test_numbers_become_names() -> None:
    assert weekday_names("1-5") == "mon,tue,wed,thu,fri"
    assert weekday_names("5-7") == "fri,sat,sun"


@pytest.mark.parametrize("line", ["0 6 * * 8", "0 6 * * 5-2", "0 6 * *", "every day", "0 6 * * 1-x"])
def test_bad_lines_are_refused(line: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is APScheduler's or ours; the type is the contract
        crontab_trigger(line, UTC)
