"""The save rate, its interval, task outcomes and deadline compliance on tiny datasets worked out by hand."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
import pytest

from churnradar.effectiveness.save_rate import first_draws, newcombe_interval, save_rate, wilson_interval
from churnradar.effectiveness.tasks import TASK_COLUMNS, task_outcomes

UNTIL = date(2025, 6, 1)
D = pd.Timestamp


class TestIntervals:
    def test_wilson_matches_the_published_example(self) -> None:
        # Newcombe (1998a), single proportion, 81/263: Wilson score interval 0.2553 to 0.3662.
        low, high = wilson_interval(81, 263)
        assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)

    def test_newcombe_matches_the_published_example(self) -> None:
        # Newcombe (1998b), example (a): 56/70 - 48/80 = 0.2000, method 10 interval 0.0524 to 0.3339.
        difference, low, high = newcombe_interval(56, 70, 48, 80)
        assert (round(difference, 4), round(low, 4), round(high, 4)) == (0.2, 0.0524, 0.3339)

    def test_all_or_nothing_stays_inside_bounds(self) -> None:
        assert wilson_interval(0, 10)[0] == pytest.approx(0.0)
        assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
        _, low, high = newcombe_interval(10, 10, 0, 10)
        assert -1.0 <= low < high <= 1.0


# customer, arm, drawn on. Horizon 30 days, until 1 June: draws up to 2 May are judged.
DRAWS = pd.DataFrame(
    [
        *[(c, "intervened", D("2025-03-01")) for c in (1, 2, 3, 4, 5)],
        (6, "intervened", D("2025-05-20")),  # window still open: pending
        (7, "intervened", D("2025-03-01")),  # not at risk by the labels: left out, counted
        *[(c, "held_out", D("2025-03-05")) for c in (11, 12, 13, 14)],
        (11, "intervened", D("2025-04-01")),  # a later draw of 11: only its first (held out) counts
    ],
    columns=["customer_id", "arm", "drawn_on"],
)
# The labels at the draw dates: 1 churned among the worked, 11 and 12 among the held out.
LABELS = pd.DataFrame(
    [(c, date(2025, 3, 1), c == 1) for c in (1, 2, 3, 4, 5)]
    + [(c, date(2025, 3, 5), c in (11, 12)) for c in (11, 12, 13, 14)]
    + [(11, date(2025, 4, 1), False)],
    columns=["customer_id", "as_of", "churned"],
)


class TestSaveRate:
    def test_first_draw_per_customer(self) -> None:
        first = first_draws(DRAWS)
        assert len(first) == 11
        assert first.set_index("customer_id").loc[11, "arm"] == "held_out"

    def test_figures_and_interval_by_hand(self) -> None:
        report = save_rate(first_draws(DRAWS), LABELS, until=UNTIL, horizon_days=30, min_per_arm=3)
        assert report["intervened"] == {
            "customers": 5, "retained": 4, "retained_share": 0.8, "pending": 1, "not_at_risk": 1,
        }  # fmt: skip
        assert report["held_out"] == {
            "customers": 4, "retained": 2, "retained_share": 0.5, "pending": 0, "not_at_risk": 0,
        }  # fmt: skip
        assert report["available"] is True
        assert report["first_draw"] == "2025-03-01"
        # Wilson, z = 1.95996 (z² = 3.84146):
        #   4/5: centre (0.8 + 3.84146/10) / (1 + 3.84146/5) = 0.66965,
        #        half 1.95996 / 1.76829 * sqrt(0.16/5 + 3.84146/100) = 0.29413 -> [0.37553, 0.96378]
        #   2/4: centre (0.5 + 3.84146/8) / (1 + 3.84146/4) = 0.5,
        #        half 1.95996 / 1.96037 * sqrt(0.25/4 + 3.84146/64) = 0.34996 -> [0.15004, 0.84996]
        # Newcombe: 0.3 - sqrt((0.8 - 0.37553)² + (0.84996 - 0.5)²) = 0.3 - 0.55013 = -0.25013
        #           0.3 + sqrt((0.96378 - 0.8)² + (0.5 - 0.15004)²) = 0.3 + 0.38639 = 0.68639
        assert report["difference"] == 0.3
        assert report["ci95"] == [-0.2501, 0.6864]

    def test_too_small_an_arm_is_not_enough_data(self) -> None:
        report = save_rate(first_draws(DRAWS), LABELS, until=UNTIL, horizon_days=30, min_per_arm=5)
        assert report["available"] is False
        assert report["difference"] is None
        assert report["ci95"] is None
        assert report["held_out"]["customers"] == 4
        assert "Not enough data" in report["note"]
        assert "held_out 4" in report["note"]

    def test_without_a_control_group_nothing_is_claimed(self) -> None:
        empty = pd.DataFrame(columns=["customer_id", "arm", "drawn_on"])
        report = save_rate(empty, LABELS.iloc[:0], until=UNTIL, horizon_days=30)
        assert report["available"] is False
        assert report["intervened"]["customers"] == report["held_out"]["customers"] == 0
        assert "CONTROL_SHARE" in report["note"]


def _task(
    task_id: int, owner: str | None, team: str, outcome: str | None, deadline: str, closed: str | None
) -> Any:
    book = {"actions_en": ["Call", "Offer a discount"], "actions_zh": ["致电", "提供折扣"]}
    closed_at = pd.Timestamp(closed).to_pydatetime() if closed else None
    status = "closed" if outcome else "open"
    opened = datetime(2025, 2, 1)
    deadline_at = pd.Timestamp(deadline).to_pydatetime()
    return (task_id, 100 + task_id, owner, team, status, outcome, opened, deadline_at, closed_at, book)


TASKS = pd.DataFrame(
    [
        _task(1, "ray", "East", "retained", "2025-03-03 10:00", "2025-03-02 09:00"),  # on time
        _task(2, "ray", "East", "churned", "2025-03-10 10:00", "2025-03-12 09:00"),  # late
        _task(3, "sam", "West", "false_alarm", "2025-04-05 10:00", "2025-04-01 09:00"),  # on time
        _task(4, None, "West", None, "2025-04-20 10:00", None),  # open past its deadline: missed
        _task(5, "sam", "West", None, "2025-06-10 10:00", None),  # not due by 1 June
        _task(6, "sam", "West", "unreachable", "2025-04-10 10:00", "2025-04-10 10:00"),  # at the deadline
    ],
    columns=TASK_COLUMNS,
)
FOLLOW_UPS = pd.DataFrame(
    [(1, [0, 1]), (1, [0]), (2, [0]), (3, [1]), (4, [5]), (5, [])], columns=["task_id", "actions_done"]
)


class TestTaskOutcomes:
    @pytest.fixture
    def report(self) -> dict[str, Any]:
        return task_outcomes(TASKS, FOLLOW_UPS, until=UNTIL)

    def test_overall(self, report: dict[str, Any]) -> None:
        # 4 closed, one a false alarm: saved share 1 retained / 3.
        assert report["overall"] == {
            "tasks": 6, "open": 2, "closed": 4, "retained": 1, "churned": 1, "false_alarm": 1,
            "unreachable": 1, "saved_share": 0.3333,
        }  # fmt: skip

    def test_by_playbook_action(self, report: dict[str, Any]) -> None:
        # "Call" on tasks 1 and 2 (retained, churned); "Offer a discount" on 1 and 3 (retained, false alarm);
        # task 4's action 5 is not in its playbook and counts for nothing.
        got = [(r["action"], r["action_zh"], r["tasks"], r["saved_share"]) for r in report["by_action"]]
        assert got == [("Call", "致电", 2, 0.5), ("Offer a discount", "提供折扣", 2, 1.0)]

    def test_by_owner_and_team(self, report: dict[str, Any]) -> None:
        owners = [(r["owner"], r["tasks"], r["open"], r["saved_share"]) for r in report["by_owner"]]
        assert owners == [("sam", 3, 1, 0.0), ("ray", 2, 0, 0.5), (None, 1, 1, None)]
        teams = [(r["team"], r["tasks"], r["retained"], r["saved_share"]) for r in report["by_team"]]
        assert teams == [("West", 4, 0, 0.0), ("East", 2, 1, 0.5)]

    def test_deadline_compliance_per_month(self, report: dict[str, Any]) -> None:
        compliance = report["deadline_compliance"]
        assert compliance["months"] == [
            {"month": "2025-03", "due": 2, "on_time": 1, "share": 0.5},
            {"month": "2025-04", "due": 3, "on_time": 2, "share": 0.6667},
        ]
        assert (compliance["due"], compliance["on_time"], compliance["share"]) == (5, 3, 0.6)
