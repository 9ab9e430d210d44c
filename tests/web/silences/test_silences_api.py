"""Silences over the API: list (read), add and end (write), scoped to the token user's customers, audited;
a silence added through it mutes that day's evaluation and ending it lets the next day's alert through."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth.schemas import Scope
from churnradar.evaluation.service import evaluate
from churnradar.kit.clock import FrozenClock
from churnradar.models import Alert, AuditEntry, Customer, InterventionTask
from churnradar.rule import repository as rule_repo
from churnradar.rule.service import active_templates
from tests.web.conftest import World, bearer

DAY = date(2025, 1, 1)
NOON = datetime(2025, 1, 1, 12, 0)
URL = "/api/v1/silences"
HIGH_TIER = {
    "slug": "high_tier",
    "name_en": "High tier",
    "name_zh": "高等级",
    "condition": "tier = 'high'",
    "level": "red",
    "reason_en": "High tier",
    "reason_zh": "高等级",
}


@pytest.fixture
def api(world: World, token_for: Callable[..., str]) -> Callable[..., TestClient]:
    """A client for a login's token with the given scopes; the app's clock is noon of DAY."""
    world.app.state.clock = FrozenClock(NOON)

    def make(login: str, *scopes: Scope) -> TestClient:
        return TestClient(world.app, base_url="http://127.0.0.1", headers=bearer(token_for(login, *scopes)))

    return make


def _body(**changes: Any) -> dict[str, Any]:
    return {"customer": "E-001", "ends_at": "2025-01-15T00:00:00", "reason": "on holiday"} | changes


def _muted(world: World) -> dict[str, str | None]:
    with world.engine.connect() as conn:
        return dict(
            conn.execute(  # type: ignore[arg-type]
                select(Customer.external_id, Alert.muted)
                .join(Customer, Customer.id == Alert.customer_id)
                .where(Alert.rule == "high_tier", Alert.status == "open")
            ).all()
        )


class TestThroughEvaluation:
    def test_added_mutes_that_day_and_ended_lets_the_next_day_through(
        self, world: World, api: Callable[..., TestClient]
    ) -> None:
        active_templates(world.engine, at=NOON)
        with world.engine.begin() as conn:  # only this rule: it flags E-001 and W-001
            stored = rule_repo.stored_rules(conn)
            general = [{**r, "enabled": False} if "condition" in r else r for r in stored["general"]]
            rule_repo.replace_rules(conn, {"general": [*general, HIGH_TIER]}, at=NOON, by="test")
        writer = api("mgr_east", Scope.READ, Scope.WRITE)
        added = writer.post(URL, json=_body())
        assert added.status_code == 201, added.text
        silence = added.json()
        assert silence["created_by"] == "mgr_east"
        assert silence["starts_at"] == "2025-01-01T12:00:00"
        evaluate(
            world.engine, as_of=DAY, settings=world.settings, clock=FrozenClock(NOON + timedelta(hours=1))
        )
        assert _muted(world) == {"E-001": "silenced", "W-001": None}
        ended = writer.post(f"{URL}/{silence['id']}/end")
        assert ended.status_code == 200, ended.text
        assert ended.json()["ends_at"] == "2025-01-01T12:00:00"
        assert ended.json()["active"] is False
        assert writer.post(f"{URL}/{silence['id']}/end").status_code == 409
        evaluate(
            world.engine,
            as_of=DAY + timedelta(days=1),
            settings=world.settings,
            clock=FrozenClock(NOON + timedelta(days=1)),
        )
        assert _muted(world) == {"E-001": None, "W-001": None}
        with world.engine.connect() as conn:
            audit = conn.execute(
                select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity_id).where(
                    AuditEntry.entity == "silence"
                )
            ).all()
            tasks = set(
                conn.execute(
                    select(Customer.external_id).join(
                        InterventionTask, InterventionTask.customer_id == Customer.id
                    )
                ).scalars()
            )
        assert sorted(audit) == [
            ("mgr_east", "create", str(silence["id"])),
            ("mgr_east", "end", str(silence["id"])),
        ]
        assert "W-001" in tasks


class TestListAndScope:
    def test_lists_active_by_default_all_with_ended_and_only_in_scope(
        self, world: World, api: Callable[..., TestClient]
    ) -> None:
        admin = api("admin", Scope.READ, Scope.WRITE)
        east = admin.post(URL, json=_body()).json()
        west = admin.post(URL, json=_body(customer="W-001")).json()
        assert admin.post(f"{URL}/{west['id']}/end").status_code == 200
        assert [s["id"] for s in admin.get(URL).json()] == [east["id"]]
        assert [s["id"] for s in admin.get(URL, params={"all": "true"}).json()] == [west["id"], east["id"]]
        rep_west = api("rep_west", Scope.READ, Scope.WRITE)
        assert [s["id"] for s in rep_west.get(URL, params={"all": "true"}).json()] == [west["id"]]
        # Another rep's customer is not there: neither to silence nor to end.
        refused = rep_west.post(URL, json=_body())
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "customer"]
        assert rep_west.post(f"{URL}/{east['id']}/end").status_code == 404
        assert rep_west.post(f"{URL}/99999/end").status_code == 404

    def test_a_token_without_the_write_scope_is_refused(self, api: Callable[..., TestClient]) -> None:
        reader = api("rep_east", Scope.READ)
        assert reader.get(URL).status_code == 200
        assert reader.post(URL, json=_body()).status_code == 403
        assert reader.post(f"{URL}/1/end").status_code == 403
        assert api("rep_east", Scope.WRITE).get(URL).status_code == 403

    def test_a_rep_may_not_silence_a_rule_for_every_customer(self, api: Callable[..., TestClient]) -> None:
        refused = api("rep_east", Scope.WRITE).post(URL, json=_body(customer=None, rule="high_tier"))
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "customer"]
        assert "admins and directors" in refused.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param({"reason": "a\x00b"}, "reason", "U+0000 at position 2", id="nul_in_reason"),
        pytest.param({"customer": "E-\x1b001"}, "customer", "U+001B", id="escape_in_customer"),
        pytest.param({"rule": "x\x7f"}, "rule", "U+007F", id="del_in_rule"),
        pytest.param({"reason": "y" * 2001}, "reason", "2000 characters", id="reason_too_long"),
        pytest.param({"customer": "E" * 201}, "customer", "200 characters", id="customer_too_long"),
        pytest.param({"reason": ""}, "reason", "at least 1 character", id="empty_reason"),
        pytest.param({"reason": "   "}, "reason", "must not be empty", id="blank_reason"),
        pytest.param({"customer": None}, "customer", "name a customer, a rule or both", id="no_matcher"),
        pytest.param({"rule": "no_such_rule"}, "rule", "no rule 'no_such_rule'", id="unknown_rule"),
        pytest.param({"ends_at": "2024-12-31T00:00:00"}, "ends_at", "end before it starts", id="backwards"),
        pytest.param(
            {"starts_at": "2024-01-01T00:00:00", "ends_at": "2024-02-01T00:00:00"},
            "ends_at",
            "over already",
            id="past",
        ),
        pytest.param(
            {"starts_at": "0001-01-01T00:00:00"}, "starts_at", "between 1970 and 2100", id="year_one"
        ),
        pytest.param({"ends_at": "9999-01-01T00:00:00"}, "ends_at", "between 1970 and 2100", id="year_9999"),
        pytest.param({"ends_at": "soon"}, "ends_at", "datetime", id="not_a_time"),
        pytest.param({"by": "someone else"}, "by", "Extra inputs", id="by_is_the_token_user"),
    ],
)
def test_hostile_input_is_422_with_a_located_message(
    world: World, api: Callable[..., TestClient], changes: dict[str, Any], field: str, message: str
) -> None:
    client = api("admin", Scope.READ, Scope.WRITE)
    refused = client.post(URL, json=_body(**changes))
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"][0]
    assert detail["loc"] == ["body", field]
    assert message in detail["msg"]
    assert client.get(URL, params={"all": "true"}).json() == []
    with world.engine.connect() as conn:
        assert conn.execute(select(AuditEntry.id).where(AuditEntry.entity == "silence")).first() is None
