"""The retail template's backtest on a real purchase log (CDNOW, ../shared/data), imported with a mapping."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.evaluation.backtest import BacktestWindow, run_backtest
from churnradar.evaluation.service import active_rulebook
from churnradar.ingest.mapping import load_mapping
from churnradar.ingest.service import ImportOptions, import_path
from churnradar.store import migrate
from tests.conftest import ROOT
from tests.ingest.test_real_data import cdnow_csv


def test_retail_backtest_on_cdnow(tmp_path: Path, settings: Settings) -> None:
    events = cdnow_csv(tmp_path)
    with events.open() as raw:
        ids = sorted({row["cust"] for row in csv.DictReader(raw)})
    with (tmp_path / "customers.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["customer_id", "industry"])
        writer.writerows([i, "retail"] for i in ids)
    engine = create_engine(f"sqlite:///{tmp_path / 'cdnow.db'}")
    migrate(engine)
    mapping = load_mapping(ROOT / "examples" / "mappings" / "cdnow.yaml")
    assert import_path(engine, tmp_path / "customers.csv", settings=settings).ok
    assert import_path(engine, events, settings=settings, options=ImportOptions(mapping=mapping)).ok

    book = active_rulebook(engine)
    assert {c.template for c in book.compiled} >= {"retail"}
    window = BacktestWindow(
        date(1997, 9, 1), date(1997, 9, 22), every_days=7, horizon_days=90, inactivity_days=90
    )
    report = run_backtest(engine, window, book)
    overall = report["overall"]
    assert report["snapshots"] == 4
    assert report["customer_snapshots"] > 10_000  # the active part of the 23,570 first-quarter buyers
    assert report["churn_events"] > 1_000  # most CDNOW customers never come back
    assert 0 < overall["base_rate"] < 1
    assert report["rules"], "retail rules fire on real purchase histories"
    for value in (overall["precision"], overall["recall"], overall["auc"]):
        assert value is not None
        assert 0 <= value <= 1
