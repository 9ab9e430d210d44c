"""Shared fixtures: a migrated database per test on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from argon2 import profiles
from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url

from churnradar.auth import passwords
from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.indicator import repository as indicator_repository
from churnradar.lake import service as lake_service
from churnradar.lake.events import events_relation, write_events
from churnradar.lake.invoices import invoices_relation, write_invoices
from churnradar.lake.schemas import EVENTS_SCHEMA, INVOICES_SCHEMA
from churnradar.models import Base
from churnradar.store import migrate

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
POSTGRES_ENV = "CHURNRADAR_TEST_POSTGRES_URL"

# Argon2 at its cheapest in this process (production's hashing cost about 0.2 s a sign-in or seeded user;
# the tests sign in hundreds of times). Same algorithm, salt and digest lengths; servers and CLIs the tests
# start as subprocesses keep production's parameters and still verify these hashes.
passwords.use_parameters(
    dataclasses.replace(profiles.RFC_9106_LOW_MEMORY, time_cost=1, memory_cost=8, parallelism=1)
)


def postgres_admin_url() -> str | None:
    """The test server's admin URL, or None (a failure under CI, which must test PostgreSQL)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("CI"):
        pytest.fail(f"{POSTGRES_ENV} is not set: CI must test PostgreSQL (.ci/run starts a server)")
    return url


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, str]]:
    """A migrated template database on the test server; each test copies it (fast, isolated)."""
    admin_url = postgres_admin_url()
    if not admin_url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (scripts/test.sh starts a server when it can)")
    admin = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    template = f"churnradar_tpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{template}"'))
    template_engine = create_engine(
        make_url(admin_url).set(database=template).render_as_string(hide_password=False)
    )
    migrate(template_engine)
    template_engine.dispose()
    yield admin_url, template
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{template}"'))
    admin.dispose()


@pytest.fixture
def postgres_database_template(postgres_template: tuple[str, str]) -> str:
    """The database a test's PostgreSQL database is copied from: the migrated template (a folder's conftest
    may give a seeded one instead, saving a second copy)."""
    return postgres_template[1]


def _postgres_engine(request: pytest.FixtureRequest, lake_root: Path) -> Iterator[Engine]:
    admin_url, _ = request.getfixturevalue("postgres_template")
    template = request.getfixturevalue("postgres_database_template")
    name = f"churnradar_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine = create_engine(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    lake_service.bind(engine, lake_root)  # a server database has no file to sit beside
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite store made once per test process; each test copies the file (migrating it again
    cost every test a sixth of a second)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "churnradar.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection checkpoints the WAL: the file alone is the whole store
    assert not path.with_name(f"{path.name}-wal").exists()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated churnradar database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        database = tmp_path / "churnradar.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), database)
        engine = create_engine(f"sqlite:///{database}")
        yield engine
        engine.dispose()
    else:
        yield from _postgres_engine(request, tmp_path / "churnradar-data")


@pytest.fixture
def settings() -> Settings:
    """Test settings: UTC, small batches so that multi-batch paths run on small files."""
    return Settings(environment="test", secret_key="x" * 32, imports={"batch_rows": 1_000})  # type: ignore[arg-type]


DATA_TABLES = ("teams", "users", "customers", "contracts")


def lake_events(engine: Engine) -> list[tuple[str, ...]]:
    """The events of `engine`'s lake (every column), as text, sorted."""
    return _lake_rows(engine, events_relation)


def lake_invoices(engine: Engine) -> list[tuple[str, ...]]:
    """The invoices of `engine`'s lake (every column), as text, sorted."""
    return _lake_rows(engine, invoices_relation)


def _lake_rows(engine: Engine, relation: Any) -> list[tuple[str, ...]]:
    con = duckdb.connect()
    try:
        rows = relation(lake_service.lake_for(engine), con).fetchall()
    finally:
        con.close()
    return sorted(tuple(map(str, row)) for row in rows)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every data table's rows (without the import log), sorted, and the lake's events, to assert that
    nothing changed."""
    tables = Base.metadata.tables
    with engine.connect() as conn:
        found: dict[str, list[tuple[Any, ...]]] = {
            name: sorted(tuple(map(str, row)) for row in conn.execute(select(tables[name])))
            for name in DATA_TABLES
        }
    found["events"] = lake_events(engine)
    found["invoices"] = lake_invoices(engine)
    return found


def copy_store(database: Path | str, target: Path) -> Path:
    """Copy a SQLite store and its lake (the `<stem>-data` folder beside it) to `target`; returns `target`."""
    source = Path(database)
    shutil.copy(source, target)
    lake = source.with_name(f"{source.stem}-data")
    if lake.exists():
        shutil.copytree(lake, target.with_name(f"{target.stem}-data"), dirs_exist_ok=True)
    return target


def events_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Event rows (customer_id, ts, kind, event_key and any value columns) in the lake's schema."""
    columns = {f.name: [r.get(f.name) for r in rows] for f in EVENTS_SCHEMA}
    return pa.table(columns, schema=EVENTS_SCHEMA)


def store_events(engine: Engine, rows: Sequence[dict[str, Any]], *, operation: str = "test") -> None:
    """Write event rows (as `events_table` takes them) into the store's lake in one commit."""
    write_events(lake_service.lake_for(engine), events_table(rows), operation=operation)


def store_invoices(engine: Engine, rows: Sequence[dict[str, Any]], *, operation: str = "test") -> None:
    """Write invoice rows (customer_id, invoice_id, due_date, amount, ...) into the store's lake."""
    columns = {f.name: [r.get(f.name) for r in rows] for f in INVOICES_SCHEMA}
    write_invoices(
        lake_service.lake_for(engine), pa.table(columns, schema=INVOICES_SCHEMA), operation=operation
    )


def stored_snapshot(engine: Engine, as_of: date) -> pd.DataFrame:
    """The wide snapshot stored for `as_of` (customer_id and a column per indicator), by customer."""
    return indicator_repository.read_wide(engine, as_of)


def shared_data(*parts: str) -> Path:
    """A file from ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (clone the project beside ../shared to run real-data tests)")
    return path
