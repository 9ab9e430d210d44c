"""Stores for the concurrency tests: a small demo base, imported and evaluated once, copied per test.

The demo files (300 customers, seed 7, ending 2026-06-30) are written once per run and split at AS_OF: the
template store holds everything before it (evaluated as of BASE_AS_OF, so alerts and tasks exist), and
`late/events.csv` holds the rest for the tests to import. The SQLite template (a file and the lake folder
beside it) is built once and shared by the xdist workers; a PostgreSQL template database (with its lake
folder) is built once per worker and copied with CREATE DATABASE ... TEMPLATE.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Scope
from churnradar.db import create_engine, session_scope
from churnradar.models.people import Role
from tests.concurrency.procs import Store, base_env, cli_args, run
from tests.conftest import POSTGRES_ENV, postgres_admin_url

CUSTOMERS = 300
SEED = 7
END = date(2026, 6, 30)
BASE_AS_OF = date(2026, 5, 18)  # evaluated in the template
AS_OF = date(2026, 6, 1)  # the tests evaluate this date; the template holds only events before it
ADMIN = "cc.admin"
PASSWORD = "concurrency-Test-passw0rd"
SCOPES = frozenset({Scope.READ, Scope.WRITE, Scope.INGEST, Scope.ADMIN})
Kinds = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "concurrency: real server, worker and CLI processes at once (tests/concurrency, ~1 min)"
    )


@dataclass(frozen=True)
class Demo:
    """The demo files: `base/` for the template, `late/events.csv` (events on or after AS_OF)."""

    base: Path
    late_events: Path
    reps: tuple[str, ...]  # logins a customer can be given to (reps and managers)


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder all xdist workers of this run share (the base temp's parent under xdist)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    return root / "concurrency-shared"


def _split_events(source: Path, before: Path, after: Path) -> None:
    with (
        source.open(newline="") as rows,
        before.open("w", newline="") as early,
        after.open("w", newline="") as late,
    ):
        reader = csv.reader(rows)
        header = next(reader)
        at = header.index("ts")
        writers = csv.writer(early), csv.writer(late)
        for writer in writers:
            writer.writerow(header)
        cut = AS_OF.isoformat()
        for row in reader:
            writers[row[at] >= cut].writerow(row)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`churnradar demo-data` once per run, split at AS_OF."""
    shared = _shared(tmp_path_factory)
    folder = shared / "demo"
    with _exclusive(shared / "demo.lock"):
        if not (folder / "done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            raw = folder / "raw"
            env = base_env("sqlite:///unused.db", None)
            demo_data = ["demo-data", "--out", str(raw), "--customers", str(CUSTOMERS), "--seed", str(SEED)]
            run(cli_args(*demo_data, "--end", END.isoformat()), env, shared)
            base = folder / "base"
            base.mkdir()
            for name in ("users", "customers", "contracts", "invoices"):
                shutil.copy(raw / f"{name}.csv", base / f"{name}.csv")
            (folder / "late").mkdir()
            _split_events(raw / "events.csv", base / "events.csv", folder / "late" / "events.csv")
            (folder / "done").touch()
    with (folder / "base" / "users.csv").open(newline="") as users:
        reps = tuple(row["login"] for row in csv.DictReader(users) if row["role"] in ("rep", "manager"))
    return Demo(folder / "base", folder / "late" / "events.csv", reps)


@dataclass(frozen=True)
class Template:
    """A built store to copy: the database (a file, or a PostgreSQL database name), its lake, the token."""

    database: str
    lake: Path
    token: str


def _build(url: str, lake: Path | None, folder: Path, demo: Demo) -> str:
    """Import the base files and evaluate BASE_AS_OF in processes of their own; add the admin and a token."""
    env = base_env(url, lake)
    run(cli_args("import", str(demo.base), "--json"), env, folder)
    run(cli_args("evaluate", "--as-of", BASE_AS_OF.isoformat(), "--force", "--json"), env, folder)
    engine = create_engine(url)
    try:
        with session_scope(engine) as session:
            auth_service.create_user(session, login=ADMIN, role=Role.ADMIN, password=PASSWORD)
            _, secret = auth_service.create_token(session, login=ADMIN, scopes=SCOPES, name="concurrency")
    finally:
        engine.dispose()
    return secret


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, demo: Demo) -> Template:
    """The SQLite template, built by whichever worker comes first."""
    shared = _shared(tmp_path_factory)
    folder = shared / "sqlite"
    with _exclusive(shared / "sqlite.lock"):
        if not (folder / "token.json").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            secret = _build(f"sqlite:///{folder / 'store.db'}", None, folder, demo)
            (folder / "token.json").write_text(json.dumps({"token": secret}))
    token = json.loads((folder / "token.json").read_text())["token"]
    return Template(str(folder / "store.db"), folder / "store-data", token)


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory, demo: Demo) -> Iterator[Template]:
    """A PostgreSQL template database and its lake, for this worker."""
    admin_url = postgres_admin_url()
    if not admin_url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}")
    admin = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"churnradar_cc_tpl_{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("pg-template")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        secret = _build(url, folder / "lake", folder, demo)
        yield Template(name, folder / "lake", secret)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


StoreFactory = Callable[[str], Store]


@pytest.fixture(params=Kinds)
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Make copies of the template (`new_store("name")`), on SQLite or on a fresh PostgreSQL database."""
    kind: str = request.param
    dropped: list[str] = []
    admin_url = os.environ.get(POSTGRES_ENV, "")

    def make(name: str) -> Store:
        folder = tmp_path / name
        folder.mkdir()
        if kind == "sqlite":
            template: Template = request.getfixturevalue("sqlite_template")
            shutil.copy(template.database, folder / "churnradar.db")
            if Path(f"{template.database}-wal").exists():  # no writer is left: the pair is consistent
                shutil.copy(f"{template.database}-wal", folder / "churnradar.db-wal")
            lake = folder / "churnradar-data"  # where a SQLite store's lake is by default
            shutil.copytree(template.lake, lake)
            url = f"sqlite:///{folder / 'churnradar.db'}"
            env = base_env(url, None)
        else:
            template = request.getfixturevalue("pg_template")
            database = f"churnradar_cc_{uuid.uuid4().hex[:10]}"
            admin = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{database}" TEMPLATE "{template.database}"'))
            finally:
                admin.dispose()
            dropped.append(database)
            lake = folder / "lake"
            shutil.copytree(template.lake, lake)
            url = make_url(admin_url).set(database=database).render_as_string(hide_password=False)
            env = base_env(url, lake)
        return Store(kind, url, lake, folder, template.token, PASSWORD, env)

    yield make
    if dropped:
        admin = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for database in dropped:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        finally:
            admin.dispose()
