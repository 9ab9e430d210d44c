"""The rules editor in a real browser: an inline error while typing, the flag count, save, Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.evaluation.service import evaluate
from tests.web.browser import browser, expect, serve_seeded, shot, sign_in_page

__all__ = ["browser"]  # fixture used below


def _evaluated(engine: Engine, settings: Settings) -> None:
    evaluate(engine, as_of=date(2025, 1, 1), settings=settings)


@pytest.fixture(scope="module")
def rules_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_seeded(tmp_path_factory.mktemp("rules-browser"), _evaluated) as base:
        yield base


def test_edit_a_rule_with_inline_checks_then_read_it_in_chinese(rules_server: str, browser: object) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, rules_server, "admin")
    page.click("nav >> text=Rules")
    page.wait_for_url(f"{rules_server}/rules")
    expect(page.locator("#template-general")).to_be_visible()
    page.locator("#template-general tbody tr td:first-child a").first.click()
    page.wait_for_url(f"{rules_server}/rules/general.*")
    rule_url = page.url
    # The stored condition is checked as the page opens.
    expect(page.locator("#check-valid")).to_contain_text("customers now (as of 2025-01-01)")

    page.fill("#condition", "logins_30 > 3 AND tier = 'high'")
    expect(page.locator("#check-error")).to_contain_text(
        "unknown indicator or field 'logins_30' at column 1; did you mean 'login_days_30d'?"
    )
    shot(page, "rules-01-inline-error")

    page.fill("#condition", "login_days_30d >= 0 AND tier = 'high'")
    expect(page.locator("#check-valid")).to_contain_text("valid: flags")
    expect(page.locator("#check-valid")).to_contain_text("customers now (as of 2025-01-01)")
    count = page.locator("#check-valid").inner_text()
    expect(page.locator("#try-running")).to_be_hidden()
    page.click("#try")
    # Eight weeks replayed: over 30 s on a loaded machine.
    expect(page.locator("#try-figures")).to_contain_text("Alerts per week", timeout=90_000)
    expect(page.locator("#try-result")).to_contain_text("Replayed 8 weekly dates")
    shot(page, "rules-02-flag-count-and-backtest")

    page.click("#save")
    page.wait_for_url(f"{rule_url}?saved=1")
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("#condition")).to_have_value("login_days_30d >= 0 AND tier = 'high'")
    expect(page.locator("#check-valid")).to_have_text(count)  # the saved rule flags what the draft did
    shot(page, "rules-03-saved")

    page.select_option("#language-select", "zh_CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#saved")).to_contain_text("已保存")
    expect(page.locator("#check-valid")).to_contain_text("当前命中")
    expect(page.locator("label", has_text="条件").first).to_be_visible()
    shot(page, "rules-04-chinese")
    page.goto(f"{rules_server}/rules")
    expect(page.locator("h1")).to_have_text("规则")
    shot(page, "rules-05-list-chinese")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the tables scroll inside their cards
    page.goto(rule_url)
    expect(page.locator("#condition")).to_be_visible()
    shot(page, "rules-06-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("nav >> text=设置")
    expect(page.locator("#templates")).to_contain_text("行业模板与处置手册")
    expect(page.locator("#channels")).to_contain_text("尚未配置通知渠道")
    shot(page, "settings-01-chinese")
    assert errors == []
    context.close()
