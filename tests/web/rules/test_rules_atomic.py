"""A rule saved from the web and its audit entry commit together: when the audit cannot be written, the rule
stays as it was (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from churnradar.auth.schemas import Principal, Role
from churnradar.models import AuditEntry
from churnradar.rule import service as rule_service
from churnradar.web.rules import service

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _condition(engine: Engine, rule_id: str) -> str:
    found = service.get_rule(engine, rule_id, at=AT)
    assert found is not None
    return found.rule.condition


def test_a_rule_and_its_audit_entry_are_saved_together(engine: Engine) -> None:
    current = service.list_rules(engine, at=AT)[0]
    before = current.rule.condition
    ghost = Principal(user_id=987_654, login="ghost", role=Role.ADMIN)  # no such user: the audit row fails
    with Session(engine) as session:
        values = {"condition": "days_since_last_order > 75"}
        service.save_rule(engine, session, current, values, actor=ghost, at=AT)
        with pytest.raises(IntegrityError):
            session.commit()
    assert _condition(engine, current.id) == before
    with engine.connect() as conn:
        assert conn.execute(select(AuditEntry)).first() is None


def test_a_saved_rule_reports_what_changed_from_the_stored_result(engine: Engine) -> None:
    current = service.list_rules(engine, at=AT)[0]
    admin = Principal(user_id=987_654, login="ghost", role=Role.ADMIN)
    with Session(engine) as session:
        change = service.save_rule(
            engine, session, current, {"condition": "days_since_last_order > 75"}, actor=admin, at=AT
        )
        session.rollback()
    assert change.changes == {"condition": [current.rule.condition, "days_since_last_order > 75"]}
    assert rule_service.export_rules(engine)  # the stored rules are still readable after the rollback
    assert _condition(engine, current.id) == current.rule.condition
