"""Web test fixtures: a seeded database (SQLite, PostgreSQL when configured), the app, signed-in clients."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Scope
from churnradar.config import Settings, WebSettings
from churnradar.db import create_engine, session_scope
from churnradar.lake import service as lake_service
from churnradar.web.app import create_app
from tests.web.seed import PASSWORD, Seeded, seed

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class World:
    """The seeded database, its ids, and the app serving it."""

    engine: Engine
    settings: Settings
    ids: Seeded
    app: FastAPI


@pytest.fixture
def world(engine: Engine, settings: Settings, seeded_stores: SeededStores) -> World:
    """A seeded database and an app over it (small limits, so that reaching them is cheap to test)."""
    ids = seeded_stores.copy_into(engine, settings)
    return World(engine, settings, ids, create_app(settings, engine, web_options()))


class SeededStores:
    """The seeded database made once per test process and backend, copied into each test's own store
    (seeding through the import path cost more than a second a test). A copy is the same as seeding:
    the database file or a PostgreSQL database made from the seeded one as its template, and the lake."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[str, tuple[Path, str, Seeded]] = {}  # backend -> (lake, database, ids)
        self.admin_url: str | None = None
        self.next_is_seeded = False  # the next PostgreSQL database to copy into was made from the seeded one

    def postgres_seeded(self, admin_url: str, migrated: str, settings: Settings) -> str:
        """The seeded PostgreSQL database (seeded from the migrated template on first use), to make the
        next test's database from directly: its copy_into then has only the lake to copy."""
        if "postgresql" not in self.made:
            url = make_url(admin_url).set(database=migrated).render_as_string(hide_password=False)
            self.made["postgresql"] = self._seed(create_engine(url), settings)  # never connected: no dispose
        self.next_is_seeded = True
        return self.made["postgresql"][1]

    def copy_into(self, engine: Engine, settings: Settings) -> Seeded:
        backend = engine.dialect.name
        engine.dispose()
        if backend not in self.made:
            self.made[backend] = self._seed(engine, settings)
        lake, database, ids = self.made[backend]
        if backend == "sqlite":
            shutil.copyfile(database, str(engine.url.database))
        elif self.next_is_seeded:
            self.next_is_seeded = False
        else:
            self._recreate(engine, database)
        shutil.copytree(lake, lake_service.root_for(engine), dirs_exist_ok=True)
        return ids

    def _seed(self, engine: Engine, settings: Settings) -> tuple[Path, str, Seeded]:
        """Seed a copy of `engine`'s empty store once; returns its lake, database and ids."""
        folder = self.folder / engine.dialect.name
        folder.mkdir()
        if engine.dialect.name == "sqlite":
            database = str(folder / "seeded.db")
            shutil.copyfile(str(engine.url.database), database)
            seeded = create_engine(f"sqlite:///{database}")
        else:
            database = f"churnradar_seeded_{uuid.uuid4().hex[:8]}"
            self.admin_url = engine.url.set(database="postgres").render_as_string(hide_password=False)
            self._admin(f'CREATE DATABASE "{database}" TEMPLATE "{engine.url.database}"')
            seeded = create_engine(engine.url.set(database=database).render_as_string(hide_password=False))
            lake_service.bind(seeded, folder / "churnradar-data")
        try:
            ids = seed(seeded, settings)
            lake = lake_service.root_for(seeded)
        finally:
            seeded.dispose()
        return lake, database, ids

    def _recreate(self, engine: Engine, template: str) -> None:
        name = engine.url.database
        self._admin(f'DROP DATABASE "{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def _admin(self, statement: str) -> None:
        assert self.admin_url is not None
        admin = create_engine(self.admin_url).execution_options(isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(statement))
        finally:
            admin.dispose()

    def drop(self) -> None:
        for backend, (_, database, _) in self.made.items():
            if backend != "sqlite":
                self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def postgres_database_template(
    request: pytest.FixtureRequest, postgres_template: tuple[str, str], settings: Settings
) -> str:
    """A test of the seeded world gets its PostgreSQL database made from the seeded one (not made from the
    migrated template first, then dropped and made again)."""
    admin_url, migrated = postgres_template
    if "world" not in request.fixturenames:
        return migrated
    stores: SeededStores = request.getfixturevalue("seeded_stores")
    return stores.postgres_seeded(admin_url, migrated, settings)


@pytest.fixture(scope="session")
def seeded_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededStores]:
    stores = SeededStores(tmp_path_factory.mktemp("seeded"))
    yield stores
    stores.drop()


def web_options(**changes: Any) -> WebSettings:
    """The tests' web settings (small limits, so that reaching them is cheap to test), with `changes`."""
    base = WebSettings(max_ingest_bytes=256 * 1024, max_ingest_records=2_000, login_failures_per_address=8)
    return base.model_copy(update=changes)


def csrf_of(html: str) -> str:
    """The CSRF token of a rendered page."""
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> TestClient:
    """Sign `client` in through the real login form."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"login": login, "password": password, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def client_for(world: World) -> Callable[[str], TestClient]:
    """A signed-in test client for a seeded login."""

    def make(login: str) -> TestClient:
        return sign_in(TestClient(world.app, base_url="http://127.0.0.1"), login)

    return make


@pytest.fixture
def anonymous(world: World) -> TestClient:
    """A client with no session and no token."""
    return TestClient(world.app, base_url="http://127.0.0.1")


@pytest.fixture
def token_for(world: World) -> Callable[..., str]:
    """An API token secret for a seeded login with the given scopes."""

    def make(login: str, *scopes: Scope) -> str:
        with session_scope(world.engine) as session:
            _, secret = auth_service.create_token(
                session, login=login, scopes=frozenset(scopes or (Scope.READ,))
            )
        return secret

    return make


def bearer(secret: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {secret}"}


# The web tests' PostgreSQL twins run where a page's own queries differ by dialect (filters, search, JSON
# tags, dates, aggregates). The other web tests (sign-in, forms, settings, rules pages, the security walk)
# run on SQLite only: the queries behind them are the domain services', whose tests run on both databases.
POSTGRES_TWINS = (
    "risk/",
    "customers/",
    "tasks/",
    "effectiveness/",
    "overview/",
    "datahealth/",
    "events/test_ingest_kinds.py",
    "test_control_group_blind.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    web = Path(__file__).parent
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        path = item.path
        twin = "[postgresql" in item.nodeid and web in path.parents
        if twin and not path.relative_to(web).as_posix().startswith(POSTGRES_TWINS):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
