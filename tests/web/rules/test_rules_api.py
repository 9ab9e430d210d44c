"""REST API for rules: scopes and roles, a GET/PUT round trip with audit, refusals, the condition check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth.schemas import Scope
from churnradar.evaluation.service import evaluate
from churnradar.models import AuditEntry
from churnradar.rule import service as rule_service
from tests.web.conftest import World, bearer


def _audit(world: World) -> list[tuple[str, str, str | None, object]]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity_id, AuditEntry.details)
            .where(AuditEntry.entity == "rule")
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _plain_rule(client: TestClient, headers: dict[str, str]) -> dict[str, object]:
    """A general rule without escalations, as the API returns it."""
    items = client.get("/api/v1/rules", params={"template": "general"}, headers=headers).json()["items"]
    return next(item for item in items if not item["rule"]["escalate"])


class TestReadingRules:
    def test_lists_pages_and_filters_by_template(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        headers = bearer(token_for("mgr_east", Scope.READ))
        everything = anonymous.get("/api/v1/rules", headers=headers, params={"per_page": 500}).json()
        templates = {item["template"] for item in everything["items"]}
        assert {"general", "retail", "saas"} <= templates
        assert everything["total"] == len(everything["items"])
        first = anonymous.get("/api/v1/rules", headers=headers, params={"per_page": 3, "page": 2}).json()
        assert [i["id"] for i in first["items"]] == [i["id"] for i in everything["items"][3:6]]
        assert first["pages"] == -(-everything["total"] // 3)
        retail = anonymous.get("/api/v1/rules", headers=headers, params={"template": "retail"}).json()
        assert retail["items"]
        assert {i["template"] for i in retail["items"]} == {"retail"}
        assert {i["origin"] for i in retail["items"]} <= {"own", "override", "inherited"}
        one = retail["items"][0]
        assert anonymous.get(f"/api/v1/rules/{one['id']}", headers=headers).json() == one
        assert anonymous.get("/api/v1/rules/general.nope", headers=headers).status_code == 404

    def test_reps_and_tokens_without_the_read_scope_are_refused(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        assert (
            anonymous.get("/api/v1/rules", headers=bearer(token_for("rep_east", Scope.READ))).status_code
            == 403
        )
        no_read = bearer(token_for("admin", Scope.INGEST))
        assert anonymous.get("/api/v1/rules", headers=no_read).status_code == 403
        assert anonymous.get("/api/v1/rules").status_code == 401


class TestChangingRules:
    def test_put_round_trip_is_stored_and_audited(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        headers = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
        item = _plain_rule(anonymous, headers)
        rule = dict(item["rule"])  # type: ignore[call-overload]
        before = rule["condition"]
        rule["condition"] = "days_since_last_order > 75"
        rule["reason_zh"] = "超过75天未下单"
        put = anonymous.put(f"/api/v1/rules/{item['id']}", headers=headers, json=rule)
        assert put.status_code == 200, put.text
        assert put.json()["rule"]["condition"] == "days_since_last_order > 75"
        again = anonymous.get(f"/api/v1/rules/{item['id']}", headers=headers).json()
        assert again == put.json()
        ((actor, action, entity_id, details),) = _audit(world)
        assert (actor, action, entity_id) == ("admin", "update", item["id"])
        assert details["condition"] == [before, "days_since_last_order > 75"]  # type: ignore[index]
        assert details["reason_zh"][1] == "超过75天未下单"  # type: ignore[index]

    def test_hostile_or_invalid_rules_are_refused_with_the_import_messages(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        headers = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
        item = _plain_rule(anonymous, headers)
        before = rule_service.export_rules(world.engine)
        rule = dict(item["rule"])  # type: ignore[call-overload]
        slug = rule["slug"]
        for condition, message in (
            ("1 = 1; DROP TABLE users", "';' is not allowed: a condition is one expression at column 6"),
            ("(SELECT 1) > 0", "a subquery is not allowed in a condition at column 2"),
        ):
            refused = anonymous.put(
                f"/api/v1/rules/{item['id']}", headers=headers, json=rule | {"condition": condition}
            )
            assert refused.status_code == 400
            detail = refused.json()["detail"]
            # General's own error first; templates that take its condition report theirs after it.
            assert detail[0] == f"general.yaml: rule '{slug}': condition: {message}"
            assert all(line.endswith(f"rule '{slug}': condition: {message}") for line in detail)
        wrong_level = anonymous.put(
            f"/api/v1/rules/{item['id']}", headers=headers, json=rule | {"level": "purple"}
        )
        assert wrong_level.status_code == 400
        assert "unknown level 'purple'" in wrong_level.json()["detail"][0]
        renamed = anonymous.put(f"/api/v1/rules/{item['id']}", headers=headers, json=rule | {"slug": "other"})
        assert renamed.status_code == 400
        assert rule_service.export_rules(world.engine) == before
        assert _audit(world) == []

    def test_only_an_admin_with_the_admin_scope_changes_rules(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        reader = bearer(token_for("admin", Scope.READ))
        item = _plain_rule(anonymous, reader)
        before = rule_service.export_rules(world.engine)
        body = dict(item["rule"]) | {"condition": "tier = 'high'"}  # type: ignore[call-overload]
        for login, scopes in (
            ("admin", (Scope.READ, Scope.INGEST, Scope.WRITE)),
            ("director", (Scope.READ, Scope.ADMIN)),
            ("mgr_east", (Scope.READ, Scope.ADMIN)),
            ("rep_east", (Scope.READ, Scope.ADMIN)),
        ):
            headers = bearer(token_for(login, *scopes))
            assert anonymous.put(f"/api/v1/rules/{item['id']}", headers=headers, json=body).status_code == 403
            check = anonymous.post(
                "/api/v1/rules/validate", headers=headers, json={"condition": "tier = 'x'"}
            )
            assert check.status_code == 403
        assert rule_service.export_rules(world.engine) == before


class TestValidate:
    def test_errors_name_their_column_and_valid_conditions_count_customers(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        headers = bearer(token_for("admin", Scope.ADMIN))
        wrong = anonymous.post(
            "/api/v1/rules/validate", headers=headers, json={"condition": "logins_30 > 3"}
        ).json()
        assert wrong == {
            "valid": False,
            "message": "unknown indicator or field 'logins_30' at column 1; did you mean 'login_days_30d'?",
            "column": 1,
            "as_of": None,
            "flagged": None,
            "customers": None,
        }
        before = anonymous.post(
            "/api/v1/rules/validate", headers=headers, json={"condition": "tier = 'high'"}
        )
        assert before.json()["valid"] is True
        assert before.json()["flagged"] is None  # nothing evaluated yet
        evaluate(world.engine, as_of=date(2025, 1, 1), settings=world.settings)
        world.app.state.cache.clear()
        # Still customers on 2025-01-01: all but E-003 (churned 2024-09-30); tier high: E-001 and W-001.
        counted = anonymous.post(
            "/api/v1/rules/validate", headers=headers, json={"condition": "tier = 'high'"}
        )
        assert counted.json() | {"message": ""} == {
            "valid": True,
            "message": "",
            "column": None,
            "as_of": "2025-01-01",
            "flagged": 2,
            "customers": 6,
        }
        unknown_rule = anonymous.post(
            "/api/v1/rules/validate",
            headers=headers,
            json={"condition": "tier = 'high'", "rule_id": "general.nope"},
        )
        assert unknown_rule.status_code == 404


class TestControlCharacters:
    def test_a_nul_is_refused_where_it_stands_and_evaluate_and_validate_keep_working(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        headers = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
        item = _plain_rule(anonymous, headers)
        before = rule_service.export_rules(world.engine)
        rule = dict(item["rule"])  # type: ignore[call-overload]
        for field, value, position in (
            ("condition", "tier = 'a\x00b'", 10),
            ("name_en", "Quiet\x1b[31m", 6),
            ("reason_zh", "原因\x00", 3),
        ):
            put = anonymous.put(f"/api/v1/rules/{item['id']}", headers=headers, json=rule | {field: value})
            assert put.status_code == 422, put.text
            (error,) = put.json()["detail"]
            assert error["loc"][-1] == field
            assert f"at position {position} is not allowed" in error["msg"]
        assert rule_service.export_rules(world.engine) == before
        # Evaluated, so that validate counts flagged customers (where a NUL used to reach DuckDB: 500).
        evaluate(world.engine, as_of=date(2025, 1, 1), settings=world.settings)
        world.app.state.cache.clear()
        check = anonymous.post(
            "/api/v1/rules/validate", headers=headers, json={"condition": "tier = 'a\x00'"}
        )
        assert check.status_code == 200
        assert check.json() | {"as_of": None} == {
            "valid": False,
            "message": "control character U+0000 is not allowed at column 10",
            "column": 10,
            "as_of": None,
            "flagged": None,
            "customers": None,
        }


class TestImport:
    def test_a_document_of_the_wrong_shape_is_refused_naming_the_position(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        headers = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
        anonymous.get("/api/v1/rules", headers=headers)  # stores the shipped rules
        before = rule_service.export_rules(world.engine)
        for document, message in (
            (
                "general: [[a, b, c]]",
                "general[0]: expected a rule (a mapping with slug, condition, level, ...), not a list",
            ),
            (
                "general: [1]",
                "general[0]: expected a rule (a mapping with slug, condition, level, ...), not a number",
            ),
            (
                "general: [null]",
                "general[0]: expected a rule (a mapping with slug, condition, level, ...), "
                "not nothing (null)",
            ),
            ("general: [{slug: [1]}]", "general[0].slug: every rule needs a slug, as text"),
        ):
            refused = anonymous.post("/api/v1/rules/import", headers=headers, json={"document": document})
            assert refused.status_code == 422, refused.text
            assert refused.json()["detail"] == [message]
        assert rule_service.export_rules(world.engine) == before
        assert _audit(world) == []

    def test_an_exported_document_imports_and_is_audited(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        headers = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
        anonymous.get("/api/v1/rules", headers=headers)  # stores the shipped rules
        document = rule_service.export_rules(world.engine, ["general"])
        imported = anonymous.post("/api/v1/rules/import", headers=headers, json={"document": document})
        assert imported.status_code == 200, imported.text
        (counts,) = imported.json().values()
        assert list(counts) == ["general"]
        ((actor, action, _, details),) = _audit(world)
        assert (actor, action, details) == ("admin", "import", {"templates": counts})
        reader = bearer(token_for("mgr_east", Scope.READ, Scope.ADMIN))
        assert (
            anonymous.post("/api/v1/rules/import", headers=reader, json={"document": document}).status_code
            == 403
        )
