"""Web test fixtures: a seeded database (SQLite, PostgreSQL when configured), the app, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Scope
from churnradar.config import Settings, WebSettings
from churnradar.db import session_scope
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
def world(engine: Engine, settings: Settings) -> World:
    """A seeded database and an app over it (small limits, so that reaching them is cheap to test)."""
    ids = seed(engine, settings)
    return World(engine, settings, ids, create_app(settings, engine, web_options()))


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
