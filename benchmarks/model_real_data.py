"""The churn model against its baselines on the real datasets in ../shared/data (figures for docs/model.md).

    .venv/bin/python benchmarks/model_real_data.py [--snapshots 52] [--horizon 90] [--cdnow-only]
        [--no-segment-features] [--retail]

CDNOW (non-contractual purchase log): imported with examples/mappings/cdnow.yaml, then `model train` as the
CLI runs it: weekly snapshots, labels by inactivity, time-ordered validation, recency and BG/NBD side by side.
With `--retail` every customer is imported with `industry: retail` first, and the retail template's rules are
replayed (the backtest, no model) over the model's held-out dates: their precision and recall against the base
rate, beside the model's precision at the same recall on the same customer-snapshots.
Telco (one snapshot per customer, no event history): nothing to replay over time, so the same LightGBM and
calibration are fitted on the customer attributes with a seeded random split, against tenure and contract
type as the simple rankers a retention team would use; the time-based pipeline needs events.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.evaluation.backtest import BacktestWindow, run_backtest
from churnradar.evaluation.service import active_rulebook
from churnradar.evaluation.training import TrainOptions, fit_model
from churnradar.ingest.mapping import load_mapping
from churnradar.ingest.service import ImportOptions, import_path
from churnradar.kit.clock import SystemClock
from churnradar.scoring.model import (
    EARLY_STOP,
    MAX_ROUNDS,
    PARAMS,
    calibration_table,
    fit_calibrator,
    metrics,
)
from churnradar.store import migrate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def precision_at_recall(truth: np.ndarray, risk: np.ndarray, recall: float) -> float:
    """Precision of the fewest highest-risk rows that catch `recall` of the churners."""
    order = np.argsort(-risk, kind="stable")
    caught = np.cumsum(truth[order])
    top = int(np.searchsorted(caught, recall * truth.sum(), side="left")) + 1
    return round(float(caught[top - 1] / top), 4)


def retail_rules(engine: Any, trained: Any, options: TrainOptions) -> dict[str, Any]:
    """The retail template's rules over the model's held-out dates, and the model at their recall."""
    test = sorted(trained.split.test)
    window = BacktestWindow(
        test[0],
        test[-1],
        every_days=options.every_days,
        horizon_days=options.horizon_days,
        inactivity_days=options.inactivity_days,
    )
    book = active_rulebook(engine)  # no model stored: the rules alone
    report = run_backtest(engine, window, book)
    overall = report["overall"]
    rows = trained.test_rows
    truth = rows["churned"].to_numpy(bool)
    model = precision_at_recall(truth, rows["probability"].to_numpy(np.float64), overall["recall"])
    return {
        "dates": [test[0].isoformat(), test[-1].isoformat()],
        "customer_snapshots": report["customer_snapshots"],
        "base_rate": overall["base_rate"],
        "rules": {
            "precision": overall["precision"],
            "recall": overall["recall"],
            "x_base_rate": round(overall["precision"] / overall["base_rate"], 3),
        },
        "model_at_the_rules_recall": {
            "rows": len(rows),
            "base_rate": round(float(truth.mean()), 4),
            "precision": model,
            "x_base_rate": round(model / float(truth.mean()), 3),
        },
        "by_rule": [{k: r[k] for k in ("rule", "alerts", "precision", "recall")} for r in report["rules"]],
    }


def cdnow(folder: Path, options: TrainOptions, *, retail: bool = False) -> dict[str, Any]:
    """Import the CDNOW log and train as `churnradar model train` does; the report's figures."""
    target = folder / "events.csv"
    customers: set[str] = set()
    with (DATA / "cdnow" / "CDNOW_master.txt").open() as raw, target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "cust", "purchase_date", "cds", "dollars"])
        next(raw)
        for number, line in enumerate(raw, start=1):
            fields = line.split()
            customers.add(fields[0])
            writer.writerow([number, *fields])
    engine = create_engine(f"sqlite:///{folder / 'cdnow.db'}")
    migrate(engine)
    settings = Settings(environment="test", secret_key="x" * 32)  # type: ignore[arg-type]
    if retail:
        with (folder / "customers.csv").open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["customer_id", "industry"])
            writer.writerows([c, "retail"] for c in sorted(customers))
        assert import_path(engine, folder / "customers.csv", settings=settings).ok
    mapping = ImportOptions(
        mapping=load_mapping(ROOT / "examples" / "mappings" / "cdnow.yaml"), create_missing_customers=True
    )
    assert import_path(engine, target, settings=settings, options=mapping).ok
    started = time.perf_counter()
    _, trained, report = fit_model(engine, options, None, SystemClock().now())
    seconds = round(time.perf_counter() - started, 1)
    return {
        "retail_rules": retail_rules(engine, trained, options) if retail else None,
        "seconds": seconds,
        "features": len(trained.scorer.features),
        "dates": report["dates"],
        "rows": report["rows"],
        "calibration": report["calibration_method"],
        "uncalibrated_brier": report["model_uncalibrated"]["brier"],
        "baselines": report["baselines"],
        "health": {k: v for k, v in report["health"].items() if k != "learned"},
        "calibration_curve": report["calibration_curve"],
        "importance": report["importance"],
    }


TELCO_NUMBERS = ["tenure", "MonthlyCharges", "TotalCharges", "SeniorCitizen"]


def telco(seed: int = 7) -> dict[str, Any]:
    """LightGBM + calibration on Telco's attributes, 60/20/20 seeded split, against tenure and contract."""
    frame = pd.read_csv(DATA / "telco_ibm" / "Telco-Customer-Churn.csv")
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"], errors="coerce")
    truth = (frame["Churn"] == "Yes").to_numpy()
    categories = [c for c in frame.columns if c not in (*TELCO_NUMBERS, "customerID", "Churn")]
    features = frame[TELCO_NUMBERS].astype("float64").join(frame[categories].astype("category"))
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = [int(len(frame) * 0.6), int(len(frame) * 0.8)]
    fit, calibrate, test = order[: cut[0]], order[cut[0] : cut[1]], order[cut[1] :]
    booster = lgb.train(
        {**PARAMS, "min_data_in_leaf": 40},
        lgb.Dataset(features.iloc[fit], label=truth[fit]),
        num_boost_round=MAX_ROUNDS,
        valid_sets=[lgb.Dataset(features.iloc[calibrate], label=truth[calibrate])],
        callbacks=[lgb.early_stopping(EARLY_STOP, verbose=False)],
    )
    raw = {
        part: np.asarray(booster.predict(features.iloc[rows]))
        for part, rows in (("cal", calibrate), ("test", test))
    }
    calibrator = fit_calibrator(raw["cal"], truth[calibrate])
    probability = calibrator.apply(raw["test"])
    tenure = frame["tenure"].to_numpy(np.float64)[test]
    monthly = (frame["Contract"] == "Month-to-month").to_numpy()[test]
    return {
        "rows": {"train": len(fit), "calibrate": len(calibrate), "test": len(test)},
        "calibration": calibrator.method,
        "model": metrics(truth[test], probability),
        "model_uncalibrated": metrics(truth[test], raw["test"]),
        "tenure_short_first": metrics(truth[test], -tenure),
        "month_to_month_then_tenure": metrics(truth[test], monthly * 1000.0 - tenure),
        "calibration_curve": calibration_table(truth[test], probability),
    }


def main() -> None:
    """Both datasets; one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--snapshots", type=int, default=52)
    parser.add_argument("--horizon", type=int, default=90)
    parser.add_argument("--cdnow-only", action="store_true", help="skip Telco")
    parser.add_argument("--no-segment-features", action="store_true", help="train without them")
    parser.add_argument("--retail", action="store_true", help="customers in retail; its rules measured")
    args = parser.parse_args()
    options = TrainOptions(
        snapshots=args.snapshots,
        horizon_days=args.horizon,
        inactivity_days=args.horizon,
        segment_features=not args.no_segment_features,
    )
    with tempfile.TemporaryDirectory() as scratch:
        result = {"cdnow": cdnow(Path(scratch), options, retail=args.retail)}
    if not args.cdnow_only:
        result["telco"] = telco()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
