"""REST sources against a real HTTP server on 127.0.0.1: every pagination style and auth, incremental
syncs, and each failure leaving the store and the cursor as they were."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.source import service
from tests.conftest import lake_events
from tests.source.conftest import customers, import_runs, save
from tests.source.crm_api import API_KEY, CLIENT_ID, CLIENT_SECRET, PASSWORD, TOKEN, USER, CrmApi

MAPPING = {"customers": {"columns": {"id": "customer_id", "company": "name"}}}
SECRETS: dict[str, dict[str, str]] = {
    "none": {},
    "bearer": {"token": TOKEN},
    "api_key": {"api_key": API_KEY},
    "basic": {"username": USER, "password": PASSWORD},
    "oauth2": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
}


def rest_source(api: CrmApi, *, style: str = "page", auth: str = "none", **extra: Any) -> dict[str, Any]:
    endpoint = {"records": "data.items", "cursor": "updated_at", "since_param": "updated_since"}
    options: dict[str, Any] = {
        "base_url": api.url,
        "auth": auth,
        "pagination": {"style": style, "size": api.size},
        "endpoints": {
            "customers": {"path": "/customers", **endpoint},
            "events": {"path": "/events", **endpoint},
        },
        "retries": 2,
        "backoff_seconds": 0.01,
        **extra,
    }
    if auth == "oauth2":
        options["token_url"] = f"{api.url}/token"
    return {"name": "crm", "kind": "rest", "options": options, "secrets": SECRETS[auth], "mapping": MAPPING}


@pytest.mark.parametrize(
    ("style", "auth"),
    [("page", "bearer"), ("offset", "api_key"), ("cursor", "basic"), ("link", "oauth2"), ("none", "none")],
)
def test_each_pagination_and_auth_syncs_everything_then_only_what_is_new(
    engine: Engine, settings: Settings, api: CrmApi, style: str, auth: str
) -> None:
    api.style, api.auth = style, auth
    save(engine, settings, **rest_source(api, style=style, auth=auth))

    first = service.sync_source(engine, "crm", settings=settings)
    assert first.ok, first
    assert customers(engine) == {"C1": "华新机械", "C2": "Northwind"}
    assert len(lake_events(engine)) == 3
    assert {k.kind.value: k.cursor for k in first.kinds} == {
        "customers": "2026-11-02T00:00:00",
        "events": "2026-11-03T09:00:00",
    }

    api.records["customers"][1] |= {"company": "Northwind Traders", "updated_at": "2026-11-05T00:00:00"}
    api.records["events"].append(
        {
            "customer_id": "C2",
            "ts": "2026-11-06T08:00:00",
            "kind": "order",
            "event_id": "e4",
            "updated_at": "2026-11-06T08:00:00",
        }
    )
    second = service.sync_source(engine, "crm", settings=settings)
    assert second.ok, second
    assert [(k.kind.value, k.rows, k.inserted, k.updated) for k in second.kinds] == [
        ("customers", 1, 0, 1),
        ("events", 1, 1, 0),
    ]
    assert customers(engine)["C2"] == "Northwind Traders"
    assert len(lake_events(engine)) == 4


def test_full_resync_changes_nothing(engine: Engine, settings: Settings, api: CrmApi) -> None:
    save(engine, settings, **rest_source(api))
    assert service.sync_source(engine, "crm", settings=settings).ok
    before = (customers(engine), lake_events(engine))
    full = service.sync_source(engine, "crm", settings=settings, full=True)
    assert full.ok
    assert full.totals() == {"rows": 5, "inserted": 0, "updated": 0, "unchanged": 5, "rejected": 0}
    assert (customers(engine), lake_events(engine)) == before


def test_nothing_new_reads_nothing(engine: Engine, settings: Settings, api: CrmApi) -> None:
    save(engine, settings, **rest_source(api))
    assert service.sync_source(engine, "crm", settings=settings).ok
    runs = import_runs(engine)
    again = service.sync_source(engine, "crm", settings=settings)
    assert again.ok
    assert again.totals()["rows"] == 0
    assert import_runs(engine) == runs  # no batch, no import-log row


def test_bad_credential_names_the_source_and_page_and_stores_nothing(
    engine: Engine, settings: Settings, api: CrmApi
) -> None:
    api.auth = "bearer"
    definition = rest_source(api, auth="bearer")
    definition["secrets"] = {"token": "wrong"}
    save(engine, settings, **definition)
    summary = service.sync_source(engine, "crm", settings=settings)
    assert not summary.ok
    assert summary.error == "source crm, customers page 1: the server refused the credentials (HTTP 401)"
    assert "wrong" not in summary.error
    assert customers(engine) == {}


def test_a_page_that_is_not_json_rejects_that_kind_and_keeps_its_cursor(
    engine: Engine, settings: Settings, api: CrmApi
) -> None:
    save(engine, settings, **rest_source(api))
    assert service.sync_source(engine, "crm", settings=settings).ok
    api.records["events"] += [
        {
            "customer_id": "C1",
            "ts": f"2026-11-1{i}T00:00:00",
            "kind": "order",
            "event_id": f"n{i}",
            "updated_at": f"2026-11-1{i}T00:00:00",
        }
        for i in range(3)
    ]
    api.not_json_page = 2
    summary = service.sync_source(engine, "crm", settings=settings)
    assert not summary.ok
    assert summary.error is not None
    assert summary.error.startswith("source crm, events page 2: the response is not JSON (text/html)")
    assert len(lake_events(engine)) == 3
    assert service.get_source(engine, "crm").cursors["events"] == "2026-11-03T09:00:00"
    api.not_json_page = None
    assert service.sync_source(engine, "crm", settings=settings).ok
    assert len(lake_events(engine)) == 6


def test_a_record_missing_a_required_field_is_named_by_page_row_and_field(
    engine: Engine, settings: Settings, api: CrmApi
) -> None:
    api.records["events"][2].pop("kind")
    save(engine, settings, **rest_source(api))
    summary = service.sync_source(engine, "crm", settings=settings)
    assert not summary.ok
    events = next(k for k in summary.kinds if k.kind.value == "events")
    assert [str(e) for e in events.errors] == [
        "source crm, events page 2 row 1, column kind: required value is empty"
    ]
    assert lake_events(engine) == []  # nothing from that batch
    assert service.get_source(engine, "crm").cursors.get("events") is None
    assert customers(engine) == {"C1": "华新机械", "C2": "Northwind"}  # the customers batch was fine


def test_server_errors_are_retried_with_backoff(engine: Engine, settings: Settings, api: CrmApi) -> None:
    save(engine, settings, **rest_source(api))
    api.failures = [503, 429]
    assert service.sync_source(engine, "crm", settings=settings).ok
    api.failures = [503, 503, 503]
    api.records["customers"][0]["updated_at"] = "2026-12-01T00:00:00"
    summary = service.sync_source(engine, "crm", settings=settings)
    assert summary.error == "source crm, customers page 1: HTTP 503 after 3 attempt(s)"


def test_unreachable_source(engine: Engine, settings: Settings, api: CrmApi) -> None:
    definition = rest_source(api)
    definition["options"]["base_url"] = "http://127.0.0.1:9"  # discard port: nothing listens
    save(engine, settings, **definition)
    summary = service.sync_source(engine, "crm", settings=settings)
    assert summary.error is not None
    assert summary.error.startswith("source crm, customers page 1: cannot reach it (ConnectError")
