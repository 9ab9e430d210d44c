"""/api/v1/fields and /api/v1/entry-types: admins define, any token reads; a customer's fields and entries
through the API, within the token user's customers and role; YAML export and import round-trip."""

# ruff: noqa: F811 - pytest fixtures imported by name

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from churnradar.auth.schemas import Scope
from churnradar.rule import service as rule_service
from churnradar.rule.fields import bind_custom_fields, customer_fields
from tests.conftest import lake_events
from tests.web.conftest import (  # noqa: F401 - fixtures
    World,
    anonymous,
    bearer,
    client_for,
    csrf_of,
    token_for,
    world,
)

SQLITE_ONLY = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # no SQL of its own differs
INTENT = {
    "slug": "renewal_intent",
    "type": "choice",
    "label_en": "Renewal intent",
    "label_zh": "续约意向",
    "choices": ["low", "medium", "high"],
    "visible_to": ["manager", "rep"],
    "editable_by": ["rep"],
}
FORM = {
    "slug": "visit_feedback",
    "label_en": "Visit feedback",
    "channel": "visit",
    "fields": [
        {"slug": "mood", "type": "choice", "label_en": "Mood", "choices": ["low", "high"],
         "sets_field": "renewal_intent", "required": True},
        {"slug": "value", "type": "number", "label_en": "Satisfaction (1-5)"},
    ],
}  # fmt: skip


@pytest.fixture(autouse=True)
def unbound() -> Iterator[None]:
    yield
    bind_custom_fields(None)


@pytest.fixture
def call(anonymous: TestClient, token_for: Callable[..., str]) -> Callable[..., Any]:
    def send(login: str | None, method: str, path: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if login is not None:
            headers |= bearer(token_for(login, Scope.ADMIN, Scope.READ, Scope.WRITE))
        return anonymous.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    return send


@SQLITE_ONLY
def test_admins_define_fields_and_forms_others_read_them(world: World, call: Callable[..., Any]) -> None:
    assert call(None, "PUT", "/fields/renewal_intent", json=INTENT).status_code == 401
    assert call("director", "PUT", "/fields/renewal_intent", json=INTENT).status_code == 403
    assert call("admin", "PUT", "/fields/renewal_intent", json=INTENT).status_code == 200
    assert "renewal_intent" in customer_fields()  # the app bound its store: rules may read it at once
    taken = call("admin", "PUT", "/fields/tier", json={**INTENT, "slug": "tier"})
    assert (taken.status_code, "built-in field" in taken.json()["detail"]) == (422, True)
    unknown = {**FORM, "fields": [{**FORM["fields"][0], "sets_field": "nothing"}]}
    bad = call("admin", "PUT", "/entry-types/visit_feedback", json=unknown)
    assert bad.status_code == 422
    assert "fields[0] (mood).sets_field: no customer field 'nothing'" in bad.json()["detail"]
    assert call("admin", "PUT", "/entry-types/visit_feedback", json=FORM).status_code == 200
    listed = call("rep_east", "GET", "/fields").json()
    assert [(f["slug"], f["visible_to"], f["editable_by"]) for f in listed] == [
        ("renewal_intent", ["admin", "manager", "rep"], ["admin", "rep"])
    ]
    assert [e["slug"] for e in call("rep_east", "GET", "/entry-types").json()] == ["visit_feedback"]

    exported = call("admin", "GET", "/fields/export")
    assert exported.status_code == 200
    document = yaml.safe_load(exported.text)
    assert [f["slug"] for f in document["fields"]] == ["renewal_intent"]
    document["fields"][0]["label_en"] = "Intent to renew"
    document["entry_types"].append({"slug": "broken", "label_en": "Broken", "fields": []})
    headers = {"Content-Type": "application/yaml"}
    refused = call("admin", "POST", "/fields/import", content=yaml.safe_dump(document), headers=headers)
    assert refused.status_code == 422
    assert "body: entry_types.1.fields: List should have at least 1 item" in refused.json()["detail"]
    assert call("rep_east", "GET", "/fields").json()[0]["label_en"] == "Renewal intent"  # nothing stored
    document["entry_types"].pop()
    done = call("admin", "POST", "/fields/import", content=yaml.safe_dump(document), headers=headers)
    assert done.json() == {"created": 0, "updated": 2}

    at = datetime(2025, 1, 2)
    rule_service.active_templates(world.engine, at=at)
    general = yaml.safe_load(rule_service.export_rules(world.engine, ["general"]))["general"]
    rule = {"slug": "low_intent", "name_en": "Low intent", "name_zh": "意向低", "level": "yellow",
            "condition": "renewal_intent = 'low'", "reason_en": "low", "reason_zh": "低"}  # fmt: skip
    rule_service.import_rules(world.engine, yaml.safe_dump({"general": [*general, rule]}), at=at, by="t")
    in_use = call("admin", "DELETE", "/fields/renewal_intent")
    assert in_use.status_code == 409
    assert in_use.json()["detail"]["rules"] == ["general/low_intent", "entry type visit_feedback"]
    assert call("admin", "DELETE", "/entry-types/visit_feedback").status_code == 204


@SQLITE_ONLY
def test_reps_change_fields_and_record_entries_on_their_customers_only(
    world: World, call: Callable[..., Any]
) -> None:
    call("admin", "PUT", "/fields/renewal_intent", json=INTENT)
    call("admin", "PUT", "/fields/budget", json={"slug": "budget", "type": "number", "label_en": "Budget"})
    call("admin", "PUT", "/entry-types/visit_feedback", json=FORM)
    assert (
        call("rep_east", "PUT", "/customers/E-002/fields", json={"renewal_intent": "low"}).status_code == 404
    )
    refused = call("rep_east", "PUT", "/customers/E-001/fields", json={"budget": "9"})
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "budget: your role may not change this field",
    )
    wrong = call("rep_east", "PUT", "/customers/E-001/fields", json={"renewal_intent": "LOW"})
    assert (wrong.status_code, wrong.json()["detail"]) == (
        422,
        "renewal_intent: 'LOW' is not one of low, medium, high",
    )
    assert (
        call("rep_east", "PUT", "/customers/E-001/fields", json={"renewal_intent": "high"}).status_code == 200
    )
    assert call("director", "GET", "/customers/E-001").json()["fields"] == {"budget": None}  # intent: hidden
    assert call("rep_east", "GET", "/customers/E-001").json()["fields"] == {
        "renewal_intent": "high",
        "budget": None,
    }

    elsewhere = call("rep_east", "POST", "/customers/E-002/entries/visit_feedback", json={"mood": "low"})
    assert elsewhere.status_code == 404
    missing = call("rep_east", "POST", "/customers/E-001/entries/visit_feedback", json={"value": "4"})
    assert (missing.status_code, missing.json()["detail"]) == (422, "mood: an answer is required")
    before = len(lake_events(world.engine))
    done = call(
        "rep_east", "POST", "/customers/E-001/entries/visit_feedback", json={"mood": "low", "value": "2"}
    )
    assert done.status_code == 201, done.text
    assert done.json()["fields_set"] == {"renewal_intent": "low"}
    events = lake_events(world.engine)
    assert len(events) == before + 1
    (entry,) = [e for e in events if "visit_feedback" in e]
    assert {"visit", "2.0"} <= set(entry)  # the form's channel, its value column
    assert any('"author": "rep_east"' in cell for cell in entry)


@SQLITE_ONLY
def test_a_refusal_on_the_customer_page_shows_once_and_never_comes_from_the_link(
    world: World, call: Callable[..., Any], client_for: Callable[[str], TestClient]
) -> None:
    call("admin", "PUT", "/fields/renewal_intent", json=INTENT)
    client = client_for("rep_east")
    page = f"/customers/{world.ids.customers['E-001']}"
    form = {"csrf_token": csrf_of(client.get(page).text), "f_renewal_intent": "LOW"}
    refused = client.post(f"{page}/fields", data=form)  # redirected back to the customer
    assert refused.url.path == page
    assert (
        'id="field-error">renewal_intent: &#39;LOW&#39; is not one of low, medium, high</p>' in refused.text
    )
    assert 'id="field-error"' not in client.get(page).text  # shown once
    crafted = client.get(f"{page}?field_error=Call+0800+now&entry_error=Pay+here").text
    assert "Call 0800 now" not in crafted
    assert "Pay here" not in crafted
