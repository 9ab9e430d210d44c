"""Rules stored in the database: seeded from the templates, exported and imported as YAML, checked whole."""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml
from sqlalchemy.engine import Engine

from churnradar.rule import repository
from churnradar.rule.exceptions import TemplateError
from churnradar.rule.service import active_templates, export_rules, import_rules
from churnradar.rule.templates import template_raws

AT = datetime(2026, 11, 23, 9, 0)


def _stored(engine: Engine) -> dict[str, list[dict[str, object]]]:
    with engine.connect() as conn:
        return repository.stored_rules(conn)


def test_first_use_stores_the_shipped_rules(engine: Engine) -> None:
    templates = active_templates(engine, at=AT)
    stored = _stored(engine)
    raws = template_raws()
    assert {t: len(r) for t, r in stored.items()} == {t: len(raw.get("rules", [])) for t, raw in raws.items()}
    assert {r.slug for r in templates["saas"].rules} >= {r["slug"] for r in stored["general"]}  # inherited


def test_export_edit_import_round_trip(engine: Engine) -> None:
    active_templates(engine, at=AT)
    document = yaml.safe_load(export_rules(engine, ["general"]))
    assert list(document) == ["general"]
    document["general"].append(
        {
            "slug": "silent_big_spender",
            "name_en": "Big spender gone quiet",
            "name_zh": "大客户沉默",
            "condition": "order_amount_prior_90d > 10000 AND days_since_last_order > 45",
            "level": "orange",
            "reason_en": "No order for {days_since_last_order:.0f} days",
            "reason_zh": "{days_since_last_order:.0f} 天未下单",
        }
    )
    counts = import_rules(engine, yaml.safe_dump(document, allow_unicode=True), at=AT, by="li.na")
    assert counts == {"general": len(document["general"])}
    templates = active_templates(engine, at=AT)
    # A general rule reaches every industry template that does not override it.
    assert "silent_big_spender" in {r.slug for r in templates["retail"].rules}


def _bad(**changes: str) -> dict[str, str]:
    rule = {
        "slug": "x",
        "name_en": "x",
        "name_zh": "x",
        "condition": "tier = 'high'",
        "level": "red",
        "reason_en": "x",
        "reason_zh": "x",
    }
    return rule | changes


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(
            {"general": [_bad(condition="logins_30 > 1")]},
            "unknown indicator or field 'logins_30'",
            id="bad_condition",
        ),
        pytest.param({"general": [_bad(level="purple")]}, "unknown level 'purple'", id="bad_level"),
        pytest.param({"gaming": []}, "rules for unknown template 'gaming'", id="unknown_template"),
        pytest.param({"general": [_bad(reason_en="{tier.__class__}")]}, "reason_en", id="hostile_reason"),
    ],
)
def test_a_bad_import_stores_nothing(
    engine: Engine, extra: dict[str, list[dict[str, str]]], message: str
) -> None:
    active_templates(engine, at=AT)
    before = _stored(engine)
    document = {t: [*before.get(t, []), *rules] for t, rules in extra.items()}
    with pytest.raises(TemplateError) as caught:
        import_rules(engine, yaml.safe_dump(document), at=AT, by="li.na")
    assert message in str(caught.value)
    assert _stored(engine) == before
