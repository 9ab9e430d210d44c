"""The vectorised events path gives exactly what the text validator gives (values and keys), and customers
created for a file whose lake commit fails are taken back (at once, or by the settling of a dead run)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.ingest import event_commit, fast_events
from churnradar.ingest import repository as repo
from churnradar.ingest.events import stored_customer_ids
from churnradar.ingest.service import settle_interrupted_imports
from churnradar.models import Contract, Customer, ImportRun
from tests.conftest import snapshot
from tests.ingest.lake import stored_events
from tests.ingest.test_import import CUSTOMERS, run, write

ROWS = 2_500  # several batches of the test settings' 1,000 rows


@pytest.fixture
def berlin() -> Settings:
    """A zone with DST, so that times without offset are converted and one falls in the spring gap."""
    return Settings(
        environment="test",
        secret_key="x" * 32,
        timezone="Europe/Berlin",
        imports={"batch_rows": 1_000},  # type: ignore[arg-type]
    )


def _columns(with_ids: bool, *, gap: bool) -> dict[str, list[Any]]:
    start = datetime(2024, 1, 1, 8, 0)
    ts = [start + timedelta(hours=7 * i, seconds=i % 7, microseconds=(i % 3) * 1000) for i in range(ROWS)]
    if gap:  # a time in Berlin's spring gap: its batch takes the text path (a CSV file is one batch here)
        ts[1_500] = datetime(2024, 3, 31, 2, 30)
    return {
        "customer_id": [f"C{1 + i % 2}" for i in range(ROWS)],
        "ts": ts,
        "kind": ["Order" if i % 3 else "login" for i in range(ROWS)],
        "event_id": [f"e-{i}" if with_ids and i % 4 else None for i in range(ROWS)],
        "amount": [round(i * 1.37, 2) if i % 2 else None for i in range(ROWS)],
        "quantity": [i % 11 if i % 5 else None for i in range(ROWS)],
        "channel": ["Email" if i % 2 else "微信" for i in range(ROWS)],
        "direction": ["in" if i % 2 else None for i in range(ROWS)],
        "text": [f'note {i} "q"' if i % 9 == 0 else None for i in range(ROWS)],
        "user": [f"m{i % 13}" if i % 6 else None for i in range(ROWS)],
        "Region": ["华东" if i % 2 else None for i in range(ROWS)],
        "score": [i % 5 for i in range(ROWS)],
    }


def _parquet(folder: Path, with_ids: bool) -> Path:
    path = folder / "events.parquet"
    columns = _columns(with_ids, gap=True)
    table = pa.table(columns).set_column(1, "ts", pa.array(columns["ts"], pa.timestamp("ms")))
    pq.write_table(table, path)
    return path


def _csv(folder: Path, with_ids: bool) -> Path:
    columns = _columns(with_ids, gap=False)
    lines = [",".join(columns)]
    for i in range(ROWS):
        cells = []
        for name, values in columns.items():
            value = values[i]
            if value is None:
                cells.append("")
            elif name == "ts":  # offsets, UTC and local times mixed
                text = value.isoformat(sep=" " if i % 2 else "T")
                cells.append(text + ("+08:00" if i % 5 == 1 else "Z" if i % 5 == 2 else ""))
            elif name == "text":
                cells.append('"' + str(value).replace('"', '""') + '"')
            else:
                cells.append(str(value))
        lines.append(",".join(cells))
    return write(folder, "events.csv", "\n".join(lines) + "\n")


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Which batches the fast path took (True) or handed to the text validator (False)."""
    taken: list[bool] = []
    real = fast_events.stage_batch

    def stage(*args: Any, **kwargs: Any) -> pa.Table | None:
        staged = real(*args, **kwargs)
        taken.append(staged is not None)
        return staged

    monkeypatch.setattr(fast_events, "stage_batch", stage)
    return taken


@pytest.mark.parametrize("make", [_parquet, _csv], ids=["parquet", "csv"])
@pytest.mark.parametrize("with_ids", [True, False], ids=["ids", "no-ids"])
def test_the_fast_path_stores_what_the_text_validator_stores(
    engine: Engine,
    tmp_path: Path,
    berlin: Settings,
    spy: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    make: Any,
    with_ids: bool,
) -> None:
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert run(engine, tmp_path / "customers.csv", berlin).ok
    path = make(tmp_path, with_ids)
    with monkeypatch.context() as patch:
        patch.setattr(fast_events, "applies", lambda mapping: False)
        slow = run(engine, path, berlin).files[0]
    assert (slow.status, slow.inserted) == ("succeeded", ROWS), slow.errors[:3]
    assert spy == []
    stored = stored_events(engine).drop(columns="import_id")
    before = snapshot(engine)
    fast = run(engine, path, berlin).files[0]
    # Same keys and same values: the second import finds every event stored and changes none of them.
    assert (fast.status, fast.inserted, fast.updated, fast.unchanged) == ("succeeded", 0, 0, ROWS)
    assert snapshot(engine) == before
    assert stored_events(engine).drop(columns="import_id").equals(stored)
    assert any(spy), "the fast path took no batch"
    if make is _parquet:  # its batches are 1,000 rows: the one with the spring-gap time went the slow way
        assert spy == [True, False, True]
    assert set(stored.user.dropna()) == {f"m{i}" for i in range(13)}
    assert stored.attributes.str.contains('"region": "华东"').any()
    assert not stored.attributes.dropna().str.contains('"user"').any()
    assert stored.event_key.str.startswith("h:").sum() == (ROWS // 4 if with_ids else ROWS)


def test_a_batch_with_a_bad_row_is_reported_as_before(
    engine: Engine, tmp_path: Path, settings: Settings, spy: list[bool]
) -> None:
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert run(engine, tmp_path / "customers.csv", settings).ok
    write(
        tmp_path, "events.csv", "customer_id,ts,kind,amount\nC1,2024-03-01,order,1\nC2,1969-12-31,order,-2\n"
    )
    file = run(engine, tmp_path / "events.csv", settings).files[0]
    assert spy == [False]
    assert [(e.row, e.column, e.message) for e in file.errors] == [
        (3, "amount", "'-2' is negative; it must be 0 or more"),
        (3, "ts", "'1969-12-31' is outside 1970-01-01 .. 2100-12-31"),
    ]


def _customers(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(Customer.external_id)).scalars())


def test_customers_created_for_a_file_whose_lake_commit_fails_are_taken_back(
    engine: Engine, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("the lake is read-only")

    monkeypatch.setattr(event_commit, "write_events", broken)
    write(tmp_path, "events.csv", "customer_id,ts,kind\nN1,2024-03-01,login\nN2,2024-03-02,login\n")
    before = snapshot(engine)
    with pytest.raises(OSError, match="read-only"):
        run(engine, tmp_path / "events.csv", settings, create_missing_customers=True)
    assert _customers(engine) == set()
    assert snapshot(engine) == before
    with engine.connect() as conn:
        status, errors = conn.execute(select(ImportRun.status, ImportRun.errors)).one()
    assert status == "failed"
    assert "2 of the 2 customers it created were removed" in errors["first"][0]


def test_a_lake_path_that_is_a_file_fails_the_import_and_leaves_no_customer(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    lake = event_commit.lake_for(engine)
    lake.root.mkdir(parents=True, exist_ok=True)
    lake.path(event_commit.LakeTable.EVENTS).write_text("not a folder")
    write(tmp_path, "events.csv", "customer_id,ts,kind\nN1,2024-03-01,login\n")
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever delta-rs raises for it
        run(engine, tmp_path / "events.csv", settings, create_missing_customers=True)
    assert _customers(engine) == set()


def test_a_run_that_died_after_creating_customers_loses_them_when_settled(
    engine: Engine, settings: Settings
) -> None:
    with engine.begin() as conn:
        run_id = repo.start_run(conn, source="events.csv", kind="events", started_at=datetime(2024, 1, 1))
        conn.execute(insert(Customer), [{"external_id": e} for e in ("D1", "D2", "D3")])
        ids = stored_customer_ids(conn, ["D1", "D2", "D3"])
        repo.note_created_customers(conn, run_id, sorted(ids.values()))
        # Meanwhile a contracts import used D3: it stays.
        conn.execute(
            insert(Contract).values(
                external_id="K1",
                customer_id=ids["D3"],
                start_date=datetime(2024, 1, 1).date(),
                end_date=datetime(2025, 1, 1).date(),
            )
        )
    assert settle_interrupted_imports(engine) == 1
    assert _customers(engine) == {"D3"}
    with engine.connect() as conn:
        status, errors = conn.execute(select(ImportRun.status, ImportRun.errors)).one()
    assert status == "failed"
    assert "2 of the 3 customers it created were removed" in errors["first"][0]
