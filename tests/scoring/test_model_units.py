"""The churn model's parts on small hand-made data: date split, calibration, metrics, BG/NBD, reasons."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from churnradar.scoring.baselines import BgNbd, bgnbd_risk, fit_bgnbd, purchase_history, recency_risk
from churnradar.scoring.dataset import change_feature, closed_before, leaked_features, with_changes
from churnradar.scoring.exceptions import NotEnoughHistoryError
from churnradar.scoring.model import (
    Calibrator,
    calibration_table,
    fit_calibrator,
    metrics,
    split_dates,
    train,
)
from churnradar.scoring.reasons import Words, explain, feature_words, format_value, reason

WEEKS = [date(2025, 1, 6) + timedelta(weeks=i) for i in range(40)]


def test_split_is_by_time_with_a_horizon_gap() -> None:
    split = split_dates(WEEKS, horizon_days=28)
    assert split.train
    assert split.calibrate
    assert split.test
    assert max(split.train) + timedelta(days=28) <= min(split.calibrate)
    assert max(split.calibrate) < min(split.test)
    assert max(split.test) == WEEKS[-1]
    assert set(split.train) | set(split.calibrate) | set(split.test) <= set(WEEKS)


def test_split_refuses_too_short_a_history() -> None:
    with pytest.raises(NotEnoughHistoryError):
        split_dates(WEEKS[:6], horizon_days=90)


def test_closed_before_keeps_only_labels_known_by_then() -> None:
    kept = closed_before(WEEKS, date(2025, 6, 1), horizon_days=90)
    assert kept
    assert all(d + timedelta(days=90) <= date(2025, 6, 1) for d in kept)
    assert WEEKS[len(kept)] + timedelta(days=90) > date(2025, 6, 1)


def _synthetic(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i, day in enumerate(WEEKS):
        n = 600
        signal = rng.normal(size=n)
        noise = rng.normal(size=n)
        # The base rate drifts upwards over time, so a model fitted on early dates is miscalibrated later.
        logit = -2.5 + 0.02 * i + 1.5 * signal
        churned = rng.random(n) < 1 / (1 + np.exp(-logit))
        rows.append(
            pd.DataFrame(
                {
                    "customer_id": np.arange(n),
                    "as_of": day,
                    "signal": signal,
                    "noise": noise,
                    "churned": churned,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_training_validates_on_later_dates_and_calibration_lowers_brier() -> None:
    data = _synthetic()
    trained = train(data, ["signal", "noise"], horizon_days=28)
    assert set(trained.test_rows["as_of"]) == set(trained.split.test)
    assert min(trained.split.test) > max(trained.split.train)
    held = trained.metrics
    assert held["model"]["auc"] > 0.75
    assert held["model"]["brier"] < held["model_uncalibrated"]["brier"]
    assert held["importance"].get("signal", 0) > held["importance"].get("noise", 0)


def test_calibrator_is_plain_numbers_and_round_trips() -> None:
    rng = np.random.default_rng(1)
    raw = rng.random(5_000)
    truth = rng.random(5_000) < raw**2  # raw overstates the risk
    iso = fit_calibrator(raw, truth)
    assert iso.method == "isotonic"
    assert Calibrator.from_dict(iso.as_dict()) == iso
    platt = fit_calibrator(raw[:500], truth[:500])
    assert platt.method == "platt"
    fresh_raw = rng.random(5_000)
    fresh_truth = rng.random(5_000) < fresh_raw**2
    brier = lambda p: float(np.mean((p - fresh_truth) ** 2))  # noqa: E731
    assert brier(iso.apply(fresh_raw)) < brier(fresh_raw)
    assert brier(platt.apply(fresh_raw)) < brier(fresh_raw)


def test_isotonic_end_steps_hold_enough_rows() -> None:
    # 3,000 rows at a 10 % rate, and the five highest-scored all churned: plain isotonic regression gives
    # them probability 1.0 on five rows; pooled with the step below into 100+ rows, far less.
    rng = np.random.default_rng(2)
    raw = np.sort(rng.random(3_000))
    truth = rng.random(3_000) < 0.1
    truth[-5:] = True
    truth[:5] = False
    calibrator = fit_calibrator(raw, truth)
    assert calibrator.method == "isotonic"
    assert calibrator.y == sorted(calibrator.y)
    assert calibrator.x == sorted(calibrator.x)
    top, bottom = calibrator.apply(np.array([1.0, 0.0]))
    assert 0.05 < top < 0.5
    assert 0.0 < bottom < 0.1
    rows_at_top = int((calibrator.apply(raw) == top).sum())
    assert rows_at_top >= 100
    assert truth[calibrator.apply(raw) == top].mean() == pytest.approx(top)


def test_metrics_by_hand() -> None:
    truth = np.array([True, False, False, False, True, False, False, False, False, False])
    risk = np.array([0.9, 0.8, 0.1, 0.2, 0.3, 0.1, 0.0, 0.2, 0.1, 0.1])
    got = metrics(truth, risk)
    # Pairs (churned, not): 0.9 beats all 8; 0.3 beats 0.1, 0.2, 0.1, 0.0, 0.2, 0.1, 0.1 (7), loses to 0.8.
    assert got["auc"] == round(15 / 16, 4)
    # Top decile is one row (0.9, churned): 1.0 / base rate 0.2.
    assert got["lift_top_decile"] == 5.0
    assert got["brier"] == round(float(np.mean((risk - truth) ** 2)), 5)
    assert metrics(np.array([False, False]), np.array([0.1, 0.2]))["auc"] is None


def test_calibration_table_by_hand() -> None:
    # Ten rows in five quantile bins of two each; mean probability and churn rate per bin.
    probability = np.array([0.1, 0.1, 0.2, 0.2, 0.3, 0.4, 0.5, 0.5, 0.9, 0.9])
    truth = np.array([False, False, False, True, False, True, True, False, True, True])
    table = calibration_table(truth, probability, bins=5)
    assert [row["rows"] for row in table] == [2, 2, 2, 2, 2]
    assert [row["predicted"] for row in table] == [0.1, 0.2, 0.35, 0.5, 0.9]
    assert [row["observed"] for row in table] == [0.0, 0.5, 0.5, 0.5, 1.0]
    # Tied probabilities (isotonic steps) fall into one bin; the bins left empty are left out.
    tied = calibration_table(truth, np.array([0.1] * 8 + [0.9] * 2), bins=5)
    assert [(row["predicted"], row["rows"]) for row in tied] == [(0.1, 8), (0.9, 2)]
    assert calibration_table(np.zeros(3, dtype=bool), np.array([0.1, 0.2, 0.3])) == []


def _simulate_bgnbd(model: BgNbd, n: int, weeks: float, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    lam = rng.gamma(model.r, 1 / model.alpha, n)
    p = rng.beta(model.a, model.b, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > weeks:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:  # drops out after this purchase
                break
    return x, t_x, np.full(n, weeks)


def test_bgnbd_recovers_the_parameters_it_simulated() -> None:
    truth = BgNbd(r=0.25, alpha=4.0, a=0.8, b=2.5)  # near the published CDNOW fit
    x, t_x, t = _simulate_bgnbd(truth, 6_000, 39.0, seed=5)
    fitted = fit_bgnbd(x, t_x, t)
    assert fitted.r == pytest.approx(truth.r, rel=0.15)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.25)
    assert fitted.a == pytest.approx(truth.a, rel=0.35)
    assert fitted.b == pytest.approx(truth.b, rel=0.45)


def test_bgnbd_p_alive_behaves() -> None:
    model = BgNbd(r=0.25, alpha=4.0, a=0.8, b=2.5)
    alive = model.p_alive(
        np.array([0.0, 3.0, 3.0, 3.0]), np.array([0.0, 30.0, 10.0, 30.0]), np.array([39.0] * 3 + [60.0])
    )
    assert alive[0] == 1.0  # no repeat purchase: BG/NBD cannot tell (a known limit)
    assert alive[1] > alive[2]  # a recent last purchase means more likely alive
    assert alive[3] < alive[1]  # the same history, seen later, is less likely alive


def test_recency_and_bgnbd_inputs_by_hand() -> None:
    days = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2],
            "day": pd.to_datetime(["2025-01-01", "2025-01-15", "2025-03-01", "2025-02-01"]),
        }
    )
    keys = pd.DataFrame({"customer_id": [1, 2, 3], "as_of": [date(2025, 3, 1)] * 3})
    # Customer 1's visit on the as-of date itself is not known yet: 45 days since 2025-01-15.
    assert list(recency_risk(keys, days)) == [45.0, 28.0, 46.0]
    history = purchase_history(days, date(2025, 3, 1))
    assert history.loc[1].tolist() == [1.0, 2.0, pytest.approx(59 / 7)]
    assert history.loc[2].tolist() == [0.0, 0.0, 4.0]
    assert np.isnan(bgnbd_risk(keys, days)).all()  # too few buyers to fit: no opinion


def test_leaked_features_names_the_column_that_differs() -> None:
    full = pd.DataFrame({"customer_id": [1, 2], "as_of": [WEEKS[0]] * 2, "a": [1.0, np.nan], "b": [2.0, 3.0]})
    known = full.assign(b=[2.0, 4.0])
    assert leaked_features(full, full) == []
    assert leaked_features(full, known) == ["b"]
    assert leaked_features(full, known.iloc[:1]) == ["<rows>"]


def test_reasons_in_words() -> None:
    words = {
        "days_since_last_order": Words("Days since last order", "距上次下单天数", "days"),
        "orders_change_pct": Words("Change in orders vs baseline", "订单较基线变化", "%", "pct"),
        "complaints_90d": Words("Complaints in 90 days", "近90天投诉数"),
    }
    values = pd.DataFrame(
        {
            "days_since_last_order": [74.0, 3.0],
            "orders_change_pct": [-62.4, np.nan],
            "complaints_90d": [0.0, 2.0],
        }
    )
    contributions = np.array([[1.2, 0.4, -0.3, -2.0], [-0.5, 0.7, 0.2, -2.0]])
    medians = {"days_since_last_order": 20.0, "orders_change_pct": 0.0, "complaints_90d": 0.0}
    got = explain(contributions, values, medians, words, top=3)
    assert got.reasons_en[0] == (
        "Days since last order: 74, typically 20; Change in orders vs baseline: down 62% against usual"
    )
    assert got.reasons_zh[0] == "距上次下单天数：74，通常为20；订单较基线变化：比平常下降62%"
    assert got.reasons_en[1] == (
        "Change in orders vs baseline: none recorded; Complaints in 90 days: 2, typically 0"
    )
    assert got.contributions[0] == {"days_since_last_order": 1.2, "orders_change_pct": 0.4}
    first = got.items[0][0]
    assert (first.feature, first.value, first.typical, first.contribution) == (
        "days_since_last_order",
        74.0,
        20.0,
        1.2,
    )
    assert got.items[1][0].value is None  # missing, not NaN: the JSON of `explain` has null there
    assert format_value(5180.04, "") == "5,180"
    assert format_value(0.256, "") == "0.26"
    assert format_value(0.256, "share") == "26%"
    assert reason(words["complaints_90d"], 1.0, None)[0] == "Complaints in 90 days: 1"


def test_reasons_read_against_the_customers_own_baseline() -> None:
    ratio = Words("Orders last 30 days vs monthly baseline", "订单", "ratio", "ratio")
    assert reason(ratio, 0.4, 1.0)[0] == "Orders last 30 days vs monthly baseline: down 60% against usual"
    assert reason(ratio, 1.5, 1.0)[0] == "Orders last 30 days vs monthly baseline: up 50% against usual"
    assert reason(ratio, 1.0, 0.8)[0] == "Orders last 30 days vs monthly baseline: 1"  # no change: the value
    drop = Words("Activity drop vs baseline", "活跃度较基线下降", "%", "drop")
    assert reason(drop, 70.0, 0.0)[0] == "Activity drop vs baseline: down 70% against usual"
    assert reason(drop, 70.0, 0.0)[1] == "活跃度较基线下降：比平常下降70%"
    delta = Words("Orders in the last 30 days", "近30天订单数", "orders", "delta")
    assert reason(delta, -4.0, 0.0) == (
        "Orders in the last 30 days: down 4 in 4 weeks",
        "近30天订单数：4周内减少4",
    )
    assert reason(delta, 2.0, 0.0)[0] == "Orders in the last 30 days: up 2 in 4 weeks"
    assert reason(delta, 0.0, 0.0)[0] == "Orders in the last 30 days: unchanged in 4 weeks"


def test_feature_words_come_from_the_registry_with_how_each_reads() -> None:
    words = feature_words(
        ["orders_vs_baseline", "feature_breadth_ratio", "activity_drop_pct", "days_since_last_order",
         change_feature("orders_30d"), "tenure_days"]
    )  # fmt: skip
    assert words["orders_vs_baseline"].shape == "ratio"  # against the customer's own monthly baseline
    assert words["feature_breadth_ratio"].shape == "level"  # a ratio, but not to an earlier period
    assert words["activity_drop_pct"].shape == "drop"
    assert words["days_since_last_order"].shape == "level"
    change = words[change_feature("orders_30d")]
    assert (change.shape, change.name_en) == ("delta", "Orders in the last 30 days")
    assert change.name_zh
    assert change.name_zh != change.name_en
    assert words["tenure_days"].name_en == "Days as a customer"


def test_changes_against_four_weeks_earlier() -> None:
    now = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "as_of": [date(2026, 3, 30)] * 3,
            "orders_30d": [2.0, 5.0, 1.0],
            "balance_last": [100.0, np.nan, 7.0],
        }
    )
    before = pd.DataFrame(
        {
            "customer_id": [1, 2, 1],
            "as_of": [date(2026, 3, 2), date(2026, 3, 2), date(2026, 3, 9)],  # 3-09 is three weeks back
            "orders_30d": [6.0, 5.0, 0.0],
            "balance_last": [40.0, 10.0, 0.0],
        }
    )
    got = with_changes(now, before)
    assert got[change_feature("orders_30d")].tolist()[:2] == [-4.0, 0.0]
    assert np.isnan(got[change_feature("orders_30d")].iloc[2])  # customer 3 had no row four weeks back
    assert got[change_feature("balance_last")].iloc[0] == 60.0
    assert np.isnan(got[change_feature("balance_last")].iloc[1])  # no value now
    assert list(got.columns[:4]) == list(now.columns)
