"""/api/v1/indicators: any signed-in token reads custom indicators, only an admin's admin token changes them;
refusals name the key (422) or the rules that read an indicator (409); YAML export and import round-trip."""

# ruff: noqa: F811 - pytest fixtures imported by name

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from churnradar.auth.schemas import Scope
from churnradar.indicator.registry import bind_stored, default_registry
from tests.web.conftest import World, anonymous, bearer, token_for, world  # noqa: F401 - fixtures
from tests.web.indicators import add_general_rule

VISITS = {
    "name": "visits_60d",
    "name_en": "Visits in the last 60 days",
    "name_zh": "近60天拜访次数",
    "unit": "visits",
    "events": ["visit"],
    "aggregate": "count",
    "window_days": 60,
}


@pytest.fixture(autouse=True)
def unbound() -> Iterator[None]:
    yield
    bind_stored(None)


@pytest.fixture
def call(anonymous: TestClient, token_for: Callable[..., str]) -> Callable[..., Any]:
    def send(login: str | None, method: str, path: str = "", **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if login is not None:
            headers |= bearer(token_for(login, Scope.ADMIN, Scope.READ))
        return anonymous.request(method, f"/api/v1/indicators{path}", headers=headers, **kwargs)

    return send


def test_reads_for_any_token_changes_for_admins_only(world: World, call: Callable[..., Any]) -> None:
    assert call(None, "GET").status_code == 401
    assert call(None, "POST", json=VISITS).status_code == 401
    assert call("director", "POST", json=VISITS).status_code == 403
    assert call("rep_east", "PUT", "/visits_60d", json=VISITS).status_code == 403
    created = call("admin", "POST", json=VISITS)
    assert created.status_code == 201, created.text
    assert created.json()["columns"] == ["visits_60d"]
    assert call("admin", "POST", json=VISITS).status_code == 409
    assert "visits_60d" in default_registry()  # the app bound its store: rules see it at once

    listed = call("rep_east", "GET", headers={"Accept-Language": "zh-CN"})
    assert listed.status_code == 200
    assert [(i["name"], i["display_name"]) for i in listed.json()] == [("visits_60d", "近60天拜访次数")]
    one = call("rep_east", "GET", "/visits_60d", headers={"Accept-Language": "en"})
    assert one.json()["display_name"] == "Visits in the last 60 days"
    assert call("rep_east", "GET", "/nothing").status_code == 404
    assert call("director", "DELETE", "/visits_60d").status_code == 403

    changed = call("admin", "PUT", "/visits_60d", json={**VISITS, "window_days": 30})
    assert changed.status_code == 200
    assert call("rep_east", "GET", "/visits_60d").json()["window_days"] == 30
    assert call("admin", "DELETE", "/visits_60d").status_code == 204
    assert call("rep_east", "GET", "").json() == []


def test_bad_definitions_are_refused_naming_the_key(world: World, call: Callable[..., Any]) -> None:
    refused = call("admin", "POST", json={**VISITS, "window_days": 0})
    assert refused.status_code == 422
    assert any(e["loc"][-1] == "window_days" for e in refused.json()["detail"])
    clash = call("admin", "PUT", "/communications_30d", json={**VISITS, "name": "communications_30d"})
    assert clash.status_code == 422
    assert "built-in" in clash.json()["detail"]
    assert call("admin", "PUT", "/other", json=VISITS).status_code == 422  # body and path disagree
    bad_yaml = call(
        "admin", "POST", "/import", content=b"- name: a\n  events: [visit]\n",
        headers={"Content-Type": "application/yaml"},
    )  # fmt: skip
    assert bad_yaml.status_code == 422
    assert bad_yaml.json()["detail"].startswith("body: item 1: ")
    assert call("rep_east", "GET").json() == []


def test_removal_is_refused_while_a_rule_reads_it(world: World, call: Callable[..., Any]) -> None:
    assert call("admin", "POST", json=VISITS).status_code == 201
    add_general_rule(world.engine, "few_visits", "visits_60d < 2")
    refused = call("admin", "DELETE", "/visits_60d")
    assert refused.status_code == 409
    assert refused.json()["detail"]["rules"] == ["general/few_visits"]
    assert call("rep_east", "GET", "/visits_60d").status_code == 200


def test_export_and_import_round_trip(world: World, call: Callable[..., Any]) -> None:
    second = {**VISITS, "name": "complaint_days", "events": ["complaint"], "aggregate": "days_since_last"}
    del second["window_days"]
    body = yaml.safe_dump([VISITS, second], allow_unicode=True).encode()
    imported = call("admin", "POST", "/import", content=body, headers={"Content-Type": "application/yaml"})
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"created": 2, "updated": 0}
    assert call("rep_east", "GET", "/export").status_code == 403
    exported = call("admin", "GET", "/export")
    assert exported.headers["content-type"].startswith("application/yaml")
    assert sorted(d["name"] for d in yaml.safe_load(exported.text)) == ["complaint_days", "visits_60d"]
    again = call(
        "admin", "POST", "/import", content=exported.content, headers={"Content-Type": "application/yaml"}
    )
    assert again.json() == {"created": 0, "updated": 2}


def test_documented_in_openapi(world: World, anonymous: TestClient, token_for: Callable[..., str]) -> None:
    spec = anonymous.get("/api/v1/openapi.json", headers=bearer(token_for("rep_east"))).json()
    paths = spec["paths"]
    assert set(paths["/api/v1/indicators"]) == {"get", "post"}
    assert set(paths["/api/v1/indicators/{name}"]) == {"get", "put", "delete"}
    assert "application/yaml" in paths["/api/v1/indicators/import"]["post"]["requestBody"]["content"]
