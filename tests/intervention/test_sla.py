"""Deadline maths and assignment, pure: plain hours, business hours across nights, weekends, holidays, DST."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from churnradar.intervention import assignment, sla
from churnradar.intervention.assignment import AssignmentContext, Person

SHANGHAI = sla.BusinessCalendar(ZoneInfo("Asia/Shanghai"), holidays=frozenset({date(2026, 10, 1)}))


class TestAddHours:
    def test_plain_hours(self) -> None:
        assert sla.add_hours(datetime(2026, 6, 15, 8), 24) == datetime(2026, 6, 16, 8)

    @pytest.mark.parametrize(
        ("start", "hours", "due"),
        [
            # Monday 10:00 Shanghai (02:00 UTC) + 4 h -> 14:00 Shanghai, same day.
            pytest.param(datetime(2026, 6, 15, 2), 4, datetime(2026, 6, 15, 6), id="same-day"),
            # Monday 16:00 Shanghai + 4 h: 2 h today, 2 h from Tuesday 09:00 -> 11:00 (03:00 UTC).
            pytest.param(datetime(2026, 6, 15, 8), 4, datetime(2026, 6, 16, 3), id="over-night"),
            # Friday 17:00 Shanghai + 2 h: 1 h Friday, 1 h Monday -> Monday 10:00.
            pytest.param(datetime(2026, 6, 19, 9), 2, datetime(2026, 6, 22, 2), id="over-weekend"),
            # Saturday 12:00 + 1 h starts Monday 09:00.
            pytest.param(datetime(2026, 6, 20, 4), 1, datetime(2026, 6, 22, 2), id="from-weekend"),
            # Before opening: Monday 07:00 Shanghai + 9 h = all of Monday, 18:00.
            pytest.param(datetime(2026, 6, 14, 23), 9, datetime(2026, 6, 15, 10), id="before-opening"),
            # 48 business hours = 5 working days plus 3 hours (9 h a day).
            pytest.param(datetime(2026, 6, 15, 1), 48, datetime(2026, 6, 22, 4), id="two-days-of-hours"),
            # Wednesday 30 Sept 17:00 + 2 h skips the 1 October holiday: Friday 2 Oct 10:00.
            pytest.param(datetime(2026, 9, 30, 9), 2, datetime(2026, 10, 2, 2), id="holiday"),
        ],
    )
    def test_business_hours(self, start: datetime, hours: float, due: datetime) -> None:
        assert sla.add_hours(start, hours, SHANGHAI) == due

    def test_daylight_saving_counts_wall_hours(self) -> None:
        berlin = sla.BusinessCalendar(ZoneInfo("Europe/Berlin"), weekdays=frozenset(range(7)))
        # Saturday 28 March 2026 17:00 CET + 2 h: 1 h Saturday, 1 h Sunday from 09:00 CEST (07:00 UTC).
        assert sla.add_hours(datetime(2026, 3, 28, 16), 2, berlin) == datetime(2026, 3, 29, 8)

    def test_a_calendar_must_make_sense(self) -> None:
        with pytest.raises(ValueError, match="start before"):
            sla.BusinessCalendar(ZoneInfo("UTC"), start=time(18), end=time(9))


class TestReminderAndBreach:
    DEADLINE = datetime(2026, 6, 16, 8)

    def test_reminder_window_once(self) -> None:
        hours = timedelta(hours=4)
        assert not sla.reminder_due(self.DEADLINE - timedelta(hours=5), self.DEADLINE, hours, None)
        assert sla.reminder_due(self.DEADLINE - timedelta(hours=3), self.DEADLINE, hours, None)
        assert not sla.reminder_due(self.DEADLINE - timedelta(hours=3), self.DEADLINE, hours, self.DEADLINE)
        assert not sla.reminder_due(self.DEADLINE, self.DEADLINE, hours, None)

    def test_breach_unless_snoozed(self) -> None:
        assert not sla.breached(self.DEADLINE - timedelta(seconds=1), self.DEADLINE, None)
        assert sla.breached(self.DEADLINE, self.DEADLINE, None)
        assert not sla.breached(self.DEADLINE, self.DEADLINE, self.DEADLINE + timedelta(hours=1))


PEOPLE = {
    2: Person(2, "manager", 1, None, True),
    3: Person(3, "rep", 1, 2, True),
    4: Person(4, "rep", 1, 2, False),
    5: Person(5, "rep", 1, 4, True),
}


class TestAssignment:
    @pytest.mark.parametrize(
        ("strategy", "owner", "team", "load", "expected"),
        [
            pytest.param("owner", 3, 1, {}, 3, id="owner-active"),
            pytest.param("owner", 4, 1, {}, None, id="owner-inactive-queue"),
            pytest.param("owner", None, 1, {}, None, id="no-owner-queue"),
            pytest.param("owner", 99, 1, {}, None, id="owner-unknown-queue"),
            pytest.param("round_robin", None, 1, {3: 2, 5: 1}, 5, id="round-robin-least-loaded"),
            pytest.param("round_robin", None, 1, {}, 3, id="round-robin-tie-lowest-id"),
            pytest.param("round_robin", None, None, {}, None, id="round-robin-no-team"),
            pytest.param("owner_then_team", 4, 1, {3: 1}, 5, id="inactive-owner-then-team"),
        ],
    )
    def test_strategies(
        self, strategy: str, owner: int | None, team: int | None, load: dict[int, int], expected: int | None
    ) -> None:
        context = AssignmentContext(owner, team, PEOPLE, load)
        assert assignment.strategies.get(strategy)(context) == expected

    def test_manager_skips_inactive(self) -> None:
        assert assignment.manager_of(PEOPLE, 3) == 2
        assert assignment.manager_of(PEOPLE, 5) == 2  # 5's manager 4 is inactive; 4's manager is 2
        assert assignment.manager_of(PEOPLE, 2) is None
