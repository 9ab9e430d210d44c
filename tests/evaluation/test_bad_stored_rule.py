"""A stored rule that fails today's checks (stored before a check existed) is left out of an evaluation and
reported; every other rule still runs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.evaluation.service import evaluate
from churnradar.models import Alert, Customer
from churnradar.rule import repository
from churnradar.rule.service import active_templates
from tests.web.seed import seed

AT = datetime(2025, 1, 1, 6, 0)


def _rule(slug: str, condition: str, **more: str) -> dict[str, str]:
    return {
        "slug": slug,
        "name_en": slug,
        "name_zh": slug,
        "condition": condition,
        "level": "yellow",
        "reason_en": f"{slug} holds",
        "reason_zh": f"{slug} 成立",
        **more,
    }


def test_a_bad_stored_rule_is_left_out_and_the_others_still_fire(engine: Engine, settings: Settings) -> None:
    seed(engine, settings)
    active_templates(engine, at=AT)  # stores the shipped rules
    with engine.begin() as conn:  # written around the checks, as a store from an older version holds them
        shipped = repository.stored_rules(conn)["general"]
        repository.replace_rules(
            conn,
            {
                "general": [
                    *shipped,
                    _rule("high_tier", "tier = 'high'"),
                    _rule("escape_condition", "tier = 'a\u001bb'"),
                    _rule("purple", "tier = 'high'", level="purple"),
                    _rule("unknown_name", "no_such_indicator > 1"),
                ]
            },
            at=AT,
            by="old version",
        )
    summary = evaluate(engine, as_of=date(2025, 1, 1), settings=settings)
    with engine.connect() as conn:
        alerts = conn.execute(
            select(Customer.external_id, Alert.rule).join(Customer, Customer.id == Alert.customer_id)
        ).all()
    assert sorted(a for a in alerts if a[1] == "high_tier") == [
        ("E-001", "high_tier"),
        ("W-001", "high_tier"),
    ]
    left_out = summary.as_dict()["rules_left_out"]
    assert len(left_out) == 3
    assert "general: rule 'escape_condition': condition: " in left_out[0]
    assert "control character U+001B at position 10 is not allowed" in left_out[0]
    assert left_out[1] == "general: rule 'purple': unknown level 'purple'; levels are yellow, orange, red"
    assert left_out[2].startswith(
        "general: rule 'unknown_name': condition: unknown indicator or field 'no_such_indicator' at column 1"
    )
