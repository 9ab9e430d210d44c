"""The insert-only path for events CSV on SQLite (DuckDB stages, one statement inserts) vs the staged path.

Whatever that path accepts must be stored exactly as the staged path stores it; whatever it does not handle
(invalid rows, unknown customers, keys already stored or repeated, values outside its plain form) must end
exactly as the staged path ends it, with the same messages and nothing stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.ingest import duck_stage, fast_csv, repository, service
from churnradar.ingest.schemas import ImportSummary
from churnradar.models import Event, ImportRun
from churnradar.store import migrate
from tests.conftest import snapshot
from tests.ingest.test_import import CUSTOMERS, run, write

HEADER = "customer_id,ts,kind,event_id,amount,value,quantity,channel,direction,text,region,note\n"
# Everything the plain form allows: offsets, fractions, date-only and minute times, case, padding, quoting,
# sparse numbers, Chinese text, extra columns with and without values.
CLEAN = HEADER + (
    "C1,2024-03-01T09:30:00+08:00,Order,o-1,100.50,,3,,,,华东,\n"
    "C1,2024-03-01 10:00:00.5Z,login,l-1,,,,WeChat,IN,,,\n"
    'C2,2024-03-02,complaint,c-1,,,,Phone,out,"发货太慢, 还没到",,urgent\n'
    "C2,2024-03-02T23:59,survey,s-1,,-3.25,,,,,,\n"
    " C2 ,2024-03-03T00:00:00.123456-05:30,payment,p-1,0,,,,,,  华北  ,\n"
    'C1,2024-12-31T23:59:59+14:00,order,o-2,7,,1,,,"say ""hi""",,\n'
)
EVENT_COLUMNS = ("customer_id", "ts", "kind", "event_key", "amount", "value", "quantity", "channel")
MORE_COLUMNS = ("direction", "text", "attributes")


def _events(engine: Engine) -> list[tuple[Any, ...]]:
    columns = [Event.__table__.c[n] for n in EVENT_COLUMNS + MORE_COLUMNS]  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return sorted(tuple(map(str, r)) for r in conn.execute(select(*columns)))


def _log(engine: Engine) -> list[tuple[Any, ...]]:
    runs = ImportRun.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(runs.c.kind, runs.c.status, runs.c.rows_read, runs.c.inserted, runs.c.updated)
            .add_columns(runs.c.unchanged, runs.c.rejected, runs.c.kinds, runs.c.latest_event_at)
            .order_by(runs.c.id)
        )
        return [tuple(r) for r in rows]


def _indexes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
        )
        return {r[0] for r in rows}


TIME_INDEXES = {"ix_events_customer_id_ts", "ix_events_kind_ts"}


def _staged_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duck_stage, "fits", lambda plan, mapping: False)


def _insert_only_required(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("the file took the staged path")

    monkeypatch.setattr(service._Import, "_load", refuse)


def _fresh(folder: Path) -> Engine:
    engine = create_engine(f"sqlite:///{folder / 'other.db'}")
    migrate(engine)
    return engine


def _both(
    tmp_path: Path,
    engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    events: str,
    **options: Any,
) -> tuple[ImportSummary, ImportSummary, Engine]:
    """Import customers and `events` into `engine` as usual and into a second database by the staged path."""
    write(tmp_path, "customers.csv", CUSTOMERS)
    write(tmp_path, "events.csv", events)
    usual = run(engine, tmp_path, settings, **options)
    other = _fresh(tmp_path / "staged")
    with monkeypatch.context() as patch:
        _staged_only(patch)
        staged = run(other, tmp_path, settings, **options)
    return usual, staged, other


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Any:
    engine = create_engine(f"sqlite:///{tmp_path / 'churnradar.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def test_clean_file_is_stored_as_the_staged_path_stores_it(
    sqlite_engine: Engine, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "staged").mkdir()
    write(tmp_path, "events.csv", CLEAN)
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert run(sqlite_engine, tmp_path / "customers.csv", settings).ok
    with monkeypatch.context() as patch:
        _insert_only_required(patch)
        usual = run(sqlite_engine, tmp_path / "events.csv", settings)
    other = _fresh(tmp_path / "staged")
    _staged_only(monkeypatch)
    assert run(other, tmp_path / "customers.csv", settings).ok
    staged = run(other, tmp_path / "events.csv", settings)
    assert usual.model_dump() == staged.model_dump()
    assert usual.files[0].inserted == 6
    assert _events(sqlite_engine) == _events(other)
    assert _log(sqlite_engine) == _log(other)
    with sqlite_engine.connect() as conn:
        order = conn.execute(select(Event.ts, Event.attributes).where(Event.event_key == "id:o-1")).one()
        assert (
            conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        )  # switched back on after the import
    assert (order.ts.isoformat(), order.attributes) == ("2024-03-01T01:30:00", {"region": "华东"})
    other.dispose()


def test_a_hostile_header_is_only_ever_an_attribute_key(
    sqlite_engine: Engine, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Header names reach DuckDB as parameters: quotes and SQL in them are just the key's text.
    hostile = "it's'); DROP TABLE events; --"
    events = f'customer_id,ts,kind,event_id,"{hostile}"\nC1,2024-03-01T09:30:00Z,order,o-1,x\n'
    write(tmp_path, "customers.csv", CUSTOMERS)
    write(tmp_path, "events.csv", events)
    assert run(sqlite_engine, tmp_path / "customers.csv", settings).ok
    with monkeypatch.context() as patch:
        _insert_only_required(patch)
        assert run(sqlite_engine, tmp_path / "events.csv", settings).ok
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(Event.attributes)).scalar_one() == {hostile.lower(): "x"}  # headers fold


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param("C1,2024-03-01,order,o-1,1e3,,,,,,,\n", id="exponent"),
        pytest.param("C1,2024-03-01T09:30:00+0800,order,o-1,,,,,,,,\n", id="offset_without_colon"),
        pytest.param("C1,2024-03-01,order,,5,,,,,,,\nC1,2024-03-01,order,,5,,,,,,,\n", id="no_ids_repeated"),
        pytest.param("C1,2024-03-01,order,o-1,,,,,,,a\\b,\n", id="backslash_in_attribute"),
        pytest.param("C1,2024-03-01,登录,o-1,,,,,,,,\n", id="non_ascii_kind"),
        pytest.param("C9,2024-03-01,order,o-1,,,,,,,,\n", id="unknown_customer_created"),
    ],
)
def test_valid_values_outside_the_plain_form_take_the_staged_path(
    sqlite_engine: Engine, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, rows: str
) -> None:
    (tmp_path / "staged").mkdir()
    usual, staged, other = _both(
        tmp_path, sqlite_engine, settings, monkeypatch, HEADER + rows, create_missing_customers=True
    )
    assert usual.ok
    assert usual.model_dump() == staged.model_dump()
    assert _events(sqlite_engine) == _events(other)
    other.dispose()


def test_times_without_offset_in_another_zone_take_the_staged_path(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "staged").mkdir()
    shanghai = Settings(environment="test", secret_key="x" * 32, timezone="Asia/Shanghai")
    usual, staged, other = _both(tmp_path, sqlite_engine, shanghai, monkeypatch, CLEAN)
    assert usual.ok
    assert usual.model_dump() == staged.model_dump()
    assert _events(sqlite_engine) == _events(other)
    with sqlite_engine.connect() as conn:
        login = conn.execute(select(Event.ts).where(Event.event_key == "id:s-1")).scalar_one()
    assert login.isoformat() == "2024-03-02T15:59:00"  # 23:59 in Shanghai
    other.dispose()


def test_reimport_and_update_take_the_staged_path(
    sqlite_engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path, "customers.csv", CUSTOMERS)
    write(tmp_path, "events.csv", CLEAN)
    first = run(sqlite_engine, tmp_path, settings).files[1]
    again = run(sqlite_engine, tmp_path, settings).files[1]
    write(tmp_path, "events.csv", CLEAN.replace("o-2,7,", "o-2,8,") + "C2,2024-04-01,login,l-9,,,,,,,,\n")
    changed = run(sqlite_engine, tmp_path / "events.csv", settings).files[0]
    assert (first.inserted, first.unchanged) == (6, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    assert (changed.inserted, changed.updated, changed.unchanged) == (1, 1, 5)


BAD = [
    pytest.param(
        "C1,2024-03-01,order,o-1,,,,,,,,\nC2,2024-03-02,order,o-1,,,,,,,,\n",
        3,
        "event_id",
        "duplicate event_id 'o-1' (first at row 2)",
        id="duplicate_id",
    ),
    pytest.param(
        "C1,2024-03-01,order,o-1,,,,,,,,\nC9,2024-03-02,order,o-2,,,,,,,,\n",
        3,
        "customer_id",
        "unknown customer_id 'C9' (import it in customers first, or pass --create-missing-customers)",
        id="unknown_customer",
    ),
    pytest.param(
        "C1,2024-03-01,order,o-1,-5,,,,,,,\n",
        2,
        "amount",
        "'-5' is negative; it must be 0 or more",
        id="negative_amount",
    ),
    pytest.param(
        "C1,2024-02-30,order,o-1,,,,,,,,\n",
        2,
        "ts",
        "'2024-02-30' is not an ISO 8601 time like 2024-03-01T09:30:00+08:00",
        id="no_such_day",
    ),
    pytest.param(
        "C1,2024-03-01,order,o-1,,,,,sideways,,,\n",
        2,
        "direction",
        "'sideways' is not one of in, out",
        id="bad_direction",
    ),
    pytest.param(
        "C1,2024-03-01,order,o-1,,,,,,,,\nC1,2024-03-01,order\n",
        3,
        None,
        "the row has 3 fields but the header has 12",
        id="short_row",
    ),
]


@pytest.mark.parametrize(("rows", "row", "column", "message"), BAD)
def test_bad_rows_are_reported_as_before_and_nothing_is_stored(
    sqlite_engine: Engine,
    tmp_path: Path,
    settings: Settings,
    rows: str,
    row: int,
    column: str | None,
    message: str,
) -> None:
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert run(sqlite_engine, tmp_path / "customers.csv", settings).ok
    before = snapshot(sqlite_engine)
    summary = run(sqlite_engine, write(tmp_path, "events.csv", HEADER + rows), settings).files[0]
    assert summary.status == "rejected"
    assert [(e.row, e.column, e.message) for e in summary.errors] == [(row, column, message)]
    assert snapshot(sqlite_engine) == before
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_a_file_in_many_parts_is_one_transaction(
    sqlite_engine: Engine, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small parse blocks: the file is written into all the scratch files the import may attach, and more.
    monkeypatch.setattr(fast_csv, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(service, "BLOCK_BYTES", 16384)
    lines = [f"C{1 + i % 2},2024-03-01T00:00:{i % 60:02d}Z,login,l-{i},,,,,,,,\n" for i in range(3000)]
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert run(sqlite_engine, tmp_path / "customers.csv", settings).ok
    with monkeypatch.context() as patch:
        _insert_only_required(patch)
        good = run(sqlite_engine, write(tmp_path, "events.csv", HEADER + "".join(lines)), settings).files[0]
    assert (good.status, good.rows, good.inserted) == ("succeeded", 3000, 3000)
    assert _indexes(sqlite_engine) >= TIME_INDEXES  # dropped for the bulk load, and built again
    before = snapshot(sqlite_engine)
    # A key repeated in the last part: every earlier part was inserted already, and all of it is undone.
    fresh = [line.replace("l-", "m-") for line in lines] + [lines[0].replace("l-", "m-")]
    bad = run(sqlite_engine, write(tmp_path, "events.csv", HEADER + "".join(fresh)), settings).files[0]
    assert [(e.row, e.message) for e in bad.errors] == [(3002, "duplicate event_id 'm-0' (first at row 2)")]
    assert snapshot(sqlite_engine) == before
    assert _indexes(sqlite_engine) >= TIME_INDEXES  # the rollback restores what the attempt dropped
    # Into a store of more events than the file brings, the indexes are kept and maintained row by row.
    monkeypatch.setattr(repository, "drop_time_indexes", lambda conn: pytest.fail("indexes dropped"))
    small = run(sqlite_engine, write(tmp_path, "events.csv", HEADER + lines[0].replace("l-", "n-")), settings)
    assert small.files[0].inserted == 1
    assert _indexes(sqlite_engine) >= TIME_INDEXES
