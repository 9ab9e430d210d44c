"""The save rate: the share of alerted customers retained when worked, against the held-out control group.

The unit is a customer's first draw (intervention.control): the day an alert would have opened a task and the
customer was either given one (`intervened`) or held out (`held_out`). Later draws of the same customer are
left out, so the customers of the two arms are independent and each counts once. The outcome is CONTRACT §3's
label at the draw date (evaluation.labels): churned within the horizon or not. A draw is judged once its
window has closed by `until`; younger ones are pending. A customer not at risk at the draw date by the labels
(already gone, or silent longer than the inactivity period) is left out and counted.

The difference of the retained shares (intervened - held out) comes with Newcombe's hybrid score interval
(method 10 of Newcombe 1998), built from the two Wilson score intervals: it stays inside [-1, 1] and keeps
its coverage for small arms and shares near 0 or 1, where the textbook Wald interval does not.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd
from scipy.stats import norm

from churnradar.intervention.control import INTERVENED

HELD_OUT = "held_out"
ARMS = (INTERVENED, HELD_OUT)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a proportion (n > 0)."""
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(
    k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95
) -> tuple[float, float, float]:
    """p1 - p2 and Newcombe's hybrid score interval for it: (difference, lower, upper)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, confidence)
    l2, u2 = wilson_interval(k2, n2, confidence)
    difference = p1 - p2
    lower = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, lower, upper


def first_draws(draws: pd.DataFrame) -> pd.DataFrame:
    """Each customer's first draw: customer_id, arm, drawn_on."""
    ordered = draws.sort_values(["customer_id", "drawn_on"], kind="stable")
    return ordered.drop_duplicates("customer_id")[["customer_id", "arm", "drawn_on"]].reset_index(drop=True)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def save_rate(
    draws: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    until: date,
    horizon_days: int,
    min_per_arm: int = 30,
) -> dict[str, Any]:
    """Retained share per arm, the difference with a 95% interval, n per arm; "not enough data" if small.

    `draws`: customer_id, arm, drawn_on (first draws); `labels`: customer_id, as_of, churned (at risk only).
    """
    judged_until = pd.Timestamp(until) - pd.Timedelta(days=horizon_days)
    frame = draws.assign(drawn_on=pd.to_datetime(draws["drawn_on"]))
    closed = frame[frame["drawn_on"] <= judged_until]
    outcome = labels.assign(as_of=pd.to_datetime(labels["as_of"]))[["customer_id", "as_of", "churned"]]
    judged = closed.merge(
        outcome, left_on=["customer_id", "drawn_on"], right_on=["customer_id", "as_of"], how="left"
    )
    at_risk = judged[judged["churned"].notna()]
    arms: dict[str, dict[str, Any]] = {}
    for arm in ARMS:
        rows = at_risk[at_risk["arm"] == arm]
        n, retained = len(rows), int((~rows["churned"].astype(bool)).sum())
        arms[arm] = {
            "customers": n,
            "retained": retained,
            "retained_share": _round(retained / n) if n else None,
            "pending": int(((frame["arm"] == arm) & (frame["drawn_on"] > judged_until)).sum()),
            "not_at_risk": int(((judged["arm"] == arm) & judged["churned"].isna()).sum()),
        }
    small = [arm for arm in ARMS if arms[arm]["customers"] < min_per_arm]
    result: dict[str, Any] = {
        "available": not small,
        "min_per_arm": min_per_arm,
        "horizon_days": horizon_days,
        "first_draw": frame["drawn_on"].min().date().isoformat() if len(frame) else None,
        **arms,
        "difference": None,
        "ci95": None,
    }
    if not len(frame):
        result["note"] = (
            "No control group yet: set CHURNRADAR_INTERVENTIONS__CONTROL_SHARE (e.g. 0.1) to hold out a "
            "random share of new alerts; without it a retained customer may have stayed anyway."
        )
    elif small:
        sizes = ", ".join(f"{arm} {arms[arm]['customers']}" for arm in ARMS)
        result["note"] = (
            f"Not enough data: at least {min_per_arm} judged customers per arm are needed ({sizes}); "
            f"outcome windows close {horizon_days} days after each draw."
        )
    else:
        difference, lower, upper = newcombe_interval(
            arms[INTERVENED]["retained"],
            arms[INTERVENED]["customers"],
            arms[HELD_OUT]["retained"],
            arms[HELD_OUT]["customers"],
        )
        result |= {"difference": _round(difference), "ci95": [_round(lower), _round(upper)]}
        result["note"] = (
            "Retained share of worked customers minus that of held-out ones, with a 95% interval "
            "(Newcombe's hybrid score method); an interval that includes 0 does not show an effect."
        )
    return result
