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


def _versions(engine: Engine, template: str, slug: str) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [(v.action, v.note) for v in reversed(rule_service.rule_versions(conn, template, slug))]


def test_rule_history_follows_a_clone_its_source_and_their_parent(engine: Engine) -> None:
    rule_service.active_templates(engine, at=NOW)  # the shipped rules stored
    _clone(engine, "saas", "saas_key")
    # Each rule of the clone starts its history at the clone, naming the rule it was copied from.
    assert _versions(engine, "saas_key", "no_login_30d") == [("clone", "saas.no_login_30d")]
    assert _versions(engine, "saas_key", "activity_drop") == [("clone", "saas.activity_drop")]
    edit = {"slug": "no_login_30d", "enabled": False}
    rule_service.import_rules(engine, yaml.safe_dump({"saas_key": [edit]}), at=NOW, by="ops")
    assert _versions(engine, "saas_key", "no_login_30d") == [("clone", "saas.no_login_30d"), ("import", None)]
    assert _versions(engine, "saas", "no_login_30d") == []  # the source did not change
    # A change to the parent's rule changes it as the source and the clone apply it: each records it.
    with engine.connect() as conn:
        general = rule_service.stored_rules(conn)["general"]
    changed = [{**r, "name_en": "Activity fell"} if r["slug"] == "activity_drop" else r for r in general]
    rule_service.import_rules(engine, yaml.safe_dump({"general": changed}), at=NOW, by="ops")
    assert _versions(engine, "general", "activity_drop") == [("original", None), ("import", None)]
    assert _versions(engine, "saas", "activity_drop")[-1] == ("import", "general.activity_drop")
    assert _versions(engine, "saas_key", "activity_drop") == [
        ("clone", "saas.activity_drop"),
        ("import", "general.activity_drop"),
    ]
    with engine.connect() as conn:
        latest = rule_service.rule_versions(conn, "saas_key", "activity_drop")[0]
    assert (latest.definition or {}).get("name_en") == "Activity fell"


def test_a_clone_is_removed_unless_a_choice_applies_it(engine: Engine) -> None:
    _clone(engine, "saas", "saas_key")
    with Session(engine) as session:
        choice = {"industries": ["saas"], "segments": ["enterprise"], "template": "saas_key"}
        template_settings.save_choices(session, None, [{"template": "retail"}, choice], now=NOW)
        session.commit()
        for slug, named in [
            ("saas_key", r"'saas_key' is applied by choices\[1\] \(industries: saas; segments: enterprise\)"),
            ("saas", "'saas' is a shipped template; only clones can be removed"),
            ("nowhere", "'nowhere' is not a clone"),
        ]:
            with pytest.raises(TemplateSettingsError, match=named):
                template_settings.remove_clone(session.connection(), None, slug, now=NOW)
        session.rollback()
    assert "saas_key" in rule_service.active_templates(engine, at=NOW)
    with Session(engine) as session:
        template_settings.save_choices(session, None, [{"template": "retail"}], now=NOW)
        rules = template_settings.remove_clone(session.connection(), None, "saas_key", now=NOW)
        session.commit()
    assert rules > 0
    templates, left_out = rule_service.checked_templates(engine, at=NOW)
    assert ("saas_key" in templates, left_out) == (False, [])
    with engine.connect() as conn:
        assert "saas_key" not in rule_service.stored_rules(conn)
