"""Industry templates: every shipped one loads and checks, inheritance, and broken files' exact messages."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from churnradar.indicator.registry import default_registry
from churnradar.rule.exceptions import TemplateError
from churnradar.rule.fields import rule_fields
from churnradar.rule.language import FieldType
from churnradar.rule.reasons import render_reason
from churnradar.rule.schemas import RoleOnDuty, Template
from churnradar.rule.templates import (
    TEMPLATES_DIR,
    check_template,
    load_templates,
    resolve_templates,
    template_for,
)

FIXTURES = Path(__file__).parent / "fixtures"
SHIPPED = ("general", "saas", "manufacturing", "retail", "services", "education")
FIELDS = rule_fields(default_registry())


@pytest.fixture(scope="module")
def templates() -> dict[str, Template]:
    return load_templates()


def _raw(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((TEMPLATES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    return loaded


class TestShipped:
    def test_all_load(self, templates: dict[str, Template]) -> None:
        assert sorted(templates) == sorted(SHIPPED)

    @pytest.mark.parametrize("slug", SHIPPED)
    def test_checks_pass(self, templates: dict[str, Template], slug: str) -> None:
        check_template(templates[slug], FIELDS)

    def test_general_covers_all_seven_families(self, templates: dict[str, Template]) -> None:
        registry = default_registry()
        read = {
            name
            for rule in templates["general"].rules
            for text in (rule.condition, *rule.escalate.values())
            for name in FIELDS
            if name in text
        }
        families = {registry.get(n).family for n in read if n in registry}
        assert {str(f) for f in families} == {
            "activity", "orders", "complaints", "response", "usage", "competitor", "contract"
        }  # fmt: skip

    @pytest.mark.parametrize("slug", SHIPPED)
    def test_playbook_defaults(self, templates: dict[str, Template], slug: str) -> None:
        books = {p.level: p for p in templates[slug].playbooks}
        assert [
            (lvl, books[lvl].role, books[lvl].deadline_hours, books[lvl].follow_up_every_hours)
            for lvl in books
        ] == [
            ("yellow", RoleOnDuty.OWNER, 48, None),
            ("orange", RoleOnDuty.OWNER_AND_MANAGER, 72, None),
            ("red", RoleOnDuty.DIRECTOR, 24, 24),
        ]

    @pytest.mark.parametrize("slug", SHIPPED)
    def test_every_reason_renders_with_values_and_without(
        self, templates: dict[str, Template], slug: str
    ) -> None:
        values = {name: ("high" if kind is FieldType.TEXT else 12.5) for name, kind in FIELDS.items()}
        for rule in templates[slug].rules:
            for text in (rule.reason_en, rule.reason_zh):
                shown = render_reason(text, values)
                assert "{" not in shown
                assert "—" not in shown
                assert "—" in render_reason(text, {}) or "{" not in text

    @pytest.mark.parametrize("slug", SHIPPED)
    def test_health_and_bands(self, templates: dict[str, Template], slug: str) -> None:
        template = templates[slug]
        assert len(template.health) >= 5
        assert [b.level for b in template.bands] == ["red", "orange", "yellow"]

    def test_shipped_files_are_the_loaded_ones(self) -> None:
        assert sorted(p.stem for p in TEMPLATES_DIR.glob("*.yaml")) == sorted(SHIPPED)
        for slug in SHIPPED[1:]:
            assert _raw(slug)["extends"] == "general"


class TestInheritance:
    def test_industry_gets_general_rules_in_order_then_its_own(self, templates: dict[str, Template]) -> None:
        general = [r.slug for r in templates["general"].rules]
        saas = [r.slug for r in templates["saas"].rules]
        assert saas[: len(general)] == general
        assert saas[len(general) :] == [
            "logins_thinning", "deep_feature_drop", "tickets_rising",
            "core_users_quiet", "paid_feature_use_halved", "defect_tickets_rising",
        ]  # fmt: skip

    def test_a_rule_with_a_general_slug_replaces_the_keys_it_gives(
        self, templates: dict[str, Template]
    ) -> None:
        general = next(r for r in templates["general"].rules if r.slug == "no_login_30d")
        saas = next(r for r in templates["saas"].rules if r.slug == "no_login_30d")
        patch = next(r for r in _raw("saas")["rules"] if r["slug"] == "no_login_30d")
        assert "condition" not in patch
        assert "level" not in patch
        assert saas.escalate == patch["escalate"] != general.escalate
        assert list(saas.escalate) == ["orange", "red"]
        assert (saas.condition, saas.level) == (general.condition, general.level)
        assert saas.name_zh == "30天无用户登录" != general.name_zh

    def test_a_patch_keeps_the_rest(self, templates: dict[str, Template]) -> None:
        general = next(r for r in templates["general"].rules if r.slug == "order_gap_long")
        own = next(r for r in templates["manufacturing"].rules if r.slug == "order_gap_long")
        assert set(own.escalate) == {"orange", "red"} != set(general.escalate)
        assert (own.condition, own.level, own.reason_zh) == (
            general.condition,
            general.level,
            general.reason_zh,
        )

    def test_enabled_false_disables(self, templates: dict[str, Template]) -> None:
        off = {slug: sorted(r.slug for r in t.rules if not r.enabled) for slug, t in templates.items()}
        assert off == {
            "general": [],
            "saas": ["usage_narrowing"],
            "manufacturing": ["no_login_30d", "usage_narrowing"],
            "retail": [
                "activity_drop",
                "customer_unresponsive",
                "invoices_overdue",
                "no_login_30d",
                "usage_narrowing",
            ],
            "services": ["no_login_30d", "usage_narrowing"],
            "education": [],
        }

    def test_health_and_bands_from_industry_else_general(self, templates: dict[str, Template]) -> None:
        assert templates["retail"].health != templates["general"].health
        assert templates["retail"].health[0].indicator == "days_since_last_order"
        assert templates["retail"].bands == templates["general"].bands

    def test_resolution_on_mappings(self) -> None:
        general = _raw("general")
        child = {
            "slug": "child",
            "name_en": "Child",
            "name_zh": "子模板",
            "extends": "general",
            "rules": [{"slug": "balance_low", "enabled": False}],
            "bands": [{"below": 30, "level": "red"}],
            "playbooks": [
                {"level": "red", "deadline_hours": 4, "actions_en": ["Call now"], "actions_zh": ["立即致电"]}
            ],
        }
        resolved = resolve_templates({"general": general, "child": child})["child"]
        assert resolved.slug == "child"
        assert [r.slug for r in resolved.rules] == [r["slug"] for r in general["rules"]]
        assert next(r for r in resolved.rules if r.slug == "balance_low").enabled is False
        assert [(b.below, b.level) for b in resolved.bands] == [(30, "red")]
        assert len(resolved.health) == len(general["health"])
        books = {p.level: p for p in resolved.playbooks}
        assert (books["red"].deadline_hours, books["red"].actions_zh) == (4, ["立即致电"])
        assert books["yellow"].deadline_hours == 48

    def test_extends_cycle(self) -> None:
        a = {"slug": "a", "name_en": "A", "name_zh": "A", "extends": "b"}
        b = {"slug": "b", "name_en": "B", "name_zh": "B", "extends": "a"}
        with pytest.raises(TemplateError) as caught:
            resolve_templates({"a": a, "b": b})
        assert str(caught.value) == "b.yaml: templates extend each other: a -> b -> a"

    def test_extra_dir_adds_and_replaces(self, tmp_path: Path) -> None:
        (tmp_path / "fintech.yaml").write_text(
            "slug: fintech\nname_en: Fintech\nname_zh: 金融科技\nextends: saas\n", encoding="utf-8"
        )
        retail = _raw("retail") | {"name_en": "Our retail"}
        (tmp_path / "retail.yaml").write_text(yaml.safe_dump(retail, allow_unicode=True), encoding="utf-8")
        loaded = load_templates(tmp_path)
        assert loaded["retail"].name_en == "Our retail"
        assert [r.slug for r in loaded["fintech"].rules] == [r.slug for r in loaded["saas"].rules]
        assert template_for("FinTech", loaded).slug == "fintech"


class TestTemplateFor:
    @pytest.mark.parametrize(
        ("industry", "slug"),
        [
            pytest.param("saas", "saas", id="exact"),
            pytest.param(" Retail ", "retail", id="case_and_spaces"),
            pytest.param(None, "general", id="none"),
            pytest.param("", "general", id="empty"),
            pytest.param("shipping", "general", id="unknown"),
        ],
    )
    def test_picks(self, templates: dict[str, Template], industry: str | None, slug: str) -> None:
        assert template_for(industry, templates).slug == slug


BROKEN = [
    pytest.param(
        "unknown_indicator",
        [
            "unknown_indicator.yaml: rule 'quiet': condition: "
            "unknown indicator or field 'days_since_last_logon' "
            "at column 1; did you mean 'days_since_last_login'?"
        ],
        id="unknown_indicator",
    ),
    pytest.param(
        "unknown_level",
        ["unknown_level.yaml: rule 'quiet': unknown level 'purple'; levels are yellow, orange, red"],
        id="unknown_level",
    ),
    pytest.param(
        "escalate_not_higher",
        [
            "escalate_not_higher.yaml: rule 'quiet': escalate: "
            "yellow is not higher than the rule's level, orange",
            "escalate_not_higher.yaml: rule 'quiet': escalate: "
            "orange is not higher than the rule's level, orange",
        ],
        id="escalate_not_higher",
    ),
    pytest.param(
        "escalate_syntax_error",
        [
            "escalate_syntax_error.yaml: rule 'quiet': escalate to red: ';' is not allowed: "
            "a condition is one expression at column 27"
        ],
        id="escalate_syntax_error",
    ),
    pytest.param(
        "unknown_health_indicator",
        [
            "unknown_health_indicator.yaml: health part 'logins_per_week': unknown indicator",
            "unknown_health_indicator.yaml: health part 'tenure_days': a customer field, not an indicator",
        ],
        id="unknown_health_indicator",
    ),
    pytest.param(
        "bands_out_of_order",
        [
            "bands_out_of_order.yaml: bands: below 60 gives red, more severe than yellow below 40",
            "bands_out_of_order.yaml: bands: list them from the lowest `below` up; 50 follows 60",
        ],
        id="bands_out_of_order",
    ),
    pytest.param(
        "reason_attribute_access",
        [
            "reason_attribute_access.yaml: rule 'quiet': reason_en: "
            "{days_since_last_login.__class__.__mro__}: "
            "only plain names are allowed, no attributes or indexes",
            "reason_attribute_access.yaml: rule 'quiet': reason_zh: {days_since_last_login[0]}: "
            "only plain names are allowed, no attributes or indexes",
        ],
        id="reason_attribute_access",
    ),
    pytest.param(
        "reason_unknown_field",
        [
            "reason_unknown_field.yaml: rule 'quiet': reason_en: {days_without_login:.0f}: "
            "unknown indicator or field 'days_without_login'",
            "reason_unknown_field.yaml: rule 'quiet': reason_zh: "
            "{tier:.0f}: format '.0f' does not fit a text",
        ],
        id="reason_unknown_field",
    ),
    pytest.param(
        "extends_unknown", ["extends_unknown.yaml: extends unknown template 'fintech'"], id="extends_unknown"
    ),
    pytest.param(
        "rule_defined_twice",
        ["rule_defined_twice.yaml: rule 'no_login_30d' is defined twice"],
        id="defined_twice",
    ),
    pytest.param(
        "rule_missing_condition",
        ["rule_missing_condition.yaml: rule 'quiet': condition: Field required"],
        id="rule_missing_condition",
    ),
    pytest.param(
        "playbook_unknown_level",
        ["playbook_unknown_level.yaml: playbook 'black': unknown level; levels are yellow, orange, red"],
        id="playbook_unknown_level",
    ),
    pytest.param(
        "slug_not_file_name",
        ["slug_not_file_name.yaml: slug 'fintech' must be the file name, 'slug_not_file_name'"],
        id="slug_not_file_name",
    ),
    pytest.param(
        "not_a_mapping",
        ["not_a_mapping.yaml: expected a mapping with slug, name_en, name_zh, rules, ..."],
        id="not_a_mapping",
    ),
]


class TestBrokenFiles:
    @pytest.mark.parametrize(("name", "errors"), BROKEN)
    def test_exact_messages(self, tmp_path: Path, name: str, errors: list[str]) -> None:
        shutil.copy(FIXTURES / f"{name}.yaml", tmp_path)
        with pytest.raises(TemplateError) as caught:
            load_templates(tmp_path)
        assert caught.value.errors == errors
        assert str(caught.value) == "\n".join(errors)

    def test_every_fixture_is_tested(self) -> None:
        tested = {p.values[0] for p in BROKEN}
        assert {p.stem for p in FIXTURES.glob("*.yaml")} == tested

    def test_inherited_mistake_is_reported_once_against_its_file(self, tmp_path: Path) -> None:
        general = _raw("general")
        # A rule no industry template patches (a patched one is reported against the patching file too).
        unpatched = next(r for r in general["rules"] if r["slug"] == "complaints_repeated")
        unpatched["condition"] = "activity_drop > 50"
        (tmp_path / "general.yaml").write_text(yaml.safe_dump(general, allow_unicode=True), encoding="utf-8")
        with pytest.raises(TemplateError) as caught:
            load_templates(tmp_path)
        assert caught.value.errors == [
            "general.yaml: rule 'complaints_repeated': condition: unknown indicator or field 'activity_drop' "
            "at column 1; did you mean 'activity_drop_pct'?"
        ]

    def test_custom_levels(self, templates: dict[str, Template]) -> None:
        with pytest.raises(TemplateError) as caught:
            check_template(templates["general"], FIELDS, levels=("yellow", "red"))
        assert (
            "general.yaml: rule 'activity_drop': escalate: unknown level 'orange'; levels are yellow, red"
            in (caught.value.errors)
        )
