"""The rules editor pages: who may read and edit, inline checks, try-outs, saves with audit, import/export."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.evaluation.backtest import run_backtest
from churnradar.evaluation.drafts import default_window, draft_book
from churnradar.evaluation.service import active_rulebook, evaluate
from churnradar.kit.clock import SystemClock
from churnradar.models import AuditEntry
from churnradar.rule import service as rule_service
from churnradar.web.app import route_table
from churnradar.web.rules.schemas import RuleRead
from churnradar.web.rules.service import (
    TRY_HORIZON_DAYS,
    TRY_WEEKS,
    draft_of,
    get_rule,
    judged_templates,
    list_rules,
)
from churnradar.worker import repository as worker_repository
from churnradar.worker.service import EVALUATE_NOW, evaluation_state
from tests.web.conftest import World, csrf_of

AS_OF = date(2025, 1, 1)
# Typed into the editor, answered inline, word for word as `parse_condition` (and so the CLI) says it.
INLINE_MESSAGES = [
    (
        "logins_30 > 3",
        "unknown indicator or field 'logins_30' at column 1; did you mean 'login_days_30d'?",
    ),
    ("tier = 'high'; DROP TABLE rules", "';' is not allowed: a condition is one expression at column 14"),
    ("(SELECT 1) > 0", "a subquery is not allowed in a condition at column 2"),
    ("days_since_last_order IN (SELECT 1)", "IN takes a list of values, not a query at column 1"),
    ("exec('x') > 1", "unknown function 'exec' at column 1; allowed: abs, coalesce, greatest, least"),
    ("tier = 'high' AND", "cannot parse the condition: the expression is incomplete at column 15"),
]


def _text(response_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response_text))


def _audit(world: World, entity: str = "rule") -> list[AuditEntry]:
    with world.engine.connect() as conn:
        rows = conn.execute(select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id))
        return [AuditEntry(**row._mapping) for row in rows]


def _now() -> datetime:
    return SystemClock().now()


def rule_service_views(world: World) -> list[RuleRead]:
    return list_rules(world.engine, at=_now())


def _general_rule(world: World, *, plain: bool = False) -> str:
    """A general rule that an industry template inherits unchanged (`plain`: no escalation, no scope)."""
    for view in rule_service_views(world):
        if view.origin.value != "inherited" or view.parent != "general":
            continue
        scope = view.rule.scope
        if plain and (view.rule.escalate or scope.tiers or scope.segments or scope.industries):
            continue
        return f"general.{view.rule.slug}"
    pytest.fail("the shipped templates no longer have such a rule: pick another premise for this test")


@dataclass
class Editor:
    """An admin's client on a rule's page: the rule id and the CSRF header htmx sends."""

    client: TestClient
    rule: str
    headers: dict[str, str]
    view: RuleRead


def _editor(world: World, client_for: Callable[[str], TestClient], *, plain: bool = False) -> Editor:
    admin = client_for("admin")
    rule = _general_rule(world, plain=plain)
    view = get_rule(world.engine, rule, at=_now())
    assert view is not None
    return Editor(admin, rule, {"X-CSRF-Token": csrf_of(admin.get(f"/rules/{rule}").text)}, view)


def _high_tier_count(world: World, view: RuleRead) -> tuple[int, int]:
    """Independently of the editor: (customers of tier high, customers) still active on AS_OF among the
    seeded ones whose industry's template takes `view` (an unscoped rule without escalations)."""
    templates = judged_templates(view, rule_service.active_templates(world.engine, at=_now()))
    # The seeded customers by industry (E-003 churned before AS_OF); those without a template's industry
    # fall back to general, and none is in the seed.
    industries = {
        "E-001": "retail",
        "E-002": "manufacturing",
        "W-001": "services",
        "W-002": "saas",
        "R-001": "retail",
        "N-001": "retail",
    }
    high = {"E-001", "W-001"}
    in_templates = [c for c, industry in industries.items() if industry in templates]
    return sum(1 for c in in_templates if c in high), len(in_templates)


@pytest.fixture
def evaluated(world: World) -> World:
    """The seed evaluated once, so "flags now" has indicators to count on."""
    evaluate(world.engine, as_of=AS_OF, settings=world.settings)
    return world


def _form(view_rule: dict[str, object], csrf: str, **changes: object) -> dict[str, object]:
    fields = ("condition", "level", "name_en", "name_zh", "reason_en", "reason_zh")
    data: dict[str, object] = {k: view_rule[k] for k in fields} | {"csrf_token": csrf}
    if view_rule["enabled"]:
        data["enabled"] = "true"
    return data | changes


class TestReading:
    def test_admins_directors_and_managers_read_reps_are_refused(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        rule = _general_rule(world)
        for login in ("admin", "director", "mgr_east"):
            client = client_for(login)
            page = client.get("/rules")
            assert page.status_code == 200
            assert 'id="template-general"' in page.text
            assert 'id="template-retail"' in page.text
            # Each template is headed by its name, the industry ones saying which they extend (no slug shown).
            assert '<h2 title="retail">Retail <span class="muted">· extends General</span>' in page.text
            assert 'href="/rules"' in client.get("/").text
            one = client.get(f"/rules/{rule}")
            assert one.status_code == 200
            editable = 'hx-post="/rules/' in one.text
            assert editable == (login == "admin"), login
            assert client.get("/rules/export.yaml").status_code == 200
        rep = client_for("rep_east")
        for path in ("/rules", f"/rules/{rule}", "/rules/export.yaml"):
            assert rep.get(path).status_code == 403
        assert 'href="/rules"' not in rep.get("/").text

    def test_an_admin_starts_an_evaluation_once_at_a_time(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        manager = client_for("mgr_east")
        assert 'id="evaluate-now-form"' not in manager.get("/rules").text
        csrf = csrf_of(manager.get("/rules").text)
        assert manager.post("/rules/evaluate-now", data={"csrf_token": csrf}).status_code == 403
        admin = client_for("admin")
        csrf = csrf_of(admin.get("/rules").text)
        # While one started by hand runs (here: another process's lease), a start is refused and said so.
        now = SystemClock().now()
        assert worker_repository.acquire(world.engine, EVALUATE_NOW, "other", now=now, ttl=timedelta(hours=1))
        busy = admin.post("/rules/evaluate-now", data={"csrf_token": csrf})
        assert "is still running; nothing else was started" in html.unescape(busy.text)
        assert re.search(r'<button type="submit" class="secondary"\s+disabled>', busy.text)
        worker_repository.release(world.engine, EVALUATE_NOW, "other")
        started = admin.post("/rules/evaluate-now", data={"csrf_token": csrf})
        assert "The evaluation started." in started.text
        deadline = time.monotonic() + 240  # the admin reloads until the page says it finished
        while evaluation_state(world.engine).running_since is not None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "The latest evaluation finished at" in admin.get("/rules").text
        audited = {(e.actor, e.action) for e in _audit(world, "evaluation")}
        assert audited == {("admin", "start")}

    def test_an_unknown_rule_is_not_found(self, client_for: Callable[[str], TestClient]) -> None:
        admin = client_for("admin")
        for rule in ("general.no_such_rule", "nosuch.rule", "1", "general.BAD-slug"):
            assert admin.get(f"/rules/{rule}").status_code == 404


class TestInlineCheck:
    @pytest.mark.parametrize(("condition", "message"), INLINE_MESSAGES)
    def test_the_error_names_its_column(
        self, world: World, client_for: Callable[[str], TestClient], condition: str, message: str
    ) -> None:
        editor = _editor(world, client_for)
        admin, rule, headers = editor.client, editor.rule, editor.headers
        answer = admin.post(f"/rules/{rule}/validate", data={"condition": condition}, headers=headers)
        assert answer.status_code == 200
        assert 'id="check-error"' in answer.text
        assert message in _text(answer.text)

    def test_a_valid_condition_says_how_many_customers_it_flags_now(
        self, evaluated: World, client_for: Callable[[str], TestClient]
    ) -> None:
        editor = _editor(evaluated, client_for, plain=True)
        admin, rule, headers = editor.client, editor.rule, editor.headers
        view = get_rule(evaluated.engine, rule, at=_now())
        assert view is not None
        high, judged = _high_tier_count(evaluated, view)
        answer = admin.post(f"/rules/{rule}/validate", data={"condition": "tier = 'high'"}, headers=headers)
        expected = f"flags {high} of {judged} customers now (as of 2025-01-01)"
        assert expected in _text(answer.text)
        none = admin.post(f"/rules/{rule}/validate", data={"condition": "tier = 'none'"}, headers=headers)
        assert f"flags 0 of {judged} customers now" in _text(none.text)

    def test_after_a_save_the_count_still_covers_the_templates_that_inherit_the_rule(
        self, evaluated: World, client_for: Callable[[str], TestClient]
    ) -> None:
        editor = _editor(evaluated, client_for, plain=True)
        condition = {"condition": "tier = 'high'"}
        before = editor.client.post(f"/rules/{editor.rule}/validate", data=condition, headers=editor.headers)
        view = get_rule(evaluated.engine, editor.rule, at=_now())
        assert view is not None
        high, judged = _high_tier_count(evaluated, view)
        assert f"flags {high} of {judged} customers now" in _text(before.text)
        data = _form(view.rule.model_dump(), editor.headers["X-CSRF-Token"], condition="tier = 'high'")
        assert (
            editor.client.post(f"/rules/{editor.rule}", data=data, follow_redirects=False).status_code == 303
        )
        after = editor.client.post(f"/rules/{editor.rule}/validate", data=condition, headers=editor.headers)
        assert _text(after.text) == _text(before.text)

    def test_before_any_evaluation_valid_is_all_it_can_say(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        editor = _editor(world, client_for)
        admin, rule, headers = editor.client, editor.rule, editor.headers
        answer = admin.post(f"/rules/{rule}/validate", data={"condition": "tier = 'high'"}, headers=headers)
        assert "No evaluation has run yet" in answer.text


class TestTryOut:
    def test_the_draft_backtest_figures_are_shown(
        self, evaluated: World, client_for: Callable[[str], TestClient]
    ) -> None:
        editor = _editor(evaluated, client_for)
        admin, rule, headers = editor.client, editor.rule, editor.headers
        condition = "days_since_last_order > 30"
        answer = admin.post(
            f"/rules/{rule}/test", data={"condition": condition, "level": "red"}, headers=headers
        )
        assert answer.status_code == 200
        # The same replay, run here through the evaluation package alone.
        book = active_rulebook(evaluated.engine)
        view = get_rule(evaluated.engine, rule, at=_now())
        draft = draft_of(view, condition, "red")
        window = default_window(AS_OF, TRY_HORIZON_DAYS, TRY_WEEKS)
        report = run_backtest(
            evaluated.engine, window, draft_book(book, [draft], judged_templates(view, book.templates))
        )
        text = _text(answer.text)
        assert f"Replayed {TRY_WEEKS} weekly dates from {window.start} to {window.end}" in text
        per_week = report["overall"]["alerts_per_week"]
        assert re.search(rf"{per_week:g}\s+Alerts per week", text), text
        for label in ("Precision", "Recall", "Median lead (days)"):
            assert label in text

    def test_an_invalid_draft_is_not_replayed(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        editor = _editor(world, client_for)
        admin, rule, headers = editor.client, editor.rule, editor.headers
        answer = admin.post(
            f"/rules/{rule}/test", data={"condition": "1 = 1; --", "level": "red"}, headers=headers
        )
        assert "';' is not allowed" in _text(answer.text)
        assert "Replayed" not in answer.text


class TestSaving:
    def test_a_save_stores_the_rule_and_audits_before_and_after(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        admin = client_for("admin")
        rule = _general_rule(world, plain=True)
        view = get_rule(world.engine, rule, at=_now())
        assert view is not None
        token = csrf_of(admin.get(f"/rules/{rule}").text)
        new_condition = "days_since_last_order > 45 AND tier = 'high'"
        saved = admin.post(
            f"/rules/{rule}",
            data=_form(view.rule.model_dump(), token, condition=new_condition, name_en="Renamed rule"),
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text
        assert "Saved." in admin.get(saved.headers["location"]).text
        after = get_rule(world.engine, rule, at=_now())
        assert after is not None
        assert after.rule.condition == new_condition
        assert after.rule.name_en == "Renamed rule"
        entries = _audit(world)
        assert [(e.actor, e.action, e.entity_id) for e in entries] == [("admin", "update", rule)]
        assert entries[0].details == {
            "condition": [view.rule.condition, new_condition],
            "name_en": [view.rule.name_en, "Renamed rule"],
        }
        # Templates that inherited the rule unchanged follow it; none stored an override of their own.
        stored = yaml.safe_load(rule_service.export_rules(world.engine))
        inheriting = [
            t
            for t, entries in stored.items()
            if t != "general" and any(e["slug"] == view.rule.slug for e in entries)
        ]
        for template in set(
            judged_templates(view, rule_service.active_templates(world.engine, at=_now()))
        ) - {"general"}:
            assert template not in inheriting
            child = get_rule(world.engine, f"{template}.{view.rule.slug}", at=_now())
            assert child is not None
            assert child.rule.condition == new_condition

    def test_saving_an_inherited_rule_stores_only_the_changed_keys_in_that_template(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        admin = client_for("admin")
        views = rule_service_views(world)
        inherited = next(v for v in views if v.origin.value == "inherited")
        token = csrf_of(admin.get(f"/rules/{inherited.id}").text)
        data = _form(inherited.rule.model_dump(), token)
        data.pop("enabled")  # unticked: switched off here only
        assert admin.post(f"/rules/{inherited.id}", data=data, follow_redirects=False).status_code == 303
        stored = yaml.safe_load(rule_service.export_rules(world.engine))
        assert {"slug": inherited.rule.slug, "enabled": False} in stored[inherited.template]
        parent = get_rule(world.engine, f"{inherited.parent}.{inherited.rule.slug}", at=_now())
        assert parent is not None
        assert parent.rule.enabled
        child = get_rule(world.engine, inherited.id, at=_now())
        assert child is not None
        assert child.origin.value == "override"
        assert not child.rule.enabled

    @pytest.mark.parametrize(
        ("condition", "message"),
        [
            (
                "1=1; DROP TABLE rules",
                "condition: ';' is not allowed: a condition is one expression at column 4",
            ),
            ("(SELECT count(*) FROM users) > 0", "condition: a subquery is not allowed in a condition"),
            ("logins_30 > 3", "did you mean 'login_days_30d'?"),
        ],
    )
    def test_hostile_text_is_refused_as_the_cli_refuses_it_and_nothing_changes(
        self, world: World, client_for: Callable[[str], TestClient], condition: str, message: str
    ) -> None:
        editor = _editor(world, client_for)
        admin, rule, view, token = editor.client, editor.rule, editor.view, editor.headers["X-CSRF-Token"]
        before = rule_service.export_rules(world.engine)
        refused = admin.post(f"/rules/{rule}", data=_form(view.rule.model_dump(), token, condition=condition))
        assert refused.status_code == 400
        text = _text(refused.text)
        assert f"general.yaml: rule '{view.rule.slug}': {message}" in text or message in text
        assert "The rule was not saved" in text
        assert rule_service.export_rules(world.engine) == before
        assert _audit(world) == []

    def test_enable_and_disable(self, world: World, client_for: Callable[[str], TestClient]) -> None:
        admin = client_for("admin")
        rule = _general_rule(world)
        token = csrf_of(admin.get("/rules").text)
        off = admin.post(f"/rules/{rule}/enabled", data={"csrf_token": token}, follow_redirects=False)
        assert off.status_code == 303
        view = get_rule(world.engine, rule, at=_now())
        assert view is not None
        assert not view.rule.enabled
        admin.post(f"/rules/{rule}/enabled", data={"csrf_token": token, "enabled": "true"})
        view = get_rule(world.engine, rule, at=_now())
        assert view is not None
        assert view.rule.enabled
        assert [e.details for e in _audit(world)] == [{"enabled": [True, False]}, {"enabled": [False, True]}]


class TestRefusals:
    def test_only_admins_reach_the_mutating_routes(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        unsafe = [
            (path, method)
            for path, methods in route_table(world.app)
            for method in methods
            if path.startswith("/rules") and method in ("POST", "PUT", "PATCH", "DELETE")
        ]
        assert len(unsafe) >= 5, unsafe
        rule = _general_rule(world)
        before = rule_service.export_rules(world.engine)
        for login in ("director", "mgr_east", "rep_east"):
            client = client_for(login)
            token = csrf_of(client.get("/account").text)
            for path, method in unsafe:
                data = {"csrf_token": token, "condition": "tier = 'x'", "level": "red", "enabled": "true"}
                response = client.request(
                    method,
                    path.replace("{rule_id}", rule),
                    data=data,
                    files={"document": ("r.yaml", b"general: []")},
                )
                assert response.status_code in (403, 404), (login, method, path, response.status_code)
        assert rule_service.export_rules(world.engine) == before
        assert _audit(world) == []

    def test_a_post_without_the_csrf_token_is_refused(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        editor = _editor(world, client_for)
        admin, rule, view = editor.client, editor.rule, editor.view
        before = rule_service.export_rules(world.engine)
        data = _form(
            view.rule.model_dump(), "forged-token-0123456789012345678901234567", condition="tier = 'x'"
        )
        assert admin.post(f"/rules/{rule}", data=data).status_code == 403
        data.pop("csrf_token")
        assert admin.post(f"/rules/{rule}", data=data).status_code == 403
        assert admin.post(f"/rules/{rule}/enabled", data={}).status_code == 403
        assert rule_service.export_rules(world.engine) == before


class TestYaml:
    def test_export_then_import_round_trips_and_a_bad_file_changes_nothing(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        admin = client_for("admin")
        exported = admin.get("/rules/export.yaml")
        assert exported.headers["content-disposition"] == 'attachment; filename="rules.yaml"'
        document = yaml.safe_load(exported.text)
        entry = document["general"][0]
        slug = entry["slug"]
        entry["name_en"] = "Renamed by import"
        token = csrf_of(admin.get("/rules").text)
        body = yaml.safe_dump({"general": document["general"]}, allow_unicode=True).encode()
        imported = admin.post(
            "/rules/import", data={"csrf_token": token}, files={"document": ("r.yaml", body)}
        )
        assert imported.status_code == 200
        assert f"general ({len(document['general'])})" in _text(imported.text)
        view = get_rule(world.engine, f"general.{slug}", at=_now())
        assert view is not None
        assert view.rule.name_en == "Renamed by import"
        assert [(e.action, e.details) for e in _audit(world)] == [
            ("import", {"templates": {"general": len(document["general"])}})
        ]
        before = rule_service.export_rules(world.engine)
        entry["condition"] = "tier = 'high'; DELETE FROM rules"
        bad = yaml.safe_dump({"general": document["general"]}, allow_unicode=True).encode()
        refused = admin.post("/rules/import", data={"csrf_token": token}, files={"document": ("r.yaml", bad)})
        assert refused.status_code == 400
        assert f"general.yaml: rule '{slug}': condition: ';' is not allowed" in _text(refused.text)
        not_yaml = admin.post(
            "/rules/import", data={"csrf_token": token}, files={"document": ("r.yaml", b"general: [unclosed")}
        )
        assert not_yaml.status_code == 400
        assert "cannot read the rules as YAML" in not_yaml.text
        assert rule_service.export_rules(world.engine) == before
