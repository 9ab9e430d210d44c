"""Fields and forms in a real browser: an admin adds a field and an entry form (English), a rep records an
entry on their customer (Chinese), the next evaluation runs, and the rule on the field fires."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from churnradar.db import create_engine
from churnradar.rule import service as rule_service
from churnradar.rule.fields import bind_custom_fields
from tests.web.browser import ARTIFACTS, browser, expect, serve_seeded, shot, sign_in_page

__all__ = ["browser"]  # fixture used below

RULE = {
    "slug": "low_renewal_intent",
    "name_en": "Low renewal intent",
    "name_zh": "续约意向低",
    "condition": "renewal_intent = 'low'",
    "level": "orange",
    "reason_en": "renewal intent is {renewal_intent}",
    "reason_zh": "续约意向为 {renewal_intent}",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("fields-browser")
    with serve_seeded(folder) as base:
        yield base, folder


def _add_rule(url: str) -> None:
    """The rule on the new field, stored as the rules editor stores it (its UI is another feature's)."""
    engine = create_engine(url)
    try:
        rule_service.use_store(engine)
        at = datetime(2025, 1, 2)
        rule_service.active_templates(engine, at=at)
        general = yaml.safe_load(rule_service.export_rules(engine, ["general"]))["general"]
        rule_service.import_rules(engine, yaml.safe_dump({"general": [*general, RULE]}), at=at, by="admin")
    finally:
        bind_custom_fields(None)
        engine.dispose()


def _evaluate(url: str) -> None:
    env = {**os.environ, "CHURNRADAR_ENVIRONMENT": "test", "CHURNRADAR_SECRET_KEY": "b" * 40}
    done = subprocess.run(
        [sys.executable, "-m", "churnradar", "--db", url, "evaluate", "--as-of", "2025-01-08", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_add_a_field_and_a_form_record_an_entry_and_see_the_rule_fire(
    store: tuple[str, Path], browser: object
) -> None:
    base, folder = store
    url = f"sqlite:///{folder / 'churnradar.db'}"
    admin = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = admin.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, base, "admin")
    page.click("nav >> text=Fields and forms")
    page.wait_for_url(f"{base}/admin/fields")
    form = page.locator("#new-field")
    form.locator("input[name=slug]").fill("renewal_intent")
    form.locator("input[name=label_en]").fill("Renewal intent")
    form.locator("input[name=label_zh]").fill("续约意向")
    form.locator("select[name=type]").select_option("choice")
    form.locator("input[name=choices]").fill("low, medium, high")
    form.locator("input[name=editable_by][value=rep]").check()
    page.click("#save-field")
    page.wait_for_url(f"{base}/admin/fields?saved=1")
    expect(page.locator("#field-customer-renewal_intent")).to_contain_text("low, medium, high")

    entry = page.locator("#new-entry-type")
    entry.locator("input[name=slug]").fill("renewal_talk")
    entry.locator("input[name=label_en]").fill("Renewal talk")
    entry.locator("input[name=label_zh]").fill("续约沟通")
    entry.locator("input[name=channel]").fill("phone")
    entry.locator("input[name=q0_slug]").fill("intent")
    entry.locator("select[name=q0_type]").select_option("choice")
    entry.locator("input[name=q0_label_en]").fill("Intent")
    entry.locator("input[name=q0_label_zh]").fill("意向")
    entry.locator("input[name=q0_choices]").fill("low, high")
    entry.locator("select[name=q0_sets_field]").select_option("renewal_intent")
    entry.locator("input[name=q0_required]").check()
    entry.locator("input[name=q1_slug]").fill("text")
    entry.locator("input[name=q1_label_en]").fill("What they said")
    entry.locator("input[name=q1_label_zh]").fill("客户原话")
    page.click("#save-entry-type")
    page.wait_for_url(f"{base}/admin/fields?saved=1")
    expect(page.locator("#entry-type-renewal_talk")).to_contain_text("Intent (choice → renewal_intent)")
    shot(page, "fields-01-admin-en")
    _add_rule(url)

    rep = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = rep.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, base, "rep_east")
    page.select_option("#language-select", "zh_CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.goto(f"{base}/customers")
    page.click("text=Eastwind Trading")
    page.wait_for_url(f"{base}/customers/*")
    customer_url = page.url
    expect(page.locator("#custom-fields h2")).to_have_text("自定义字段")
    page.click("#entry-renewal_talk summary")
    talk = page.locator("#entry-renewal_talk form")
    talk.locator("select[name=a_intent]").select_option("low")
    talk.locator("textarea[name=a_text]").fill("预算削减，可能不续约")
    talk.locator("button[type=submit]").click()
    expect(page.locator("#entry-saved")).to_have_text("已录入：下次评估会读取它。")
    expect(page.locator("#field-renewal_intent")).to_have_value("low")
    expect(page.locator("#events")).to_contain_text("renewal talk")  # the kind in words, not its slug
    shot(page, "fields-02-entry-recorded-zh")

    _evaluate(url)
    page.goto(customer_url)
    fired = page.locator("li.alert[data-rule=low_renewal_intent]")
    expect(fired).to_contain_text("续约意向低")
    expect(fired).to_contain_text("续约意向为 low")
    warnings = page.locator("section", has=fired).last  # the page is long (every indicator's chart)
    warnings.screenshot(path=str(ARTIFACTS / "fields-03-rule-fired-zh.png"))
    page.goto(f"{base}/tasks")
    page.locator(".task-link").first.click()  # the task's own page links to the customer's entry forms
    page.locator(".task-entry").click()
    expect(page.locator("#manual-entry h2")).to_have_text("录入信息")
    assert errors == []
