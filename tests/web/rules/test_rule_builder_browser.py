"""A sales-ops admin's journey in a real browser, in English then Chinese: a new rule built with the condition
builder on a custom indicator, "flags N now" and the history replay, save, edit, the diff, restore."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.evaluation.service import evaluate
from churnradar.indicator import service as indicator_service
from churnradar.indicator.custom import parse_document
from churnradar.indicator.registry import bind_stored
from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import import_records
from churnradar.rule.fields import CUSTOMER_FIELDS
from tests.web.browser import browser, expect, serve_seeded, settled, shot, sign_in_page

__all__ = ["browser"]  # fixture used below
VISITS = {
    "name": "visits_60d",
    "name_en": "Visits in the last 60 days",
    "name_zh": "近60天拜访次数",
    "unit": "visits",
    "description": "Customer visits by our team in the 60 days before the evaluation date.",
    "events": ["visit"],
    "aggregate": "count",
    "window_days": 60,
}


def _visits_indicator_evaluated(engine: Engine, settings: Settings) -> None:
    rows: list[dict[str, Any]] = [  # one to five visits in December 2024
        {
            "customer_id": customer,
            "ts": f"2024-12-{d:02d}T10:00:00",
            "kind": "visit",
            "event_id": f"{customer}-{d}",
        }
        for n, customer in enumerate(["E-001", "E-002", "E-003", "W-001", "W-002"], start=1)
        for d in range(1, n + 1)
    ]
    summary = import_records(engine, rows, kind=RecordKind.EVENTS, settings=settings, source="test")
    assert summary.status == "succeeded", summary.errors
    indicator_service.use_store(engine)
    try:
        indicator_service.save_custom(
            engine, parse_document(VISITS), actor=None, reserved=tuple(CUSTOMER_FIELDS)
        )
        evaluate(engine, as_of=date(2025, 1, 1), settings=settings)
    finally:
        bind_stored(None)


@pytest.fixture(scope="module")
def builder_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_seeded(tmp_path_factory.mktemp("rule-builder"), _visits_indicator_evaluated) as base:
        yield base


def test_build_a_rule_on_a_custom_indicator_edit_it_see_the_diff_and_restore(
    builder_server: str, browser: object
) -> None:
    base = builder_server
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, base, "admin")
    page.goto(f"{base}/rules")
    page.click("#new-rule")
    page.wait_for_url(f"{base}/rules/new")
    page.fill("#slug", "few_visits")
    page.fill("#name_en", "Few visits")
    page.fill("#name_zh", "拜访太少")

    # Pick the custom indicator from the searchable list: its name, unit and description are shown.
    page.fill("#pick-r-0", "visits")
    choice = page.locator('.field-choice[data-field="visits_60d"]')
    expect(choice).to_contain_text("Visits in the last 60 days")
    expect(choice).to_contain_text("Customer visits by our team")
    shot(page, "rule-builder-01-field-list-en")
    choice.click()
    expect(page.locator("#field-r-0")).to_contain_text("Visits in the last 60 days")
    # Each change is answered with the builder re-drawn: wait for it before the next one, as a person does.
    page.fill("#value-r-0-0", "2")
    page.locator("#value-r-0-0").press("Tab")
    expect(page.locator("#condition")).to_have_value("visits_60d > 2")
    page.select_option("#operator-r-0", "<")
    expect(page.locator("#condition")).to_have_value("visits_60d < 2")
    expect(page.locator("#check-valid")).to_contain_text("customers now (as of 2025-01-01)")
    flagged = page.locator("#check-valid").inner_text()

    # A second clause in an OR group, then taken out again: the text follows the builder.
    settled(page)
    page.click("#add-group-r")
    settled(page)
    page.fill("#pick-r-1-0", "tenure")
    page.locator('#picks-r-1-0 .field-choice[data-field="tenure_days"]').click()
    expect(page.locator("#field-r-1-0")).to_contain_text("Tenure")
    page.fill("#value-r-1-0-0", "100000")
    page.locator("#value-r-1-0-0").press("Tab")
    expect(page.locator("#condition")).to_have_value("visits_60d < 2 AND tenure_days > 100000")
    settled(page)
    page.click("#remove-r-1")
    expect(page.locator("#condition")).to_have_value("visits_60d < 2")

    # The text drives the builder too; an error is shown where it is. Typed as a person types: the text box
    # was just swapped in by the builder's answer, and htmx listens to it only once that answer has settled.
    page.fill("#condition", "")
    page.locator("#condition").press_sequentially("visits_60d < 2 AND visits_60d / 0 > 1")
    expect(page.locator("#check-error")).to_contain_text("division by zero at column 31")
    page.fill("#condition", "visits_60d < 2")
    expect(page.locator("#check-valid")).to_have_text(flagged)
    expect(page.locator("#field-r-0")).to_contain_text("Visits in the last 60 days")

    page.click("#try")  # the history replay, one click away (eight weeks replayed: slow on a loaded machine)
    expect(page.locator("#try-figures")).to_contain_text("Alerts per week", timeout=90_000)
    page.fill("#reason_en", "Only {visits_60d:.0f} visits in 60 days")
    page.fill("#reason_zh", "近60天仅拜访 {visits_60d:.0f} 次")
    shot(page, "rule-builder-02-new-rule-en")
    page.click("#save")
    page.wait_for_url(f"{base}/rules/general.few_visits?saved=1")
    expect(page.locator("#saved")).to_be_visible()

    # Edit: a higher threshold and level; every save is a version.
    expect(page.locator("#check-valid")).to_have_text(flagged)  # checked as the page opens
    page.fill("#value-r-0-0", "3")
    page.locator("#value-r-0-0").press("Tab")
    expect(page.locator("#condition")).to_have_value("visits_60d < 3")
    page.select_option("#level", "orange")
    page.click("#save")
    page.wait_for_url(f"{base}/rules/general.few_visits?saved=1")
    page.click("#history-link")
    expect(page.locator("#version-2")).to_contain_text("changed")
    expect(page.locator("#version-1")).to_contain_text("created")
    page.click("#diff-2")
    expect(page.locator("#change-condition ins")).to_have_text("3")
    expect(page.locator("#change-condition del")).to_have_text("2")
    expect(page.locator("#change-level")).to_contain_text("orange")
    diff_url = page.url
    shot(page, "rule-builder-03-diff-en")
    page.click("#restore-before")
    page.wait_for_url(re.compile(r".*/rules/general\.few_visits\?restored=1$"))
    expect(page.locator("#restored")).to_be_visible()
    expect(page.locator("#condition")).to_have_value("visits_60d < 2")
    expect(page.locator("#level")).to_have_value("yellow")

    # The same pages in Chinese.
    page.select_option("#language-select", "zh_CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#restored")).to_contain_text("已恢复版本 1")
    expect(page.locator("#field-r-0")).to_contain_text("近60天拜访次数")
    expect(page.locator("#check-valid")).to_contain_text("当前命中")
    page.fill("#pick-r-0", "拜访")
    expect(page.locator('.field-choice[data-field="visits_60d"]')).to_contain_text("近60天拜访次数")
    shot(page, "rule-builder-04-edit-zh")
    page.goto(f"{base}/rules/general.few_visits/history")
    expect(page.locator("h1")).to_contain_text("版本历史")
    expect(page.locator("#version-3")).to_contain_text("已恢复")
    shot(page, "rule-builder-05-history-zh")
    page.goto(diff_url)
    expect(page.locator("#change-condition ins")).to_have_text("3")
    shot(page, "rule-builder-06-diff-zh")
    assert errors == []
    context.close()
