"""Texts the program writes come from the catalog: the same message id in English and in Chinese."""

from __future__ import annotations

from datetime import datetime

from churnradar import i18n
from churnradar.config import Settings
from churnradar.evaluation.drafts import plain_draft
from churnradar.intervention.service import fallback_playbook, task_notice
from churnradar.kit.levels import Level
from churnradar.notification import render
from churnradar.scoring.reasons import Words, reason


def test_the_fallback_playbook_step_in_both_languages() -> None:
    book = fallback_playbook(Level.ORANGE)
    assert book.actions_en == ["Contact the customer and log what you learn"]
    assert book.actions_zh == ["联系客户并记录了解到的情况"]


def test_a_task_notice_renders_in_the_readers_language() -> None:
    settings = Settings(environment="test", secret_key="x" * 32)
    task = {
        "customer_id": 10,
        "level": "red",
        "assignee_id": 3,
        "team_id": 1,
        "deadline_at": datetime(2026, 6, 16, 8, 0),
        "reason_en": "Complaints rose",
        "reason_zh": "投诉增加",
    }
    notice = task_notice("alert_opened", task, "Acme", settings, cause="c")
    due = "2026-06-16 08:00"  # shown in the configured zone, UTC by default
    assert notice.line.render("en") == f"Acme (#10) [red]: Complaints rose; act by {due}"
    assert notice.line.render("zh-Hans") == f"Acme (#10)【red】：投诉增加；请于 {due} 前处理"
    missed = task_notice("deadline_missed", task, "Acme", settings, cause="c")
    assert missed.line.render("en") == f"Acme (#10) [red]: deadline {due} missed"
    assert missed.line.render("zh") == f"Acme (#10)【red】：已超过截止时间 {due}"


def test_subjects_in_both_languages() -> None:
    assert render.subject("alert_opened", 2, "en") == "churnradar: 2 new churn warning(s)"
    assert render.subject("alert_opened", 2, "zh") == "churnradar：2 个新的流失预警"
    assert render.subject("something_new", 1, "zh") == "churnradar：1 条更新"


def test_score_reasons_and_drafts_in_both_languages() -> None:
    words = Words("Days since last order", "距上次下单天数", "days")
    assert reason(words, 74.0, 30.0) == (
        "Days since last order: 74, typically 30",
        "距上次下单天数：74，通常为30",
    )
    assert reason(words, float("nan"), 30.0) == (
        "Days since last order: none recorded",
        "距上次下单天数：无记录",
    )
    draft = plain_draft("tier = 'high'", "yellow")
    assert (draft["name_en"], draft["name_zh"]) == ("Draft rule", "草稿规则")
    assert draft["reason_zh"] == "草稿规则成立：tier = 'high'"
    assert i18n.separator("zh_CN").join(["a", "b"]) == "a；b"


def test_builtin_indicator_names_come_from_the_catalog() -> None:
    from churnradar.indicator.registry import builtin_indicators

    indicators = builtin_indicators()
    untranslated = [i.name_en for i in indicators if i18n.translate(i.name_en, "zh_CN") == i.name_en]
    assert untranslated == []
    days = next(i for i in indicators if i.slug == "days_since_last_order")
    assert (days.name_en, days.name_zh) == ("Days since last order", "距上次下单天数")


def test_builtin_template_texts_come_from_the_catalog() -> None:
    from churnradar.rule.templates import load_templates

    templates = load_templates()
    general = templates["general"]
    assert (general.name_en, general.name_zh) == ("General", "通用")
    first = general.rules[0]
    assert (first.name_en, first.name_zh) == ("Activity and orders stopped", "活跃与下单同时停止")
    assert general.playbooks[0].actions_zh[0] == "查看预警原因和客户各项指标"
    texts = {
        (slug, text)
        for slug, template in templates.items()
        for text in (
            template.name_en,
            *(t for rule in template.rules for t in (rule.name_en, rule.reason_en)),
            *(step for book in template.playbooks for step in book.actions_en),
        )
    }
    untranslated = sorted((s, t) for s, t in texts if i18n.translate(t, "zh_CN") == t)
    assert untranslated == []
