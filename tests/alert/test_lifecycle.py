"""The alert lifecycle on a fake calendar: escalation, auto-resolve, cooldown, inhibition, silence, cap."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from churnradar.alert.lifecycle import (
    CAPPED,
    INHIBITED,
    SILENCED,
    Policy,
    StepResult,
    customer_levels,
    empty_state,
    step,
)

DAY0 = date(2024, 3, 4)
WEEK = timedelta(days=7)


def fired(*rows: tuple[int, str, str]) -> pd.DataFrame:
    """(customer_id, rule, level) rows that fire today."""
    return pd.DataFrame(
        [(c, r, "general", level, f"{r} fired", f"{r} 触发", None) for c, r, level in rows],
        columns=["customer_id", "rule", "template", "level", "reason_en", "reason_zh", "values"],
    )


def run(
    state: pd.DataFrame, today: pd.DataFrame, day: date, policy: Policy | None = None, **kw: object
) -> StepResult:
    return step(state, today, as_of=day, policy=policy or Policy(), **kw)  # type: ignore[arg-type]


def kinds(result: StepResult) -> list[tuple[int, str, str]]:
    return sorted(
        (int(c), r, k) for c, r, k in result.events[["customer_id", "rule", "kind"]].itertuples(index=False)
    )


class TestOpenAndEscalate:
    def test_opens_once_and_same_day_rerun_changes_nothing(self) -> None:
        first = run(empty_state(), fired((1, "login_drop", "yellow")), DAY0)
        assert kinds(first) == [(1, "login_drop", "opened")]
        again = run(first.state, fired((1, "login_drop", "yellow")), DAY0)
        assert again.events.empty
        pd.testing.assert_frame_equal(again.state, first.state)

    def test_higher_level_escalates_the_same_alert_keeping_its_opening_date(self) -> None:
        first = run(empty_state(), fired((1, "login_drop", "yellow")), DAY0)
        second = run(first.state, fired((1, "login_drop", "red")), DAY0 + WEEK)
        row = second.state.iloc[0]
        assert (row["level"], row["opened_on"]) == ("red", DAY0)
        assert second.events[["kind", "from_level", "to_level"]].values.tolist() == [
            ["escalated", "yellow", "red"]
        ]
        third = run(second.state, fired((1, "login_drop", "orange")), DAY0 + 2 * WEEK)
        assert third.events["kind"].tolist() == ["deescalated"]


class TestResolveAndCooldown:
    def test_resolves_after_n_quiet_evaluations_then_cools_down(self) -> None:
        policy = Policy(auto_resolve_after=2, cooldown_days=14)
        state = run(empty_state(), fired((1, "r", "yellow")), DAY0, policy).state
        quiet1 = run(state, fired(), DAY0 + WEEK, policy)
        assert quiet1.events.empty
        assert int(quiet1.state.iloc[0]["false_streak"]) == 1
        quiet1_again = run(quiet1.state, fired(), DAY0 + WEEK, policy)  # same date: no double count
        assert int(quiet1_again.state.iloc[0]["false_streak"]) == 1
        quiet2 = run(quiet1.state, fired(), DAY0 + 2 * WEEK, policy)
        assert kinds(quiet2) == [(1, "r", "resolved")]
        assert quiet2.state.empty
        resolved = quiet2.resolved
        back_soon = run(
            quiet2.state, fired((1, "r", "yellow")), DAY0 + 3 * WEEK, policy, recent_resolved=resolved
        )
        assert back_soon.state.empty
        assert back_soon.held_by_cooldown == 1
        back_later = run(
            quiet2.state, fired((1, "r", "yellow")), DAY0 + 5 * WEEK, policy, recent_resolved=resolved
        )
        assert kinds(back_later) == [(1, "r", "opened")]

    def test_firing_again_resets_the_quiet_streak(self) -> None:
        state = run(empty_state(), fired((1, "r", "yellow")), DAY0).state
        state = run(state, fired(), DAY0 + WEEK).state
        state = run(state, fired((1, "r", "yellow")), DAY0 + 2 * WEEK).state
        after = run(state, fired(), DAY0 + 3 * WEEK)
        assert after.resolved.empty
        assert int(after.state.iloc[0]["false_streak"]) == 1


class TestMutes:
    def test_red_inhibits_lower_levels_of_the_same_customer_only(self) -> None:
        result = run(empty_state(), fired((1, "a", "yellow"), (1, "b", "red"), (2, "a", "yellow")), DAY0)
        muted = {
            (int(c), r): m
            for c, r, m in result.state[["customer_id", "rule", "muted"]].itertuples(index=False)
        }
        assert muted == {(1, "a"): INHIBITED, (1, "b"): None, (2, "a"): None}
        lifted = run(
            result.state,
            fired((1, "a", "yellow"), (2, "a", "yellow")),
            DAY0 + WEEK,
            Policy(auto_resolve_after=1),
        )
        assert lifted.state.set_index("rule").loc["a"].query("customer_id == 1")["muted"].isna().all()
        assert "unmuted: inhibited" in lifted.events["cause"].tolist()

    @pytest.mark.parametrize(
        ("silence", "muted_keys"),
        [
            pytest.param((1, None), {(1, "a"), (1, "b")}, id="whole_customer"),
            pytest.param((None, "a"), {(1, "a"), (2, "a")}, id="rule_everywhere"),
            pytest.param((2, "a"), {(2, "a")}, id="rule_for_customer"),
        ],
    )
    def test_silences(self, silence: tuple[int | None, str | None], muted_keys: set[tuple[int, str]]) -> None:
        silences = pd.DataFrame([silence], columns=["customer_id", "rule"])
        result = run(
            empty_state(),
            fired((1, "a", "yellow"), (1, "b", "orange"), (2, "a", "yellow")),
            DAY0,
            silences=silences,
        )
        state = result.state
        assert {
            (int(c), r)
            for c, r, m in state[["customer_id", "rule", "muted"]].itertuples(index=False)
            if m == SILENCED
        } == muted_keys

    def test_cap_per_owner_keeps_the_overflow_visible(self) -> None:
        policy = Policy(cap_per_owner=2)
        owners = pd.Series({1: 10, 2: 10, 3: 10, 4: 20})
        result = run(
            empty_state(),
            fired((1, "a", "yellow"), (2, "a", "orange"), (3, "a", "yellow"), (4, "a", "yellow")),
            DAY0,
            policy,
            owners=owners,
        )
        muted = dict(zip(result.state["customer_id"], result.state["muted"], strict=True))
        # Owner 10 gets the orange one and one yellow; the other yellow is kept, muted as capped.
        assert sorted(m for c, m in muted.items() if c in (1, 2, 3) if m) == [CAPPED]
        assert muted[2] is None
        assert muted[4] is None
        assert result.counts["capped"] == 1
        assert result.counts["open"] == 4


def test_customer_level_is_the_highest_visible_alert() -> None:
    silences = pd.DataFrame([(None, "c")], columns=["customer_id", "rule"])
    state = run(
        empty_state(), fired((1, "a", "yellow"), (1, "b", "orange"), (2, "c", "red")), DAY0, silences=silences
    ).state
    assert customer_levels(state, Policy()).to_dict() == {1: "orange"}
