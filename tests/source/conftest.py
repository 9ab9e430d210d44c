"""Fixtures of the source tests: a CRM database on the PostgreSQL test server, a CRM API, helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine, make_url

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.models import Customer
from churnradar.source import service
from churnradar.source.schemas import SourceDefinition, SourceView
from tests.conftest import postgres_admin_url
from tests.source.crm_api import CrmApi, serve


@pytest.fixture
def crm_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL test server, standing for a customer's CRM."""
    admin_url = postgres_admin_url()
    if not admin_url:
        pytest.skip("the CRM database tests need CHURNRADAR_TEST_POSTGRES_URL")
    name = f"crm_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def api() -> Iterator[CrmApi]:
    """The CRM API on 127.0.0.1, serving two customers and three events by default."""
    crm = CrmApi(
        records={
            "customers": [
                {"id": "C1", "company": "华新机械", "updated_at": "2026-11-01T00:00:00"},
                {"id": "C2", "company": "Northwind", "updated_at": "2026-11-02T00:00:00"},
            ],
            "events": [
                {
                    "customer_id": "C1",
                    "ts": "2026-11-01T09:00:00",
                    "kind": "order",
                    "event_id": "e1",
                    "updated_at": "2026-11-01T09:00:00",
                },
                {
                    "customer_id": "C2",
                    "ts": "2026-11-02T09:00:00",
                    "kind": "login",
                    "event_id": "e2",
                    "updated_at": "2026-11-02T09:00:00",
                },
                {
                    "customer_id": "C1",
                    "ts": "2026-11-03T09:00:00",
                    "kind": "order",
                    "event_id": "e3",
                    "updated_at": "2026-11-03T09:00:00",
                },
            ],
        }
    )
    with serve(crm) as running:
        yield running


def save(engine: Engine, settings: Settings, **definition: Any) -> SourceView:
    """Store a source from keyword arguments, as a YAML file or the API would give them."""
    return service.save_source(engine, SourceDefinition.model_validate(definition), settings=settings)


def customers(engine: Engine) -> dict[str, str | None]:
    """The stored customers: external id -> name."""
    with engine.connect() as conn:
        return {str(r[0]): r[1] for r in conn.execute(select(Customer.external_id, Customer.name))}


def import_runs(engine: Engine) -> int:
    """How many import-log rows the store holds."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM import_runs")).scalar_one())


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(text(table))).scalar_one())
