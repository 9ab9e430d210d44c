"""Reps cannot pick out the control group: a held-out customer and a capped one look the same to them.

Both arms are made by the real evaluation in one store: two identical customers of one rep, one rule
flagging both, a cap of one new alert per owner (the second customer is capped) and a control group whose
key draws the first customer (held out instead of getting a task).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from churnradar.alert.lifecycle import CAPPED, HOLDOUT, Policy
from churnradar.auth.schemas import Scope
from churnradar.evaluation.service import active_rulebook, evaluate
from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import import_records
from churnradar.intervention import control
from churnradar.kit.clock import FrozenClock
from churnradar.models import Alert, Customer, InterventionTask
from churnradar.rule import repository as rule_repo
from churnradar.rule.service import active_templates
from tests.web.conftest import World, bearer

DAY = date(2025, 1, 1)
NOON = datetime(2025, 1, 1, 12, 0)
RULE = "mining_watch"
# Identical customers of rep_east but for id and name; the lower id gets the owner's one uncapped slot.
PAIR = {"M-001": "Alpha Mining", "M-002": "Bravo Mining"}


def _customer(external: str, name: str) -> dict[str, Any]:
    return {
        "customer_id": external,
        "name": name,
        "owner": "rep_east",
        "team": "East",
        "segment": "SMB",
        "industry": "mining",
        "tier": "medium",
        "signup_date": "2023-02-01",
    }


def _key_drawing(customer: str) -> str:
    """A secret key under which `customer`'s alert falls in a 50% control group (deterministic search)."""
    for n in range(1000):
        key = f"{n:04d}" * 8
        if control.held_out(key.encode(), 0.5, customer=customer, rule=RULE, opened_on=DAY):
            return key
    raise AssertionError("no key draws the customer")


@pytest.fixture
def arms(world: World) -> dict[str, str]:
    """Evaluate once: M-001 held out, M-002 capped; returns external id -> arm."""
    settings = world.settings
    _ok(
        import_records(
            world.engine,
            [_customer(c, n) for c, n in PAIR.items()],
            kind=RecordKind.CUSTOMERS,
            settings=settings,
            source="t",
        )
    )
    events = [
        {
            "customer_id": c,
            "ts": f"2024-0{1 + n}-10T09:00:00",
            "kind": "order",
            "event_id": f"{c}-{n}",
            "amount": 100 + n,
        }
        for c in PAIR
        for n in range(3)
    ]
    _ok(import_records(world.engine, events, kind=RecordKind.EVENTS, settings=settings, source="t"))
    active_templates(world.engine, at=NOON)
    rule = {
        "slug": RULE,
        "name_en": "Mining watch",
        "name_zh": "矿业关注",
        "condition": "industry = 'mining'",
        "level": "orange",
        "reason_en": "A mining customer",
        "reason_zh": "矿业客户",
    }
    with world.engine.begin() as conn:  # only this rule fires
        stored = rule_repo.stored_rules(conn)
        general = [{**r, "enabled": False} if "condition" in r else r for r in stored["general"]]
        rule_repo.replace_rules(conn, {"general": [*general, rule]}, at=NOON, by="test")
    drawn = settings.model_copy(
        update={
            "secret_key": SecretStr(_key_drawing("M-001")),
            "interventions": settings.interventions.model_copy(update={"control_share": 0.5}),
        }
    )
    clock = FrozenClock(NOON)
    book = active_rulebook(world.engine, clock=clock, policy=Policy(cap_per_owner=1))
    evaluate(world.engine, as_of=DAY, settings=drawn, clock=clock, book=book)
    with world.engine.connect() as conn:
        muted = dict(
            conn.execute(
                select(Customer.external_id, Alert.muted)
                .join(Customer, Customer.id == Alert.customer_id)
                .where(Alert.rule == RULE, Customer.external_id.in_(list(PAIR)))
            ).all()
        )
        tasks = conn.execute(
            select(InterventionTask.id)
            .join(Customer, Customer.id == InterventionTask.customer_id)
            .where(Customer.external_id.in_(list(PAIR)))
        ).all()
    assert muted == {"M-001": HOLDOUT, "M-002": CAPPED}
    assert tasks == []
    world.app.state.clock = FrozenClock(NOON)
    return {"M-001": HOLDOUT, "M-002": CAPPED}


def _ok(summary: Any) -> None:
    assert summary.status == "succeeded", summary.errors


def _neutral(text: str, ids: dict[str, int]) -> str:
    """`text` with each customer's own data (source id, name, database id) replaced by placeholders."""
    for external, name in PAIR.items():
        text = text.replace(external, "CUSTOMER").replace(name, "NAME")
        text = re.sub(rf"/customers/{ids[external]}\b", "/customers/ID", text)
        text = text.replace(f'value="{ids[external]}"', 'value="ID"')
        text = text.replace(f'"id": {ids[external]},', '"id": "ID",')
    return text


def _ids(world: World) -> dict[str, int]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(Customer.external_id, Customer.id).where(Customer.external_id.in_(list(PAIR)))
        ).all()
    return {str(e): int(i) for e, i in rows}


class TestRepsSeeBothArmsAlike:
    def test_the_360_page_is_the_same_for_a_held_out_and_a_capped_customer(
        self, world: World, arms: dict[str, str], client_for: Callable[[str], TestClient]
    ) -> None:
        ids = _ids(world)
        rep = client_for("rep_east")
        pages = {c: rep.get(f"/customers/{ids[c]}") for c in PAIR}
        assert all(p.status_code == 200 for p in pages.values())
        held, capped = (_neutral(pages[c].text, ids) for c in PAIR)
        assert "Mining watch" in held  # the alert itself is shown
        assert ">capped<" not in capped
        assert ">holdout<" not in held
        assert held == capped
        zh = {c: rep.get(f"/customers/{ids[c]}", headers={"Accept-Language": "zh-CN"}).text for c in PAIR}
        assert "矿业关注" in zh["M-001"]
        assert _neutral(zh["M-001"], ids) == _neutral(zh["M-002"], ids)
        listing = rep.get("/risk").text
        rows = {c: re.search(rf'<tr data-customer="{c}".*?</tr>', listing, re.S) for c in PAIR}
        assert rows["M-001"] is not None
        assert rows["M-002"] is not None
        assert _neutral(rows["M-001"][0], ids) == _neutral(rows["M-002"][0], ids)
        # Managers still see which is which.
        manager = client_for("mgr_east")
        assert ">holdout<" in manager.get(f"/customers/{ids['M-001']}").text
        assert ">capped<" in manager.get(f"/customers/{ids['M-002']}").text

    def test_the_api_answers_the_same_for_both(
        self, world: World, arms: dict[str, str], token_for: Callable[..., str]
    ) -> None:
        ids = _ids(world)
        api = TestClient(
            world.app, base_url="http://127.0.0.1", headers=bearer(token_for("rep_east", Scope.READ))
        )

        def answers(external: str) -> str:
            documents = {
                path: api.get(f"/api/v1{path.format(c=external)}").json()
                for path in (
                    "/customers/{c}",
                    "/customers/{c}/events",
                    "/customers/{c}/indicators",
                    "/customers/{c}/tags",
                )
            }
            risk = api.get("/api/v1/risk", params={"per_page": 500}).json()
            documents["/risk"] = [r for r in risk["items"] if r["customer_id"] == external]
            tasks = api.get("/api/v1/tasks").json()
            documents["/tasks"] = [t for t in tasks.get("items", []) if external in json.dumps(t)]
            return _neutral(json.dumps(documents, ensure_ascii=False, sort_keys=True, indent=1), ids)

        held, capped = answers("M-001"), answers("M-002")
        assert '"level": "orange"' in held
        assert held == capped
