"""The alert lifecycle as one pure step: open alerts + what fired today → new open alerts + what happened.

The same function serves `evaluate` (state loaded from and saved to the database) and the backtest (state
kept in memory from one as-of date to the next), so what a backtest promises is what live runs do.

State columns (one row per open alert): customer_id, rule, template, level, opened_on, last_fired_on,
last_evaluated_on, false_streak, muted, reason_en, reason_zh, values. `fired` has customer_id, rule,
template, level, reason_en, reason_zh, values (one row per rule whose condition holds today). The frames
are declared in `alert/frames.py` (`AlertState`, `AlertChanges`) and `rule/frames.py` (`FiredRules`), and
checked where a live evaluation passes them on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from churnradar.kit.levels import DEFAULT_LEVELS, level_ranks

KEY = ["customer_id", "rule"]
STATE_COLUMNS = [
    "customer_id",
    "rule",
    "template",
    "level",
    "opened_on",
    "last_fired_on",
    "last_evaluated_on",
    "false_streak",
    "muted",
    "reason_en",
    "reason_zh",
    "values",
]
EVENT_COLUMNS = ["customer_id", "rule", "kind", "from_level", "to_level", "cause"]
INHIBITED, SILENCED, CAPPED = "inhibited", "silenced", "capped"
# Held out for the control group (intervention decides who): no task, no notice; sticky while open, and it
# spreads to every open alert of the customer, so a held-out customer is not worked through another rule.
HOLDOUT = "holdout"


@dataclass(frozen=True)
class Policy:
    """How alerts behave; the defaults are what a sales team expects out of the box."""

    levels: tuple[str, ...] = DEFAULT_LEVELS
    auto_resolve_after: int = 2  # evaluations in a row with the condition false
    cooldown_days: int = 14  # after a resolve, the same rule stays quiet for the customer this long
    cap_per_owner: int | None = 30  # new unmuted alerts per owner per run; the rest are kept, muted "capped"

    def rank(self, levels: pd.Series) -> pd.Series:
        """Position of each level in `levels` order (higher is worse); unknown levels rank -1."""
        return levels.map(level_ranks(self.levels)).fillna(-1).astype(int)


@dataclass
class StepResult:
    """The open alerts after the step, the resolved ones, and every change with its cause."""

    state: pd.DataFrame
    resolved: pd.DataFrame
    events: pd.DataFrame
    held_by_cooldown: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def empty_state() -> pd.DataFrame:
    """A state with no open alerts."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in STATE_COLUMNS}).astype(
        {"customer_id": "int64", "false_streak": "int64"}
    )


def _events(
    frame: pd.DataFrame, kind: str, cause: str | pd.Series, from_col: str | None, to_col: str | None
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(),
            "rule": frame["rule"].to_numpy(),
            "kind": kind,
            "from_level": frame[from_col].to_numpy() if from_col else None,
            "to_level": frame[to_col].to_numpy() if to_col else None,
            "cause": cause if isinstance(cause, str) else cause.to_numpy(),
        }
    )


def _in_cooldown(
    candidates: pd.DataFrame, recent_resolved: pd.DataFrame, as_of: date, days: int
) -> np.ndarray:
    if recent_resolved.empty or days <= 0:
        return np.zeros(len(candidates), dtype=bool)
    since = as_of - timedelta(days=days)
    recent = recent_resolved[pd.to_datetime(recent_resolved["resolved_on"]) > pd.Timestamp(since)][
        KEY
    ].drop_duplicates()
    marked = candidates[KEY].merge(recent.assign(_hit=True), on=KEY, how="left")["_hit"]
    return marked.fillna(False).astype(bool).to_numpy()


def _silenced(state: pd.DataFrame, silences: pd.DataFrame) -> np.ndarray:
    if silences.empty or state.empty:
        return np.zeros(len(state), dtype=bool)
    hit = np.zeros(len(state), dtype=bool)
    for customer_id, rule in silences[["customer_id", "rule"]].itertuples(index=False, name=None):
        by_customer = state["customer_id"].to_numpy() == customer_id if pd.notna(customer_id) else True
        by_rule = state["rule"].to_numpy() == rule if pd.notna(rule) and rule else True
        hit |= np.asarray(by_customer & by_rule, dtype=bool)
    return hit


def _mute(
    state: pd.DataFrame, new_mask: np.ndarray, silences: pd.DataFrame, owners: pd.Series, policy: Policy
) -> pd.Series:
    """The mute of each open alert: held out, silenced, inhibited by a top-level alert, or capped if new."""
    muted = pd.Series([None] * len(state), index=state.index, dtype=object)
    if state.empty:
        return muted
    rank = policy.rank(state["level"])
    top = len(policy.levels) - 1
    has_top = rank.eq(top).groupby(state["customer_id"]).transform("any")
    held_out = state["muted"].eq(HOLDOUT).groupby(state["customer_id"]).transform("any").to_numpy()
    muted[(rank < top) & has_top] = INHIBITED
    muted[_silenced(state, silences)] = SILENCED
    previously_capped = (state["muted"] == CAPPED).to_numpy()
    if policy.cap_per_owner is not None:
        # New alerts compete for the owner's capacity, worst level first; alerts capped earlier stay capped.
        eligible = pd.Series(new_mask & ~held_out, index=state.index) & muted.isna()
        owner = state["customer_id"].map(owners)
        order = state.assign(_rank=-rank, _owner=owner)[eligible].sort_values(
            ["_owner", "_rank", "customer_id"]
        )
        position = order.groupby("_owner", dropna=False).cumcount()
        muted[position[position >= policy.cap_per_owner].index] = CAPPED
        muted[previously_capped & muted.isna().to_numpy()] = CAPPED
    muted[held_out] = HOLDOUT
    return muted


def step(
    state: pd.DataFrame,
    fired: pd.DataFrame,
    *,
    as_of: date,
    policy: Policy,
    recent_resolved: pd.DataFrame | None = None,
    silences: pd.DataFrame | None = None,
    owners: pd.Series | None = None,
) -> StepResult:
    """Advance the open alerts to `as_of`; a second step for the same date changes nothing."""
    recent_resolved = (
        recent_resolved if recent_resolved is not None else pd.DataFrame(columns=[*KEY, "resolved_on"])
    )
    silences = silences if silences is not None else pd.DataFrame(columns=["customer_id", "rule"])
    owners = owners if owners is not None else pd.Series(dtype="object")
    merged = state.merge(fired, on=KEY, how="outer", suffixes=("", "_now"), indicator=True)
    already = merged["last_evaluated_on"].notna() & (
        pd.to_datetime(merged["last_evaluated_on"]) >= pd.Timestamp(as_of)
    )
    events: list[pd.DataFrame] = []

    both = merged[(merged["_merge"] == "both")].copy()
    changed = both["level"] != both["level_now"]
    up = changed & (policy.rank(both["level_now"]) > policy.rank(both["level"]))
    events.append(
        _events(both[up], "escalated", "the condition for a higher level holds", "level", "level_now")
    )
    events.append(
        _events(
            both[changed & ~up], "deescalated", "only a lower level's condition holds", "level", "level_now"
        )
    )
    for column in ("level", "reason_en", "reason_zh", "values", "template"):
        both[column] = both[f"{column}_now"]
    both["last_fired_on"] = as_of
    both["false_streak"] = 0

    quiet = merged[merged["_merge"] == "left_only"].copy()
    fresh = ~already[quiet.index]
    quiet.loc[fresh, "false_streak"] = quiet.loc[fresh, "false_streak"].astype(int) + 1
    resolving = quiet["false_streak"].astype(int) >= policy.auto_resolve_after
    resolved = quiet[resolving].copy()
    resolved["resolved_on"] = as_of
    events.append(
        _events(
            resolved,
            "resolved",
            f"condition false for {policy.auto_resolve_after} evaluations",
            "level",
            None,
        )
    )
    quiet = quiet[~resolving]

    new = merged[merged["_merge"] == "right_only"].copy()
    cooling = _in_cooldown(new, recent_resolved, as_of, policy.cooldown_days)
    held = int(cooling.sum())
    new = new[~cooling]
    for column in ("level", "reason_en", "reason_zh", "values", "template"):
        new[column] = new[f"{column}_now"]
    new["opened_on"] = new["last_fired_on"] = as_of
    new["false_streak"] = 0
    new["muted"] = None
    events.append(_events(new, "opened", "the rule's condition holds", None, "level"))

    after = pd.concat([both, quiet, new], ignore_index=True)
    after["last_evaluated_on"] = as_of
    is_new = np.r_[np.zeros(len(both) + len(quiet), dtype=bool), np.ones(len(new), dtype=bool)]
    before_mute = after["muted"].copy()
    after["muted"] = _mute(after, is_new, silences, owners, policy)
    old, now = before_mute.fillna(""), after["muted"].fillna("")
    flips = (old != now) & ~pd.Series(is_new & (now == "").to_numpy())
    if flips.any():
        flipped = after[flips.to_numpy()].assign(
            _cause=np.where(now[flips] == "", "unmuted: " + old[flips], "muted: " + now[flips])
        )
        events.append(_events(flipped, "muted", flipped["_cause"], None, "level"))
    state_out = after[STATE_COLUMNS].reset_index(drop=True)
    all_events = (
        pd.concat([e for e in events if not e.empty], ignore_index=True)
        if any(not e.empty for e in events)
        else pd.DataFrame(columns=EVENT_COLUMNS)
    )
    counts = {
        "opened": len(new),
        "escalated": int(up.sum()),
        "deescalated": int((changed & ~up).sum()),
        "resolved": len(resolved),
        "held_by_cooldown": held,
        "open": len(state_out),
        "capped": int((state_out["muted"] == CAPPED).sum()),
        "inhibited": int((state_out["muted"] == INHIBITED).sum()),
        "silenced": int((state_out["muted"] == SILENCED).sum()),
    }
    return StepResult(
        state_out, resolved[[*KEY, "level", "resolved_on"]].reset_index(drop=True), all_events, held, counts
    )


def customer_levels(state: pd.DataFrame, policy: Policy) -> pd.Series:
    """Each customer's level: the highest open alert that is not silenced (capped and held-out ones count:
    the customer is at risk all the same; holding out only withholds the task and the notice)."""
    visible = state[state["muted"].fillna("") != SILENCED]
    if visible.empty:
        return pd.Series(dtype="object")
    rank = policy.rank(visible["level"])
    best = rank.groupby(visible["customer_id"]).max()
    return best.map(dict(enumerate(policy.levels)))


def levels_of(policy: Policy) -> Sequence[str]:
    """The configured levels, lowest first."""
    return policy.levels
