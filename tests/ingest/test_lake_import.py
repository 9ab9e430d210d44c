"""Events import into the lake: the import log settles crashes, bounds on headers and messages, time range,
owner changes audited."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.ingest import repository as repo
from churnradar.ingest.service import settle_interrupted_imports
from churnradar.lake.schemas import LakeTable
from churnradar.lake.service import lake_for
from churnradar.models import AuditEntry, ImportRun
from tests.conftest import snapshot, store_events
from tests.ingest.lake import event_count
from tests.ingest.test_import import CUSTOMERS, run, write


def _pending(engine: Engine) -> int:
    with engine.begin() as conn:
        return repo.start_run(conn, source="events.csv", kind="events", started_at=datetime(2024, 1, 1))


def test_a_run_a_crash_left_pending_is_settled_from_the_lake_history(engine: Engine) -> None:
    committed, lost = _pending(engine), _pending(engine)
    row = {"customer_id": 1, "ts": datetime(2024, 1, 1), "kind": "login", "event_key": "id:1"}
    store_events(engine, [row], operation=f"import:{committed}")
    assert settle_interrupted_imports(engine) == 2
    with engine.connect() as conn:
        status = dict(conn.execute(select(ImportRun.id, ImportRun.status)).all())
        errors = conn.execute(select(ImportRun.errors).where(ImportRun.id == lost)).scalar_one()
    assert status == {committed: "succeeded", lost: "failed"}
    assert "interrupted before its events were committed" in errors["first"][0]
    assert settle_interrupted_imports(engine) == 0


def test_the_run_row_carries_the_lake_commit_of_its_events(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path, "customers.csv", CUSTOMERS)
    write(tmp_path, "events.csv", "customer_id,ts,kind,event_id\nC1,2024-03-01,order,o-1\n")
    assert run(engine, tmp_path, settings).ok
    with engine.connect() as conn:
        run_id, status = conn.execute(
            select(ImportRun.id, ImportRun.status).where(ImportRun.kind == "events")
        ).one()
    assert status == "succeeded"
    assert lake_for(engine).committed(LakeTable.EVENTS, f"import:{run_id}")


def test_missing_customers_are_created_with_the_events(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path, "events.csv", "customer_id,ts,kind\nN1,2024-03-01,login\nN2,2024-03-02,login\n")
    file = run(engine, tmp_path, settings, create_missing_customers=True).files[0]
    assert (file.status, file.created_customers, file.inserted) == ("succeeded", 2, 2)
    assert event_count(engine) == 2


def test_a_huge_header_is_refused_with_a_bounded_message(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    before = snapshot(engine)
    wide = ",".join(f"c{i}" for i in range(1_500))
    long = "customer_id,ts,kind," + "x" * 200_000
    for name, header in (("customers.csv", "customer_id," + wide), ("events.csv", long)):
        write(tmp_path, name, header + "\n")
        file = run(engine, tmp_path / name, settings).files[0]
        assert file.status == "rejected"
        (error,) = file.errors
        assert "at most" in error.message
        assert len(str(error)) < 300, str(error)[:300]
    with engine.connect() as conn:
        stored = conn.execute(select(ImportRun.errors)).scalars().all()
    assert all(len(str(e)) < 1_000 for e in stored)
    assert snapshot(engine) == before


def test_a_long_unknown_header_is_not_quoted_whole(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path, "events.csv", "customer_id,kind," + "y" * 50_000 + "\nC1,login,x\n")
    (error,) = run(engine, tmp_path / "events.csv", settings).files[0].errors
    assert error.message.startswith("missing required column(s) ts")
    assert len(error.message) <= 500


def test_times_outside_the_range_are_refused_in_files(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert run(engine, tmp_path / "customers.csv", settings).ok
    write(tmp_path, "events.csv", "customer_id,ts,kind\nC1,2024-01-01,login\nC1,0000-01-01,login\n")
    file = run(engine, tmp_path / "events.csv", settings).files[0]
    assert [str(e) for e in file.errors] == [
        "events.csv row 3, column ts: '0000-01-01' is outside 1970-01-01 .. 2100-12-31"
    ]
    assert event_count(engine) == 0


def test_owner_changes_from_a_customers_file_are_audited(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert run(engine, tmp_path / "customers.csv", settings).ok
    write(tmp_path, "customers.csv", "customer_id,owner\nC1,bob\nC2,bob\n")
    file = run(engine, tmp_path / "customers.csv", settings).files[0]
    assert file.owner_changes == 1
    with engine.connect() as conn:
        entries = conn.execute(
            select(AuditEntry.action, AuditEntry.entity, AuditEntry.entity_id, AuditEntry.details)
        ).all()
    assert [(e.action, e.entity, e.entity_id) for e in entries] == [("change_owner", "customer", "C1")]
    details = entries[0].details
    assert (details["from"], details["to"], details["via"]) == ("alice@example.com", "bob", "import")
