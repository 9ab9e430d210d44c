"""Template clones and choices: a clone copies its source's rules under a new slug and is edited apart; the
first matching choice (by industry or segment) picks a customer's template, the industry's otherwise."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar.evaluation.frames import customers_at
from churnradar.evaluation.service import active_rulebook
from churnradar.rule import service as rule_service
from churnradar.rule import template_settings
from churnradar.rule.exceptions import TemplateSettingsError

NOW = datetime(2026, 6, 15, 8, 0)


def _clone(engine: Engine, source: str, slug: str) -> None:
    with Session(engine) as session:
        template_settings.clone(session.connection(), None, source, slug, ("Key SaaS", "重点SaaS"), now=NOW)
        session.commit()


def test_a_clone_starts_as_its_source_and_is_edited_apart(engine: Engine) -> None:
    source = rule_service.active_templates(engine, at=NOW)["saas"]
    _clone(engine, "saas", "saas_key")
    templates = rule_service.active_templates(engine, at=NOW)
    clone = templates["saas_key"]
    assert (clone.name_zh, clone.extends) == ("重点SaaS", source.extends)
    assert [r.slug for r in clone.rules] == [r.slug for r in source.rules]
    assert [p.deadline_hours for p in clone.playbooks] == [p.deadline_hours for p in source.playbooks]
    # Switching a rule off in the clone leaves the source's on.
    first = clone.rules[0].slug
    rule_service.import_rules(
        engine, yaml.safe_dump({"saas_key": [{"slug": first, "enabled": False}]}), at=NOW, by=None
    )
    templates = rule_service.active_templates(engine, at=NOW)
    assert not next(r for r in templates["saas_key"].rules if r.slug == first).enabled
    assert next(r for r in templates["saas"].rules if r.slug == first).enabled
    for source_slug, slug, named in [
        ("saas", "saas_key", "slug: template 'saas_key' exists already"),
        ("nowhere", "x", "source: unknown template 'nowhere'"),
        ("saas", "Bad Slug", "slug: use"),
    ]:
        with pytest.raises(TemplateSettingsError, match=named):
            _clone(engine, source_slug, slug)


def test_the_first_matching_choice_picks_the_template_else_the_industry_s(engine: Engine) -> None:
    _clone(engine, "saas", "saas_key")
    with Session(engine) as session:
        with pytest.raises(TemplateSettingsError, match=r"choices\[1\].template: unknown template 'gone'"):
            template_settings.save_choices(
                session, None, [{"template": "retail"}, {"template": "gone"}], now=NOW
            )
        entries = [
            {"segments": ["Enterprise"], "industries": ["saas"], "template": "saas_key"},
            {"segments": ["public sector"], "template": "services"},
        ]
        template_settings.save_choices(session, None, entries, now=NOW)
        session.commit()
    book = active_rulebook(engine)
    assert [c.template for c in book.choices] == ["saas_key", "services"]
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5],
            "industry": ["SaaS", "saas", "retail", "retail", None],
            "segment": ["enterprise", "SMB", "Public Sector", "SMB", None],
            "signup_date": pd.to_datetime(["2025-01-01"] * 5),
            "churned_at": pd.to_datetime([None] * 5),
            **{c: [None] * 5 for c in ("tier", "team", "owner", "status")},
        }
    )
    chosen = customers_at(customers, date(2026, 6, 1), book.templates, book.choices)
    assert chosen["template"].tolist() == ["saas_key", "saas", "services", "retail", "general"]
    with Session(engine) as session:
        exported = yaml.safe_load(template_settings.export_yaml(session, None))
    assert [c["slug"] for c in exported["clones"]] == ["saas_key"]
    assert exported["choices"][1] == {"segments": ["public sector"], "template": "services"}
    exported["clones"][0]["name_en"] = "Key accounts"
    exported["choices"] = exported["choices"][:1]
    with Session(engine) as session:
        counts = template_settings.import_yaml(session, None, yaml.safe_dump(exported), now=NOW)
        session.commit()
        assert counts == {"clones": 1, "choices": 1}
        wrong = {"clones": [{**exported["clones"][0], "slug": "saas"}], "choices": []}
        with pytest.raises(TemplateSettingsError, match=r"clones\[0\].slug: 'saas' is a shipped template"):
            template_settings.import_yaml(session, None, yaml.safe_dump(wrong), now=NOW)
    assert rule_service.active_templates(engine, at=NOW)["saas_key"].name_en == "Key accounts"
    with engine.connect() as conn:
        assert [c.template for c in template_settings.stored_choices(conn)] == ["saas_key"]
