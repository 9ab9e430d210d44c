"""A rule's life in the API: create, bad input refused with its position, clone, delete, versions, restore."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from churnradar.auth.schemas import Scope
from tests.web.conftest import bearer

RULE = {
    "slug": "long_customer_quiet",
    "name_en": "Long-time customer gone quiet",
    "name_zh": "老客户沉默",
    "condition": "tenure_days > 365 AND days_since_last_login > 30",
    "level": "yellow",
    "escalate": {"orange": "days_since_last_login > 60"},
    "reason_en": "No login for {days_since_last_login:.0f} days",
    "reason_zh": "{days_since_last_login:.0f} 天未登录",
}


def test_create_refuse_clone_delete_and_restore(anonymous: TestClient, token_for: Callable[..., str]) -> None:
    admin = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
    reader = bearer(token_for("mgr_east", Scope.READ))
    created = anonymous.post("/api/v1/rules", json={"template": "retail", "rule": RULE}, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["id"] == "retail.long_customer_quiet"
    assert created.json()["rule"]["escalate"] == RULE["escalate"]
    again = anonymous.post("/api/v1/rules", json={"template": "retail", "rule": RULE}, headers=admin)
    assert again.status_code == 400
    assert again.json()["detail"] == [
        "retail: a rule 'long_customer_quiet' already exists; choose another slug"
    ]
    for condition, problem in [
        ("tenure > 365", "unknown indicator or field 'tenure' at column 1; did you mean 'tenure_days'?"),
        ("tenure_days / 0 > 1", "division by zero at column 13"),
        ("sqrt(tenure_days) > 1", "unknown function 'sqrt' at column 1"),
    ]:
        bad = {**RULE, "slug": "bad_one", "condition": condition}
        refused = anonymous.post("/api/v1/rules", json={"template": "retail", "rule": bad}, headers=admin)
        assert refused.status_code == 400
        assert any(problem in line for line in refused.json()["detail"]), refused.json()
    assert anonymous.get("/api/v1/rules/retail.bad_one", headers=reader).status_code == 404
    assert (
        anonymous.post("/api/v1/rules", json={"template": "retail", "rule": RULE}, headers=reader).status_code
        == 403
    )

    clone = anonymous.post(
        "/api/v1/rules/retail.long_customer_quiet/clone",
        json={"template": "saas", "slug": "quiet_copy"},
        headers=admin,
    )
    assert clone.status_code == 201
    assert (clone.json()["id"], clone.json()["rule"]["enabled"]) == ("saas.quiet_copy", False)

    assert anonymous.delete("/api/v1/rules/retail.long_customer_quiet", headers=admin).status_code == 204
    assert anonymous.get("/api/v1/rules/retail.long_customer_quiet", headers=reader).status_code == 404
    versions = anonymous.get("/api/v1/rules/retail.long_customer_quiet/versions", headers=reader).json()
    assert [(v["version"], v["action"], v["created_by"]) for v in versions] == [
        (2, "delete", "admin"),
        (1, "create", "admin"),
    ]
    diff = anonymous.get("/api/v1/rules/retail.long_customer_quiet/versions/2/diff", headers=reader).json()
    assert {c["field"]: c["after"] for c in diff["changes"]}["condition"] is None
    restored = anonymous.post("/api/v1/rules/retail.long_customer_quiet/versions/1/restore", headers=admin)
    assert restored.status_code == 200
    assert restored.json()["rule"]["condition"] == RULE["condition"]
    assert (
        anonymous.get("/api/v1/rules/retail.long_customer_quiet/versions", headers=reader).json()[0]["action"]
        == "restore"
    )
    inherited = next(
        r["id"]
        for r in anonymous.get("/api/v1/rules", params={"template": "saas"}, headers=reader).json()["items"]
        if r["origin"] == "inherited"
    )
    kept = anonymous.delete(f"/api/v1/rules/{inherited}", headers=admin)
    assert kept.status_code == 400
    assert "switch it off here instead" in kept.json()["detail"][0]
