"""SQL sources with a real PostgreSQL database as the CRM: first sync, only new and changed rows after,
a full resync that changes nothing, batches that never part one cursor value, and failures."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from churnradar.config import Settings
from churnradar.source import service
from tests.conftest import lake_events
from tests.source.conftest import customers, save

SCHEMA = """
CREATE TABLE accounts (id text PRIMARY KEY, company text, industry text, updated_at timestamptz NOT NULL);
CREATE TABLE activity (id bigserial PRIMARY KEY, account text, at timestamptz, what text);
"""
T0 = datetime(2026, 11, 1, 8, 0)


def crm_source(crm_url: str) -> dict[str, object]:
    return {
        "name": "crm",
        "kind": "sql",
        "schedule": "0 * * * *",
        "options": {
            "queries": {
                "customers": "SELECT id AS customer_id, company AS name, industry, updated_at FROM accounts",
                "events": (
                    "SELECT id AS event_id, account AS customer_id, at AS ts, what AS kind FROM activity"
                ),
            },
            "cursor": {"customers": "updated_at", "events": "event_id"},
        },
        "secrets": {"url": crm_url},
    }


@pytest.fixture
def crm(crm_url: str) -> Engine:
    engine = create_engine(crm_url)
    with engine.begin() as conn:
        for statement in SCHEMA.strip().split(";"):
            if statement.strip():
                conn.execute(text(statement))
        conn.execute(
            text("INSERT INTO accounts VALUES (:id, :company, 'saas', :at)"),
            [{"id": f"A{i}", "company": f"Company {i}", "at": T0 + timedelta(hours=i)} for i in range(5)],
        )
        conn.execute(
            text("INSERT INTO activity (account, at, what) VALUES (:a, :at, 'login')"),
            [{"a": f"A{i % 5}", "at": T0 + timedelta(minutes=i)} for i in range(30)],
        )
    return engine


def test_first_incremental_and_full_sync(
    engine: Engine, settings: Settings, crm: Engine, crm_url: str
) -> None:
    save(engine, settings, **crm_source(crm_url))
    first = service.sync_source(engine, "crm", settings=settings)
    assert first.ok, first
    assert first.totals() == {"rows": 35, "inserted": 35, "updated": 0, "unchanged": 0, "rejected": 0}
    assert len(customers(engine)) == 5
    assert len(lake_events(engine)) == 30

    with crm.begin() as conn:
        conn.execute(text("UPDATE accounts SET company = 'Renamed', updated_at = now() WHERE id = 'A1'"))
        conn.execute(text("INSERT INTO activity (account, at, what) VALUES ('A2', now(), 'order')"))
    second = service.sync_source(engine, "crm", settings=settings)
    assert second.ok, second.error
    assert [(k.kind.value, k.rows, k.inserted, k.updated) for k in second.kinds] == [
        ("customers", 1, 0, 1),
        ("events", 1, 1, 0),
    ]
    assert customers(engine)["A1"] == "Renamed"
    assert service.get_source(engine, "crm").cursors["events"] == "31"

    nothing = service.sync_source(engine, "crm", settings=settings)
    assert nothing.ok
    assert nothing.totals()["rows"] == 0
    assert nothing.duration_seconds < 5

    before = (customers(engine), lake_events(engine))
    full = service.sync_source(engine, "crm", settings=settings, full=True)
    assert full.totals() == {"rows": 36, "inserted": 0, "updated": 0, "unchanged": 36, "rejected": 0}
    assert (customers(engine), lake_events(engine)) == before


def test_batches_never_part_one_cursor_value(
    engine: Engine, settings: Settings, crm: Engine, crm_url: str
) -> None:
    # 2,500 events in 1,000-row chunks, every 700 sharing one time: a chunk ends where the time changes.
    with crm.begin() as conn:
        conn.execute(text("DELETE FROM activity"))
        conn.execute(
            text("INSERT INTO activity (account, at, what) VALUES ('A0', :at, 'login')"),
            [{"at": T0 + timedelta(days=i // 700)} for i in range(2_500)],
        )
    definition = crm_source(crm_url)
    definition["options"]["cursor"]["events"] = "ts"  # type: ignore[index]
    definition["options"]["chunk_rows"] = 1_000  # type: ignore[index]
    save(engine, settings, **definition)
    summary = service.sync_source(engine, "crm", settings=settings)
    events = next(k for k in summary.kinds if k.kind.value == "events")
    assert (events.rows, events.batches) == (2_500, 2)  # 1,400 (two times) + 1,100 (the rest)
    with crm.begin() as conn:
        conn.execute(
            text("INSERT INTO activity (account, at, what) VALUES ('A0', :at, 'order')"),
            {"at": T0 + timedelta(days=9)},
        )
    again = service.sync_source(engine, "crm", settings=settings)
    assert next(k for k in again.kinds if k.kind.value == "events").rows == 1
    assert len(lake_events(engine)) == 2_501


def test_query_error_names_the_source_and_kind_and_keeps_the_cursor(
    engine: Engine, settings: Settings, crm: Engine, crm_url: str
) -> None:
    save(engine, settings, **crm_source(crm_url))
    assert service.sync_source(engine, "crm", settings=settings).ok
    definition = crm_source(crm_url)
    definition["options"]["queries"]["events"] = "SELECT nope FROM activity"  # type: ignore[index]
    save(engine, settings, **definition)
    summary = service.sync_source(engine, "crm", settings=settings)
    assert not summary.ok
    assert summary.error is not None
    assert summary.error.startswith('source crm, events: column "nope" does not exist')
    assert service.get_source(engine, "crm").cursors["events"] == "30"
    # an error the server meets while the rows stream (row 31 of 31 divides by zero)
    with crm.begin() as conn:
        conn.execute(text("INSERT INTO activity (account, at, what) VALUES ('A2', now(), 'order')"))
    definition["options"]["queries"]["events"] = (  # type: ignore[index]
        "SELECT id AS event_id, account AS customer_id, at AS ts, what AS kind, 1 / (id - 31) AS amount"
        " FROM activity"
    )
    save(engine, settings, **definition)
    summary = service.sync_source(engine, "crm", settings=settings)
    assert summary.error == "source crm, events: division by zero"
    assert service.get_source(engine, "crm").cursors["events"] == "30"
    assert len(lake_events(engine)) == 30


def test_bad_password_and_unreachable_server(engine: Engine, settings: Settings, crm_url: str) -> None:
    wrong = make_url(crm_url).set(username="nobody_here").render_as_string(hide_password=False)
    save(engine, settings, **(crm_source(crm_url) | {"secrets": {"url": wrong}}))
    summary = service.sync_source(engine, "crm", settings=settings)
    assert summary.error is not None
    assert summary.error.startswith("source crm, customers: ")
    assert "nobody_here" in summary.error  # the server's own words: role "nobody_here" does not exist
    down = make_url(crm_url).set(port=9).render_as_string(hide_password=False)
    save(engine, settings, **(crm_source(crm_url) | {"secrets": {"url": down}}))
    summary = service.sync_source(engine, "crm", settings=settings)
    assert summary.error is not None
    assert "source crm, customers: " in summary.error
    assert customers(engine) == {}


def test_a_bad_row_rejects_its_batch_with_row_and_field(
    engine: Engine, settings: Settings, crm: Engine, crm_url: str
) -> None:
    with crm.begin() as conn:
        conn.execute(text("UPDATE activity SET what = NULL WHERE id = 7"))
    save(engine, settings, **crm_source(crm_url))
    summary = service.sync_source(engine, "crm", settings=settings)
    events = next(k for k in summary.kinds if k.kind.value == "events")
    assert [str(e) for e in events.errors] == [
        "source crm, events row 7, column kind: required value is empty"
    ]
    assert lake_events(engine) == []
    assert "events" not in service.get_source(engine, "crm").cursors


def test_a_database_without_copy_takes_the_generic_path(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    crm_url = f"sqlite:///{tmp_path / 'crm.db'}"
    crm = create_engine(crm_url)
    with crm.begin() as conn:
        conn.execute(
            text("CREATE TABLE accounts (id TEXT, company TEXT, industry TEXT, updated_at TIMESTAMP)")
        )
        conn.execute(
            text("CREATE TABLE activity (id INTEGER PRIMARY KEY, account TEXT, at TIMESTAMP, what TEXT)")
        )
        conn.execute(text("INSERT INTO accounts VALUES ('A0', 'Zero', 'saas', '2026-11-01 08:00:00')"))
        conn.execute(
            text("INSERT INTO activity (account, at, what) VALUES ('A0', :at, 'login')"),
            [{"at": T0 + timedelta(days=i // 700)} for i in range(2_500)],
        )
    definition = crm_source(crm_url)
    definition["options"]["cursor"]["events"] = "ts"  # type: ignore[index]
    save(engine, settings, **definition)
    summary = service.sync_source(engine, "crm", settings=settings)
    assert summary.ok, summary.error
    events = next(k for k in summary.kinds if k.kind.value == "events")
    assert (events.rows, events.batches) == (2_500, 2)
    with crm.begin() as conn:
        conn.execute(
            text("INSERT INTO activity (account, at, what) VALUES ('A0', '2026-12-01 00:00:00', 'order')")
        )
    again = service.sync_source(engine, "crm", settings=settings)
    assert [(k.kind.value, k.rows) for k in again.kinds] == [("customers", 0), ("events", 1)]
    assert len(lake_events(engine)) == 2_501
    crm.dispose()


def test_types_arrow_does_not_hold_come_as_the_servers_text(
    engine: Engine, settings: Settings, crm: Engine, crm_url: str
) -> None:
    # numeric, uuid and json columns (read as the server writes them), a numeric cursor bound in its type
    definition = crm_source(crm_url)
    definition["options"]["queries"]["events"] = (  # type: ignore[index]
        "SELECT (id * 1.5)::numeric(10, 2) AS event_id, account AS customer_id, at AS ts, what AS kind,"
        " (id % 7)::numeric(10, 2) AS amount, md5(id::text)::uuid AS ref, json_build_object('n', id) AS meta"
        " FROM activity"
    )
    save(engine, settings, **definition)
    assert service.sync_source(engine, "crm", settings=settings).ok
    assert service.get_source(engine, "crm").cursors["events"] == "45.00"
    stored = lake_events(engine)
    assert len(stored) == 30
    first = next(row for row in stored if row[3] == "id:1.50")
    assert first[4] == "1.0"  # the amount
    assert first[-2] == '{"ref": "c4ca4238-a0b9-2382-0dcc-509a6f75849b", "meta": "{\\"n\\" : 1}"}'
    with crm.begin() as conn:
        conn.execute(text("INSERT INTO activity (account, at, what) VALUES ('A2', now(), 'order')"))
    again = service.sync_source(engine, "crm", settings=settings)
    assert [(k.kind.value, k.rows) for k in again.kinds] == [("customers", 0), ("events", 1)]
    assert service.get_source(engine, "crm").cursors["events"] == "46.50"
