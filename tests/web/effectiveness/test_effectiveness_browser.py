"""The effectiveness page in Chromium: a manager's charts drawn by ECharts, in English and in Chinese."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.browser import browser, expect, serve_seeded, shot, sign_in_page
from tests.web.effectiveness.test_effectiveness import seed_outcomes

__all__ = ["browser"]  # the fixture used below


@pytest.fixture(scope="module")
def outcomes_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_seeded(tmp_path_factory.mktemp("effectiveness"), seed_outcomes) as base:
        yield base


def test_a_manager_reads_the_charts_in_both_languages(outcomes_server: str, browser: object) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, outcomes_server, "mgr_east")
    page.click("nav >> text=Effectiveness")
    page.wait_for_url(f"{outcomes_server}/effectiveness")
    # Every chart with data is drawn as SVG; East's teams chart has East alone.
    for name in ("save_rate", "compliance", "teams"):
        page.wait_for_selector(f"[data-effectiveness-chart={name}] svg")
    expect(page.locator("[data-effectiveness-chart=teams]")).to_contain_text("East")
    expect(page.locator("[data-effectiveness-chart=teams]")).not_to_contain_text("West")
    expect(page.locator("#outcomes-by_action")).to_contain_text("Call the customer")
    expect(page.locator("#judged-explained")).to_contain_text("outcome window has passed")
    expect(page.locator("#outcomes-by_owner")).to_contain_text("Rep East")  # display names, not logins
    shot(page, "effectiveness-manager-en")

    page.select_option("#language-select", "zh_CN")
    page.wait_for_selector("html[lang=zh-CN]")
    expect(page.locator("h1")).to_have_text("成效")
    page.wait_for_selector("[data-effectiveness-chart=save_rate] svg")
    expect(page.locator("[data-effectiveness-chart=save_rate]")).to_contain_text("已干预")
    expect(page.locator("#outcomes-by_action")).to_contain_text("致电客户")
    expect(page.locator("#judged-explained")).to_contain_text("已评判")
    shot(page, "effectiveness-manager-zh")
    assert errors == []
    context.close()


def test_the_page_is_not_offered_to_reps(outcomes_server: str, browser: object) -> None:
    context = browser.new_context(locale="en-US")  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in_page(page, outcomes_server, "rep_east")
    assert page.locator("nav >> text=Effectiveness").count() == 0
    response = page.goto(f"{outcomes_server}/effectiveness")
    assert response is not None
    assert response.status == 403
    context.close()
