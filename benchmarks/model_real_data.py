"""The churn model against its baselines on the real datasets in ../shared/data (figures for docs/model.md).

    .venv/bin/python benchmarks/model_real_data.py [--snapshots 52] [--horizon 90] [--cdnow-only]

CDNOW (non-contractual purchase log): imported with examples/mappings/cdnow.yaml, then `model train` as the
CLI runs it: weekly snapshots, labels by inactivity, time-ordered validation, recency and BG/NBD side by side.
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
from churnradar.evaluation.training import TrainOptions, train_from_store
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


def cdnow(folder: Path, options: TrainOptions) -> dict[str, Any]:
    """Import the CDNOW log and train as `churnradar model train` does; the report's figures."""
    target = folder / "events.csv"
    with (DATA / "cdnow" / "CDNOW_master.txt").open() as raw, target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "cust", "purchase_date", "cds", "dollars"])
        next(raw)
        for number, line in enumerate(raw, start=1):
            writer.writerow([number, *line.split()])
    engine = create_engine(f"sqlite:///{folder / 'cdnow.db'}")
    migrate(engine)
    settings = Settings(environment="test", secret_key="x" * 32)  # type: ignore[arg-type]
    mapping = ImportOptions(
        mapping=load_mapping(ROOT / "examples" / "mappings" / "cdnow.yaml"), create_missing_customers=True
    )
    assert import_path(engine, target, settings=settings, options=mapping).ok
    started = time.perf_counter()
    report = train_from_store(engine, options, at=SystemClock().now())
    return {
        "seconds": round(time.perf_counter() - started, 1),
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
    args = parser.parse_args()
    options = TrainOptions(snapshots=args.snapshots, horizon_days=args.horizon, inactivity_days=args.horizon)
    with tempfile.TemporaryDirectory() as scratch:
        result = {"cdnow": cdnow(Path(scratch), options)}
    if not args.cdnow_only:
        result["telco"] = telco()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
