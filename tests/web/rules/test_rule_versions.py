"""Rule versions at service level: every change is a version, diffs between them; restore, clone, delete."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.models import AuditEntry
from churnradar.models.people import Role
from churnradar.rule import service as rule_service
from churnradar.rule.exceptions import TemplateError
from churnradar.web.rules import service

AT = datetime(2026, 12, 1, 9, 0)


@pytest.fixture
def admin(engine: Engine) -> Principal:
    with Session(engine) as session:
        user = auth_service.create_user(session, login="ops", role=Role.ADMIN, password=None)
        session.commit()
        principal = auth_service.principal_for(user)
    assert principal is not None
    return principal


def _rule(engine: Engine, rule: str) -> service.RuleRead:
    found = service.get_rule(engine, rule, at=AT)
    assert found is not None
    return found


def _own_general_rule(engine: Engine) -> service.RuleRead:
    views = service.list_rules(engine, at=AT)
    overridden = {v.rule.slug for v in views if v.origin.value == "override"}
    return next(
        v for v in views if v.template == "general" and v.rule.slug not in overridden and not v.rule.escalate
    )


def test_saves_are_versions_with_diffs_and_a_restore_makes_a_new_one(
    engine: Engine, admin: Principal
) -> None:
    view = _own_general_rule(engine)
    original = view.rule.condition
    with Session(engine) as session:
        service.save_rule(
            engine, session, view, {"condition": f"({original}) AND tenure_days > 30"}, actor=admin, at=AT
        )
        session.commit()
    with Session(engine) as session:
        service.save_rule(
            engine, session, _rule(engine, view.id), {"level": "red"}, actor=admin, at=AT + timedelta(hours=1)
        )
        session.commit()
    versions = service.history(engine, "general", view.rule.slug)
    # The shipped state is kept as version 1 on the first change: the first edit can be compared and undone.
    assert [(v.version, v.action, v.created_by) for v in versions] == [
        (3, "update", "ops"),
        (2, "update", "ops"),
        (1, "original", None),
    ]
    first_edit = service.version_diff(engine, "general", view.rule.slug, 2)
    assert first_edit is not None
    [change] = first_edit.changes
    assert (change.field, change.before, change.after) == (
        "condition",
        original,
        f"({original}) AND tenure_days > 30",
    )
    assert [p.text for p in change.pieces if p.kind != "equal"] == ["(", ") AND tenure_days > 30"]
    across = service.version_diff(engine, "general", view.rule.slug, 3, against=1)
    assert across is not None
    assert [c.field for c in across.changes] == ["level", "condition"]
    assert service.version_diff(engine, "general", view.rule.slug, 9) is None

    with Session(engine) as session:
        service.restore_version(
            engine, session, "general", view.rule.slug, 1, actor=admin, at=AT + timedelta(hours=2)
        )
        session.commit()
    restored = _rule(engine, view.id).rule
    assert restored == view.rule  # the shipped rule again
    latest = service.history(engine, "general", view.rule.slug)[0]
    assert (latest.version, latest.action, latest.note) == (4, "restore", "1")
    assert latest.definition == view.rule.model_dump(mode="json")
    with engine.connect() as conn:
        actions = (
            conn.execute(
                select(AuditEntry.action).where(AuditEntry.entity == "rule", AuditEntry.entity_id == view.id)
            )
            .scalars()
            .all()
        )
    assert actions == ["update", "update", "restore"]


def test_create_clone_delete_and_bring_a_deleted_rule_back(engine: Engine, admin: Principal) -> None:
    source = _own_general_rule(engine)
    values = {
        "slug": "visits_dropped",
        "name_en": "Visits dropped",
        "name_zh": "拜访减少",
        "condition": "tenure_days > 30 AND tier = 'high'",
        "level": "orange",
        "escalate": {"red": "tenure_days > 400"},
        "reason_en": "Customer for {tenure_days:.0f} days",
        "reason_zh": "客户 {tenure_days:.0f} 天",
    }
    with Session(engine) as session:
        created = service.create_rule(engine, session, "retail", values, actor=admin, at=AT)
        session.commit()
    assert created == "retail.visits_dropped"
    assert _rule(engine, created).rule.escalate == {"red": "tenure_days > 400"}
    with Session(engine) as session, pytest.raises(TemplateError, match="already exists"):
        service.create_rule(engine, session, "retail", values, actor=admin, at=AT)
    bad = values | {"slug": "broken", "condition": "tenure_days / (3 - 3) > 1"}
    with Session(engine) as session, pytest.raises(TemplateError, match="division by zero at column 13"):
        service.create_rule(engine, session, "retail", bad, actor=admin, at=AT)
    assert service.get_rule(engine, "retail.broken", at=AT) is None

    with Session(engine) as session:
        copy = service.clone_rule(
            engine, session, source, template="saas", slug="copy_of_it", actor=admin, at=AT
        )
        session.commit()
    cloned = _rule(engine, copy).rule
    assert (cloned.condition, cloned.enabled, cloned.name_en) == (
        source.rule.condition,
        False,
        f"{source.rule.name_en} (copy)",
    )
    assert service.history(engine, "saas", "copy_of_it")[0].note == source.id

    inherited = next(v for v in service.list_rules(engine, at=AT) if v.origin.value == "inherited")
    with Session(engine) as session, pytest.raises(TemplateError, match="switch it off here instead"):
        service.delete_rule(engine, session, inherited, actor=admin, at=AT)
    with Session(engine) as session:
        service.delete_rule(engine, session, _rule(engine, created), actor=admin, at=AT + timedelta(hours=1))
        session.commit()
    assert service.get_rule(engine, created, at=AT) is None
    assert [(v.template, v.slug, v.version) for v in service.deleted(engine)] == [
        ("retail", "visits_dropped", 2)
    ]
    with Session(engine) as session, pytest.raises(TemplateError, match="is its deletion"):
        service.restore_version(engine, session, "retail", "visits_dropped", 2, actor=admin, at=AT)
    with Session(engine) as session:
        service.restore_version(
            engine, session, "retail", "visits_dropped", 1, actor=admin, at=AT + timedelta(hours=2)
        )
        session.commit()
    assert _rule(engine, created).rule.condition == values["condition"]
    assert service.deleted(engine) == []
    assert [v.action for v in service.history(engine, "retail", "visits_dropped")] == [
        "restore",
        "delete",
        "create",
    ]
    # An import is recorded too: one definition of "a change" for the CLI, the API and the pages.
    exported = rule_service.export_rules(engine, ["retail"]).replace("Visits dropped", "Visits fell")
    rule_service.import_rules(engine, exported, at=AT + timedelta(hours=3), by="cli")
    assert service.history(engine, "retail", "visits_dropped")[0].action == "import"
