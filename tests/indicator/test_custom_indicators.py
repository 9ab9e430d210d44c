"""Custom indicators without code (#18 item 2): stored, then used at once by rules, `rule test`, backtests and
evaluate; refused with the key when wrong; not removable while a rule reads it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.evaluation.drafts import default_window, draft_book, try_rules
from churnradar.evaluation.service import active_rulebook, evaluate
from churnradar.indicator import service
from churnradar.indicator.custom import parse_document
from churnradar.indicator.exceptions import DefinitionError, IndicatorInUseError
from churnradar.indicator.registry import bind_stored, default_registry
from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import import_records
from churnradar.kit.clock import FrozenClock
from churnradar.models import AuditEntry, Customer, CustomerRisk
from churnradar.rule import service as rule_service
from churnradar.rule.fields import CUSTOMER_FIELDS
from churnradar.rule.schemas import RuleDef
from tests.web.seed import seed

DAY = date(2025, 1, 1)
NOON = datetime(2025, 1, 1, 12, 0)
VISITS = {
    "name": "visits_60d",
    "name_en": "Visits in the last 60 days",
    "name_zh": "近60天拜访次数",
    "unit": "visits",
    "events": ["visit"],
    "aggregate": "count",
    "window_days": 60,
}
RULE = {
    "slug": "few_visits",
    "name_en": "Few visits",
    "name_zh": "拜访太少",
    "condition": "visits_60d < 2",
    "level": "yellow",
    "reason_en": "Only {visits_60d:.0f} visits in 60 days",
    "reason_zh": "近60天仅拜访 {visits_60d:.0f} 次",
}


@pytest.fixture(autouse=True)
def unbound() -> Iterator[None]:
    yield
    bind_stored(None)


def _visits(engine: Engine, settings: Settings) -> None:
    """E-001: three visits in the 60 days before DAY; E-002: one visit 90 days before (outside)."""
    rows: list[dict[str, Any]] = [
        {"customer_id": "E-001", "ts": f"2024-12-{d:02d}T10:00:00", "kind": "visit", "event_id": f"v{d}"}
        for d in (2, 10, 20)
    ]
    rows.append({"customer_id": "E-002", "ts": "2024-10-03T10:00:00", "kind": "visit", "event_id": "v-old"})
    summary = import_records(engine, rows, kind=RecordKind.EVENTS, settings=settings, source="test")
    assert summary.status == "succeeded", summary.errors


def _save(engine: Engine, raw: Any) -> dict[str, int]:
    definitions = parse_document(raw)
    return service.save_custom(engine, definitions, actor=None, reserved=tuple(CUSTOMER_FIELDS))


def test_a_stored_indicator_drives_a_rule_its_test_and_evaluate(engine: Engine, settings: Settings) -> None:
    seed(engine, settings)
    _visits(engine, settings)
    service.use_store(engine)
    assert "visits_60d" not in default_registry()
    assert _save(engine, VISITS) == {"created": 1, "updated": 0}
    assert "visits_60d" in default_registry()  # the one loader every stage uses

    rule_service.active_templates(engine, at=NOON)
    document = yaml.safe_load(rule_service.export_rules(engine, ["general"]))
    document["general"] = [{**r, "enabled": False} for r in document["general"]] + [RULE]
    rule_service.import_rules(engine, yaml.safe_dump(document, allow_unicode=True), at=NOON, by="test")

    with service.open_source(engine) as source:
        wide = source.for_store(service.compute_indicators(source, [DAY]))
    with engine.connect() as conn:
        ids = dict(conn.execute(select(Customer.external_id, Customer.id)).all())
    by_id = wide.set_index("customer_id")["visits_60d"]
    assert by_id[ids["E-001"]] == 3.0
    assert by_id[ids["E-002"]] == 0.0

    book = draft_book(active_rulebook(engine), [RuleDef.model_validate({**RULE, "slug": "few_visits_draft"})])
    report = try_rules(engine, book, as_of=DAY, window=default_window(DAY, horizon_days=30, weeks=2))
    flagged = report["flagged_now"]["few_visits_draft"]["yellow"]
    assert flagged == report["customers"] - 1  # everyone but E-001
    assert [r["rule"] for r in report["backtest"]["rules"]] == ["few_visits_draft"]

    evaluate(engine, as_of=DAY, settings=settings, clock=FrozenClock(NOON))
    with engine.connect() as conn:
        risks = dict(
            conn.execute(
                select(Customer.external_id, CustomerRisk.reasons_en).join(
                    Customer, Customer.id == CustomerRisk.customer_id
                )
            ).all()
        )
    assert risks["E-002"] == "Only 0 visits in 60 days"
    assert "E-001" not in risks or "visits" not in (risks["E-001"] or "")
    stored = service.read_snapshot(engine, DAY)  # what the 360 charts and the model's training read
    assert (stored["E-001"]["visits_60d"], stored["E-002"]["visits_60d"]) == (3.0, 0.0)

    with pytest.raises(IndicatorInUseError, match="general/few_visits") as refused:
        service.remove_custom(engine, "visits_60d", actor=None, rules_using=rule_service.rules_using)
    assert refused.value.rules == ["general/few_visits"]
    assert [d.name for d in service.list_custom(engine)] == ["visits_60d"]


def test_changes_are_audited_and_export_round_trips(engine: Engine) -> None:
    service.use_store(engine)
    compared = {**VISITS, "name": "visits_trend", "compare": "change_pct", "filter": {"channel": "onsite"}}
    _save(engine, [VISITS, compared])
    assert _save(engine, {**VISITS, "window_days": 30}) == {"created": 0, "updated": 1}
    text = service.export_custom(engine, actor=None)
    again = service.parse_custom_yaml(text)
    assert again == service.list_custom(engine)
    assert "visits_trend__before" in default_registry()
    service.remove_custom(engine, "visits_trend", actor=None, rules_using=rule_service.rules_using)
    with engine.connect() as conn:
        audited = conn.execute(
            select(AuditEntry.action, AuditEntry.entity, AuditEntry.entity_id).order_by(AuditEntry.id)
        ).all()
    assert [tuple(a) for a in audited] == [
        ("create", "indicator", "visits_60d"),
        ("create", "indicator", "visits_trend"),
        ("update", "indicator", "visits_60d"),
        ("export", "indicators", None),
        ("delete", "indicator", "visits_trend"),
    ]


@pytest.mark.parametrize(
    ("change", "located"),
    [
        ({"events": ["visit", "telepathy"]}, "events: Value error, item 2: unknown event kind 'telepathy'"),
        ({"aggregate": "mode"}, "aggregate: Input should be"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"filter": {"shoe_size": 3}}, "filter.shoe_size: Extra inputs are not permitted"),
        ({"filter": {"attribute": {"name": "shoe", "equals": "x"}}}, "filter.attribute.name: Input should"),
        ({"window_days": 0}, "window_days: Input should be greater than or equal to 1"),
        ({"window_days": 100_000}, "window_days: Input should be less than or equal to 3650"),
        ({"window_days": None}, "needs window_days"),
        ({"name": "x'; drop table rules; --"}, "name: String should match pattern"),
        ({"name_en": "Visits\x1b[31m"}, "name_en: Value error, control character U+001B at character 7"),
        ({"filter": {"text_contains_any": ["ok", "bad\x00"]}}, "item 2: control character U+0000"),
        ({"filter": {"value_min": 5, "value_max": 1}}, "value_min is above value_max"),
        ({"aggregate": "latest"}, "reads all history before the date: no window_days"),
    ],
)
def test_bad_definitions_are_refused_with_the_key(change: dict[str, Any], located: str) -> None:
    with pytest.raises(DefinitionError) as refused:
        parse_document([VISITS, {**VISITS, "name": "second", **change}], "visits.yaml")
    message = str(refused.value)
    assert message.startswith("visits.yaml: item 2: ")
    assert located in message
    assert len(message) < 1200


def test_a_name_clashing_with_a_built_in_or_a_field_is_refused_and_nothing_stored(engine: Engine) -> None:
    with pytest.raises(DefinitionError, match="'communications_30d' is a built-in indicator's"):
        _save(engine, [VISITS, {**VISITS, "name": "communications_30d"}])
    with pytest.raises(DefinitionError, match="'tenure_days' is a customer field's"):
        _save(engine, {**VISITS, "name": "tenure_days"})
    assert service.list_custom(engine) == []


def test_hostile_keywords_are_data_not_sql(engine: Engine, settings: Settings) -> None:
    seed(engine, settings)
    service.use_store(engine)
    keywords = ["'); DROP TABLE customers; --", "SLOW (delivery"]
    hostile = {**VISITS, "name": "slow_words", "events": ["complaint"], "window_days": 3650}
    hostile["filter"] = {"text_contains_any": keywords}
    _save(engine, hostile)
    with service.open_source(engine) as source:
        wide = service.compute_indicators(source, [DAY], slugs=["slow_words"])
    assert wide["slow_words"].sum() == 0  # "slow delivery" holds neither keyword as written
    _save(engine, {**hostile, "filter": {"text_contains_any": ["SLOW DELIVERY"]}})
    with service.open_source(engine) as source:
        wide = service.compute_indicators(source, [DAY], slugs=["slow_words"])
    assert wide["slow_words"].sum() > 0
    with engine.connect() as conn:
        assert conn.execute(select(Customer.id)).first() is not None
