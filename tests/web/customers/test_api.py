"""REST API: token scopes, pagination, customer detail with field permissions, and bulk event ingestion."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Scope
from churnradar.db import session_scope
from churnradar.models import ApiToken, ImportRun
from tests.conftest import lake_events, snapshot
from tests.web.conftest import World, bearer


def _events(world: World) -> int:
    """How many events the lake holds (imports write events there, not to the store)."""
    return len(lake_events(world.engine))


class TestTokens:
    def test_a_read_token_cannot_ingest(self, anonymous: TestClient, token_for: Callable[..., str]) -> None:
        response = anonymous.post("/api/v1/events", json=[], headers=bearer(token_for("admin", Scope.READ)))
        assert response.status_code == 403
        assert "ingest" in response.json()["detail"]

    def test_an_ingest_token_cannot_read(self, anonymous: TestClient, token_for: Callable[..., str]) -> None:
        token = bearer(token_for("admin", Scope.INGEST))
        for path in ("/api/v1/customers", "/api/v1/customers/E-001", "/api/v1/customers/E-001/events"):
            assert anonymous.get(path, headers=token).status_code == 403

    def test_malformed_or_unknown_tokens_are_refused(self, anonymous: TestClient) -> None:
        headers = [
            "Bearer crk_not-a-real-token",
            "Bearer ",
            "Basic YWRtaW46cGFzc3dvcmQ=",
            "crk_x",
            "Bearer " + "a" * 5000,
        ]
        for header in headers:
            response = anonymous.get("/api/v1/customers", headers={"Authorization": header})
            assert response.status_code == 401, header[:30]

    def test_expired_revoked_and_deactivated_tokens_stop_working(
        self, world: World, anonymous: TestClient
    ) -> None:
        with session_scope(world.engine) as session:
            expired = auth_service.create_token(
                session, login="admin", scopes=frozenset({Scope.READ}), expires_in=timedelta(seconds=-1)
            )[1]
            revoked_row, revoked = auth_service.create_token(
                session, login="admin", scopes=frozenset({Scope.READ})
            )
            auth_service.revoke_token(session, revoked_row.id)
            inactive = auth_service.create_token(session, login="rep_west", scopes=frozenset({Scope.READ}))[1]
        from churnradar.models import User

        with session_scope(world.engine) as session:
            user = session.scalars(select(User).where(User.login == "rep_west")).one()
            user.is_active = False
        for secret in (expired, revoked, inactive):
            assert anonymous.get("/api/v1/customers", headers=bearer(secret)).status_code == 401

    def test_only_a_hash_of_the_token_is_stored_and_use_is_recorded(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        secret = token_for("director")
        assert anonymous.get("/api/v1/customers", headers=bearer(secret)).status_code == 200
        with world.engine.connect() as conn:
            rows = conn.execute(select(ApiToken.token_hash, ApiToken.prefix, ApiToken.last_used_at)).all()
        assert all(secret not in (h + p) for h, p, _ in rows)
        assert any(used is not None for *_, used in rows)

    def test_openapi_document_lists_the_api(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        document = anonymous.get("/api/v1/openapi.json", headers=bearer(token_for("rep_east"))).json()
        assert {"/api/v1/customers", "/api/v1/customers/{customer_id}", "/api/v1/events"} <= set(
            document["paths"]
        )
        assert not any(path.startswith("/customers") for path in document["paths"])


class TestCustomers:
    def test_pages_of_the_list_do_not_overlap(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        token = bearer(token_for("admin"))
        seen: list[str] = []
        for page in (1, 2, 3, 4):
            body = anonymous.get(
                "/api/v1/customers", params={"per_page": 2, "page": page}, headers=token
            ).json()
            assert body["total"] == 7
            assert body["pages"] == 4
            seen += [c["customer_id"] for c in body["items"]]
        assert sorted(seen) == sorted(set(seen))
        assert len(seen) == 7

    def test_filters_and_sort(self, anonymous: TestClient, token_for: Callable[..., str]) -> None:
        token = bearer(token_for("admin"))
        params = {"segment": "SMB", "industry": "retail", "sort": "customer_id", "desc": "true"}
        body = anonymous.get("/api/v1/customers", params=params, headers=token).json()
        assert [c["customer_id"] for c in body["items"]] == ["R-001", "N-001", "E-001"]

    def test_contract_value_is_hidden_from_reps(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        rep = anonymous.get("/api/v1/customers/E-001", headers=bearer(token_for("rep_east"))).json()
        manager = anonymous.get("/api/v1/customers/E-001", headers=bearer(token_for("mgr_east"))).json()
        assert rep["contracts"][0]["value"] is None
        assert manager["contracts"][0]["value"] == pytest.approx(98765.43)
        # Invoices come from the lake, latest due date first.
        assert [i["invoice_id"] for i in manager["invoices"]] == ["INV-E-001-1", "INV-E-001-0"]
        assert manager["invoices"][0]["paid_amount"] == pytest.approx(1001)

    def test_events_of_a_customer_newest_first(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        token = bearer(token_for("rep_east"))
        body = anonymous.get(
            "/api/v1/customers/E-001/events", params={"per_page": 10, "kind": "order"}, headers=token
        ).json()
        assert body["total"] == 10
        stamps = [e["ts"] for e in body["items"]]
        assert stamps == sorted(stamps, reverse=True)
        assert {e["kind"] for e in body["items"]} == {"order"}


def _batch(n: int, prefix: str = "api") -> list[dict[str, object]]:
    return [
        {
            "customer_id": "E-001",
            "ts": f"2025-01-{1 + i % 28:02d}T10:00:00Z",
            "kind": "order",
            "event_id": f"{prefix}-{i}",
            "amount": 10 + i,
        }
        for i in range(n)
    ]


class TestIngestion:
    @pytest.fixture
    def ingest(self, anonymous: TestClient, token_for: Callable[..., str]) -> Callable[..., Any]:
        token = bearer(token_for("admin", Scope.INGEST))

        def post(body: bytes | list[dict[str, object]], content_type: str = "application/json") -> Any:
            data = json.dumps(body).encode() if isinstance(body, list) else body
            return anonymous.post(
                "/api/v1/events", content=data, headers={**token, "Content-Type": content_type}
            )

        return post

    def test_a_json_array_is_stored_and_counted(self, world: World, ingest: Callable[..., Any]) -> None:
        before = _events(world)
        response = ingest(_batch(50))
        assert response.status_code == 200, response.text
        summary = response.json()
        assert (summary["status"], summary["rows"], summary["inserted"]) == ("succeeded", 50, 50)
        assert _events(world) == before + 50
        with world.engine.connect() as conn:
            sources = conn.execute(select(ImportRun.source).order_by(ImportRun.id.desc())).scalars().first()
        assert sources == "api:admin"

    def test_ndjson_is_accepted_and_sending_it_again_changes_nothing(
        self, world: World, ingest: Callable[..., Any]
    ) -> None:
        body = "\n".join(json.dumps(r) for r in _batch(20, "nd")).encode() + b"\n"
        first = ingest(body, "application/x-ndjson").json()
        assert first["inserted"] == 20
        before = snapshot(world.engine)
        again = ingest(body, "application/x-ndjson").json()
        assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 20)
        assert snapshot(world.engine) == before

    def test_row_errors_name_the_record_and_store_nothing(
        self, world: World, ingest: Callable[..., Any]
    ) -> None:
        before = snapshot(world.engine)
        records = _batch(5, "bad")
        records[1]["amount"] = "lots"
        records[3]["customer_id"] = "NOPE-404"
        del records[4]["ts"]
        response = ingest(records)
        assert response.status_code == 422
        errors = response.json()["summary"]["errors"]
        assert {(e["row"], e["column"]) for e in errors} == {(2, "amount"), (4, "customer_id"), (5, "ts")}
        assert snapshot(world.engine) == before

    def test_malformed_bodies_are_refused_without_storing(
        self, world: World, ingest: Callable[..., Any]
    ) -> None:
        before = snapshot(world.engine)
        bodies = [
            (b"{not json", "application/json"),
            (b'{"customer_id": "E-001"}', "application/json"),
            (b'{"a": 1}\nnot json\n', "application/x-ndjson"),
            (b"\xff\xfe\x00", "application/json"),
            (b"[]", "application/json"),
            (b"[1, 2]", "application/json"),
        ]
        for body, content_type in bodies:
            response = ingest(body, content_type)
            assert response.status_code in (400, 422), body
        assert snapshot(world.engine) == before

    def test_an_oversized_body_is_refused(self, world: World, ingest: Callable[..., Any]) -> None:
        before = _events(world)
        big = _batch(3_000, "big")  # more than the test app's 256 KiB
        assert ingest(big).status_code == 413
        assert _events(world) == before

    def test_an_oversized_body_without_content_length_is_cut_off(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        def chunks() -> Iterator[bytes]:
            yield b"["
            for i in range(4_000):
                yield json.dumps(_batch(1, f"s{i}")[0]).encode() + b","
            yield b"{}]"

        headers = {**bearer(token_for("admin", Scope.INGEST)), "Content-Type": "application/json"}
        response = anonymous.post("/api/v1/events", content=chunks(), headers=headers)
        assert response.status_code == 413


class TestIndicators:
    def test_history_with_the_customers_own_baseline(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        body = anonymous.get(
            "/api/v1/customers/E-001/indicators", headers=bearer(token_for("rep_east"))
        ).json()
        by_name = {s["indicator"]: s for s in body}
        assert set(by_name) == {"orders_90d", "days_since_last_login"}
        orders = by_name["orders_90d"]
        assert [p[1] for p in orders["points"]] == [2.0 * m for m in range(1, 13)]
        assert orders["baseline"] == pytest.approx(13.0)
        assert orders["points"][0][0] == "2024-01-01"
