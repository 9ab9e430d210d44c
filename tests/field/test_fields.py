"""Custom fields and entry forms in the services: types, permissions per role, imports, scoped entries,
rules reading them, and the refusal to remove a field a rule uses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.customer import fields as customer_fields
from churnradar.customer import service as customer_service
from churnradar.customer.exceptions import CustomerNotFoundError
from churnradar.customer.schemas import CustomerFilter
from churnradar.db import create_engine, session_scope
from churnradar.evaluation.service import evaluate
from churnradar.field import service as field_service
from churnradar.field.exceptions import FieldInUseError, FieldPermissionError, FieldValueError
from churnradar.field.schemas import Configuration, EntryTypeDef, FieldDef, FieldKind, parse_value
from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import import_records
from churnradar.models import Alert, Customer, Role, User
from churnradar.rule import service as rule_service
from churnradar.rule.fields import bind_custom_fields
from churnradar.store import migrate
from tests.conftest import lake_events
from tests.web.seed import seed

NOW = datetime(2025, 1, 10, 9, 30)
INTENT = FieldDef(
    slug="renewal_intent",
    type=FieldKind.CHOICE,
    label_en="Renewal intent",
    label_zh="续约意向",
    choices=["low", "medium", "high"],
    visible_to=[Role.MANAGER, Role.REP],
    editable_by=[Role.REP],
)
BUDGET = FieldDef(
    slug="budget", type=FieldKind.NUMBER, label_en="Budget", visible_to=[Role.DIRECTOR, Role.MANAGER]
)
FORM = EntryTypeDef.model_validate(
    {
        "slug": "renewal_talk",
        "label_en": "Renewal talk",
        "channel": "phone",
        "fields": [
            {"slug": "intent", "type": "choice", "label_en": "Intent", "choices": ["low", "high"],
             "required": True, "sets_field": "renewal_intent"},
            {"slug": "text", "type": "text", "label_en": "What they said"},
        ],
    }
)  # fmt: skip
RULE = {
    "slug": "low_renewal_intent",
    "name_en": "Low renewal intent",
    "name_zh": "续约意向低",
    "condition": "renewal_intent = 'low'",
    "level": "orange",
    "reason_en": "renewal intent is {renewal_intent}",
    "reason_zh": "续约意向为 {renewal_intent}",
}


def _principal(engine: Engine, login: str) -> Principal:
    with session_scope(engine) as session:
        user = session.scalars(select(User).where(User.login == login)).one()
        return Principal(user_id=user.id, login=login, role=Role(user.role), team_id=user.team_id)


def _add_rule(engine: Engine) -> None:
    rule_service.active_templates(engine, at=NOW)  # stores the shipped rules
    general = yaml.safe_load(rule_service.export_rules(engine, ["general"]))["general"]
    rule_service.import_rules(engine, yaml.safe_dump({"general": [*general, RULE]}), at=NOW, by="test")


@pytest.fixture
def store(tmp_path: Path, settings: Settings) -> Iterator[Engine]:
    """The web seed's organisation on SQLite, with the custom fields bound for rules."""
    engine = create_engine(f"sqlite:///{tmp_path / 'churnradar.db'}")
    migrate(engine)
    seed(engine, settings, events_per_customer=6)
    rule_service.use_store(engine)
    yield engine
    bind_custom_fields(None)
    engine.dispose()


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        pytest.param(FieldKind.NUMBER, " 12.5 ", 12.5, id="number"),
        pytest.param(FieldKind.DATE, "2025-03-01T10:00", "2025-03-01", id="date-keeps-the-day"),
        pytest.param(FieldKind.CHOICE, "low", "low", id="choice"),
        pytest.param(FieldKind.TEXT, "", None, id="empty-is-none"),
    ],
)
def test_values_are_stored_by_type(kind: FieldKind, raw: str, stored: object) -> None:
    assert parse_value("f", kind, ["low", "high"], raw) == stored


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        pytest.param(FieldKind.NUMBER, "lots", "f: 'lots' is not a number", id="number"),
        pytest.param(FieldKind.NUMBER, "nan", "f: 'nan' is not a number", id="not-finite"),
        pytest.param(FieldKind.DATE, "03/01/2025", "f: '03/01/2025' is not a date", id="date"),
        pytest.param(FieldKind.CHOICE, "LOW", "f: 'LOW' is not one of low, high", id="choice"),
    ],
)
def test_bad_values_name_the_field(kind: FieldKind, raw: str, message: str) -> None:
    with pytest.raises(FieldValueError, match=message):
        parse_value("f", kind, ["low", "high"], raw)


def test_each_role_sees_and_edits_what_the_field_allows(store: Engine) -> None:
    field_service.save(store, Configuration(fields=[INTENT, BUDGET]), actor=None)
    rep, manager, director = (_principal(store, n) for n in ("rep_east", "mgr_east", "director"))
    with session_scope(store) as session:
        customer = customer_service.visible_by_external_id(session, rep, "E-001")
        shown = customer_fields.custom_profile(session, rep, customer).fields
        assert [(v.field.slug, v.editable) for v in shown] == [("renewal_intent", True)]
        customer_fields.set_field_values(session, rep, customer, {"renewal_intent": "low"}, now=NOW)
        with pytest.raises(FieldValueError, match="budget: no such customer field"):  # hidden from reps
            customer_fields.set_field_values(session, rep, customer, {"budget": "5"}, now=NOW)
        with pytest.raises(FieldPermissionError, match="budget: your role may not change"):
            customer_fields.set_field_values(session, manager, customer, {"budget": "5"}, now=NOW)
        seen = customer_fields.custom_profile(session, director, customer).fields
        assert [(v.field.slug, v.value, v.editable) for v in seen] == [("budget", None, False)]
        detail = customer_service.customer_detail(session, manager, customer)
        assert detail.fields == {"renewal_intent": "low", "budget": None}
        assert "renewal_intent" not in (detail.attributes or {})  # not shown again, without its roles


def test_imports_check_fields_by_type_and_the_list_filters_by_them(
    engine: Engine, settings: Settings
) -> None:
    field_service.save(engine, Configuration(fields=[INTENT, BUDGET]), actor=None)
    rows = [
        {"customer_id": "C1", "renewal_intent": "low", "budget": "1200", "region": "north"},
        {"customer_id": "C2", "renewal_intent": "maybe", "budget": "a lot"},
    ]
    refused = import_records(engine, rows, kind=RecordKind.CUSTOMERS, settings=settings)
    assert refused.status == "rejected"
    assert sorted((e.row, e.column, e.message) for e in refused.errors) == [
        (2, "budget", "'a lot' is not a number"),
        (2, "renewal_intent", "'maybe' is not one of low, medium, high"),
    ]
    rows[1] |= {"renewal_intent": "high", "budget": None}
    assert import_records(engine, rows, kind=RecordKind.CUSTOMERS, settings=settings).status == "succeeded"
    with session_scope(engine) as session:
        stored = session.scalars(select(Customer).where(Customer.external_id == "C1")).one()
        assert stored.attributes == {"renewal_intent": "low", "budget": 1200.0, "region": "north"}
        admin = Principal(user_id=0, login="root", role=Role.ADMIN)
        flt = CustomerFilter(field="renewal_intent", field_value="low")
        rows_found, total = customer_service.list_customers(session, admin, flt)
        assert (total, [r.customer_id for r in rows_found]) == (1, ["C1"])
        with pytest.raises(FieldValueError, match="budget: no such field to filter by"):
            customer_service.list_customers(session, admin, CustomerFilter(field="budget", field_value="1"))


def test_an_entry_becomes_an_event_by_its_author_and_a_rule_on_it_fires(
    store: Engine, settings: Settings
) -> None:
    field_service.save(store, Configuration(fields=[INTENT], entry_types=[FORM]), actor=None)
    _add_rule(store)
    rep = _principal(store, "rep_east")
    with session_scope(store) as session:
        with pytest.raises(CustomerNotFoundError):  # another rep's customer: the form cannot even be opened
            customer_service.visible_by_external_id(session, rep, "E-002")
        customer = customer_service.visible_by_external_id(session, rep, "E-001")
        with pytest.raises(FieldValueError, match="intent: 'medium' is not one of low, high"):
            customer_fields.record_entry(
                session, rep, customer, "renewal_talk", {"intent": "medium"}, settings=settings, now=NOW
            )
        done = customer_fields.record_entry(
            session, rep, customer, "renewal_talk", {"intent": "low", "text": "budget cut"},
            settings=settings, now=NOW,
        )  # fmt: skip
    assert done.fields_set == {"renewal_intent": "low"}
    entries = [e for e in lake_events(store) if "renewal_talk" in e]
    assert len(entries) == 1
    assert {"budget cut", "phone"} <= set(entries[0])
    assert any('"author": "rep_east"' in cell and '"intent": "low"' in cell for cell in entries[0])
    evaluate(store, as_of=date(2025, 1, 11), settings=settings)
    with session_scope(store) as session:
        fired = session.execute(
            select(Customer.external_id, Alert.level).join(Customer, Customer.id == Alert.customer_id)
            .where(Alert.rule == "low_renewal_intent")
        ).all()  # fmt: skip
    assert fired == [("E-001", "orange")]


def test_removing_or_retyping_a_field_a_rule_uses_is_refused_naming_the_rule(store: Engine) -> None:
    field_service.save(store, Configuration(fields=[INTENT, BUDGET]), actor=None)
    _add_rule(store)
    with pytest.raises(FieldInUseError, match=r"'renewal_intent' is used by: general/low_renewal_intent"):
        field_service.remove_field(store, "renewal_intent", actor=None, rules_using=rule_service.rules_using)
    retyped = INTENT.model_copy(update={"type": FieldKind.TEXT, "choices": []})
    with pytest.raises(FieldInUseError, match="general/low_renewal_intent"):
        field_service.save(
            store, Configuration(fields=[retyped]), actor=None, rules_using=rule_service.rules_using
        )
    field_service.remove_field(store, "budget", actor=None, rules_using=rule_service.rules_using)
    assert [f.slug for f in field_service.list_fields(store)] == ["renewal_intent"]
