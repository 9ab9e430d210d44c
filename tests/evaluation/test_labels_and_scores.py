"""Backtest labels (CONTRACT §3) and metrics, checked by hand on tiny data."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from churnradar.evaluation.backtest import BacktestWindow, score_backtest
from churnradar.evaluation.labels import label_snapshots

D1, D2 = date(2024, 4, 1), date(2024, 4, 8)


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (1, "2023-01-01", None),  # judged by activity: active, then silent from 2024-03-20
            (2, "2023-01-01", "2024-05-01"),  # declared churn inside the horizon
            (3, "2023-01-01", "2024-03-15"),  # churned before D1: not at risk
            (4, "2024-04-05", None),  # signs up between D1 and D2
            (5, "2023-01-01", None),  # contract that lapses on 2024-04-30, not renewed
            (6, "2023-01-01", None),  # contract renewed: never churns
        ],
        columns=["customer_id", "signup_date", "churned_at"],
    )


def _activity() -> pd.DataFrame:
    days = [(1, "2024-03-19"), (4, "2024-04-06"), (4, "2024-05-01"), (5, "2024-01-01")]
    return pd.DataFrame(days, columns=["customer_id", "day"])


def _contracts() -> pd.DataFrame:
    rows = [(5, "2023-05-01", "2024-04-30"), (6, "2023-05-01", "2024-04-30"), (6, "2024-05-01", "2025-04-30")]
    return pd.DataFrame(rows, columns=["customer_id", "start_date", "end_date"])


def test_labels_follow_the_contract() -> None:
    labels = label_snapshots(
        _customers(), _activity(), _contracts(), [D1, D2], horizon_days=30, inactivity_days=30
    )
    got = {
        (int(c), d.isoformat()): bool(ch)
        for c, d, ch in labels[["customer_id", "as_of", "churned"]].itertuples(index=False, name=None)
    }
    assert got == {
        (1, "2024-04-01"): True,
        (1, "2024-04-08"): True,  # active in the 30 days before, silent after
        (2, "2024-04-01"): False,
        (2, "2024-04-08"): True,  # 2024-05-01 is 30 days after D1: outside [D1, D1+30)
        (4, "2024-04-08"): False,  # active before D2 and again inside the horizon
        (5, "2024-04-01"): True,
        (5, "2024-04-08"): True,  # contract ends unrenewed inside the horizon
        (6, "2024-04-01"): False,
        (6, "2024-04-08"): False,
    }
    churn_dates = labels.set_index(["customer_id", "as_of"])["churn_date"]
    assert churn_dates[(1, D1)] == pd.Timestamp("2024-04-18")  # last activity + the 30 inactivity days
    assert churn_dates[(5, D1)] == pd.Timestamp("2024-04-30")


def test_scores_by_hand() -> None:
    # Four customer-snapshots; customers 1 and 2 churn on 2024-05-01; alerts on customer 1 twice, 3 once.
    rows = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "as_of": [D1, D2, D1, D1],
            "churned": [True, True, True, False],
            "churn_date": pd.to_datetime(["2024-05-01", "2024-05-01", "2024-05-01", None]),
            "level": ["yellow", "red", None, "orange"],
            "rules": [["a"], ["a", "b"], [], ["b"]],
            "risk": [0.6, 0.9, 0.2, 0.5],
        }
    )
    opened = pd.DataFrame({"rule": ["a", "b", "b"], "level_first": ["yellow", "red", "orange"]})
    window = BacktestWindow(D1, D2, every_days=7, horizon_days=90)
    report = score_backtest(rows, opened, window, ("yellow", "orange", "red"), {"a": "yellow", "b": "orange"})
    overall = report["overall"]
    assert overall["precision"] == pytest.approx(2 / 3, abs=1e-4)  # 3 alerted snapshots, 2 churned
    assert overall["recall"] == pytest.approx(2 / 3, abs=1e-4)  # 3 churned snapshots, 2 alerted
    assert overall["median_lead_days"] == (date(2024, 5, 1) - D1).days  # first alert on D1
    assert overall["alerts_per_week"] == 1.5  # 3 alerts opened over two weekly snapshots
    assert overall["base_rate"] == 0.75  # 3 of 4 snapshots churned
    assert overall["auc"] == pytest.approx(2 / 3, abs=1e-4)  # churned {0.6, 0.9, 0.2} vs kept {0.5}
    rules = {r["rule"]: r for r in report["rules"]}
    assert (rules["a"]["alerts"], rules["a"]["level"], rules["a"]["precision"]) == (1, "yellow", 1.0)
    assert (rules["b"]["alerts"], rules["b"]["precision"], rules["b"]["recall"]) == (
        2,
        0.5,
        pytest.approx(1 / 3, abs=1e-4),
    )
    levels = {r["level"]: r for r in report["levels"]}
    assert (levels["red"]["alerts"], levels["red"]["precision"]) == (1, 1.0)
    assert report["churn_events"] == 2
    assert report["snapshots"] == 2
    assert window.dates == [D1, D1 + timedelta(days=7)]
