"""Invoices import into the lake: one commit per file, re-import changes nothing, a payment updates the row,
a column the file does not bring stays, every bad row named and nothing stored; the 360 page and the
indicators read them back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.ingest.service import settle_interrupted_imports
from churnradar.lake.invoices import count_invoices, customer_invoices
from churnradar.lake.schemas import LakeTable
from churnradar.lake.service import lake_for
from churnradar.models import Customer, ImportRun
from tests.conftest import lake_invoices, snapshot
from tests.ingest.test_import import CUSTOMERS, run, write

INVOICES = (
    "invoice_id,customer_id,due_date,amount,issued_at,paid_at,paid_amount,region\n"
    "I-1,C1,2024-03-31,1200.50,2024-03-01,,,华东\n"
    "I-2,C1,2024-04-30,800,2024-04-01,2024-04-20,800,华东\n"
    "I-3,C2,2024-03-15,99.9,2024-03-01,2024-03-10,99.9,\n"
)


def _ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {str(e): int(i) for e, i in conn.execute(select(Customer.external_id, Customer.id))}


def test_invoices_go_to_the_lake_in_one_commit_and_read_back(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path, "customers.csv", CUSTOMERS)
    write(tmp_path, "invoices.csv", INVOICES)
    summary = run(engine, tmp_path, settings)
    invoices = next(f for f in summary.files if f.kind == "invoices")
    assert (invoices.status, invoices.inserted, invoices.updated) == ("succeeded", 3, 0)
    with engine.connect() as conn:
        run_id = conn.execute(select(ImportRun.id).where(ImportRun.kind == "invoices")).scalar_one()
    lake = lake_for(engine)
    assert lake.committed(LakeTable.INVOICES, f"import:{run_id}")
    ids = _ids(engine)
    latest = customer_invoices(lake, ids["C1"])
    assert [(i.invoice_id, i.amount, i.paid_amount) for i in latest] == [
        ("I-2", 800.0, 800.0),
        ("I-1", 1200.5, None),
    ]
    assert count_invoices(lake) == 3
    assert count_invoices(lake, [ids["C2"]]) == 1


def test_reimport_changes_nothing_and_a_payment_updates_only_what_the_file_brings(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path, "customers.csv", CUSTOMERS)
    write(tmp_path, "invoices.csv", INVOICES)
    assert run(engine, tmp_path, settings).ok
    before = lake_invoices(engine)
    again = run(engine, tmp_path / "invoices.csv", settings).files[0]
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert lake_invoices(engine) == before
    # I-1 is paid; the file has no paid_amount or region column: the stored ones stay.
    paid = tmp_path / "paid"
    paid.mkdir()
    write(
        paid,
        "invoices.csv",
        "invoice_id,customer_id,due_date,amount,paid_at\nI-1,C1,2024-03-31,1200.50,2024-04-02\n",
    )
    file = run(engine, paid / "invoices.csv", settings).files[0]
    assert (file.inserted, file.updated, file.unchanged) == (0, 1, 0)
    lake = lake_for(engine)
    first = next(i for i in customer_invoices(lake, _ids(engine)["C1"]) if i.invoice_id == "I-1")
    assert first.paid_at is not None
    assert first.paid_at.date().isoformat() == "2024-04-02"
    rows = {r[1]: r for r in lake_invoices(engine)}
    assert "华东" in rows["I-1"][7]  # attributes kept from the first import


def test_a_bad_invoices_file_names_every_row_and_stores_nothing(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert run(engine, tmp_path, settings).ok
    before = snapshot(engine)
    write(
        tmp_path,
        "invoices.csv",
        "invoice_id,customer_id,due_date,amount\n"
        "I-1,C1,2024-03-31,100\n"
        "I-1,C1,2024-04-30,200\n"  # the same invoice twice
        "I-2,NOPE,2024-04-30,50\n"  # an unknown customer
        "I-3,C2,someday,-5\n",  # a bad date and a negative amount
    )
    file = run(engine, tmp_path / "invoices.csv", settings).files[0]
    assert file.status == "rejected"
    found = {(e.row, e.column) for e in file.errors}
    assert {(3, "invoice_id"), (4, "customer_id"), (5, "due_date"), (5, "amount")} <= found
    assert any("duplicate invoice_id 'I-1' (first at row 2)" in e.message for e in file.errors)
    assert snapshot(engine) == before
    assert lake_for(engine).open(LakeTable.INVOICES) is None


def test_missing_customers_are_created_for_invoices(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path, "invoices.csv", "invoice_id,customer_id,due_date,amount\nI-9,N9,2024-03-31,10\n")
    file = run(engine, tmp_path / "invoices.csv", settings, create_missing_customers=True).files[0]
    assert (file.status, file.created_customers, file.inserted) == ("succeeded", 1, 1)
    assert "N9" in _ids(engine)
    assert settle_interrupted_imports(engine) == 0
