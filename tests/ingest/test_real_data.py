"""Real public datasets from ../shared/data, converted the way a user would and imported with a mapping."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.ingest.mapping import load_mapping
from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import ImportOptions, import_path
from churnradar.models import Customer
from tests.conftest import ROOT, shared_data
from tests.ingest.lake import stored_events

MAPPINGS = ROOT / "examples" / "mappings"


def cdnow_csv(folder: Path) -> Path:
    """The whitespace-separated CDNOW log as a CSV export with the shop's own column names."""
    source = shared_data("cdnow", "CDNOW_master.txt")
    target = folder / "events.csv"
    with source.open() as raw, target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "cust", "purchase_date", "cds", "dollars"])
        next(raw)  # the header line the lifetimes package added
        for number, line in enumerate(raw, start=1):
            writer.writerow([number, *line.split()])
    return target


def test_cdnow_purchase_log(engine: Engine, tmp_path: Path, settings: Settings) -> None:
    path = cdnow_csv(tmp_path)
    options = ImportOptions(mapping=load_mapping(MAPPINGS / "cdnow.yaml"), create_missing_customers=True)
    summary = import_path(engine, path, settings=settings, options=options)
    file = summary.files[0]
    assert file.status == "succeeded", file.errors[:3]
    assert (file.rows, file.inserted, file.created_customers) == (69_659, 69_659, 23_570)
    events = stored_events(engine)
    total, first, last = events.amount.sum(), events.ts.min(), events.ts.max()
    kinds = sorted(set(events.kind))
    with engine.connect() as conn:
        customers = conn.execute(select(func.count()).select_from(Customer)).scalar_one()
    # Published totals for this dataset (see ../shared/data/cdnow/PROVENANCE.md).
    assert round(total, 2) == 2_500_315.63
    assert (first.date().isoformat(), last.date().isoformat()) == ("1997-01-01", "1998-06-30")
    assert kinds == ["order"]
    assert customers == 23_570
    again = import_path(engine, path, settings=settings, options=options).files[0]
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 69_659)


def test_telco_customers(engine: Engine, settings: Settings) -> None:
    path = shared_data("telco_ibm", "Telco-Customer-Churn.csv")
    options = ImportOptions(mapping=load_mapping(MAPPINGS / "telco.yaml"))
    # The published file name says nothing about its kind, so it is given, as with `import --kind customers`.
    summary = import_path(engine, path, settings=settings, options=options, kind=RecordKind.CUSTOMERS)
    file = summary.files[0]
    assert file.status == "succeeded", file.errors[:3]
    assert (file.rows, file.inserted) == (7_043, 7_043)
    with engine.connect() as conn:
        by_status = dict(conn.execute(select(Customer.status, func.count()).group_by(Customer.status)).all())
        first = conn.execute(select(Customer).where(Customer.external_id == "7590-VHVEG")).one()
    assert by_status == {"active": 5_174, "churned": 1_869}
    assert first.segment == "Month-to-month"
    assert first.attributes["tenure"] == "1"
    assert first.attributes["monthlycharges"] == "29.85"
