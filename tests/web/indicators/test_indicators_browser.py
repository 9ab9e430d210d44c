"""A sales-ops admin in a real browser, in English then Chinese: defines "visits in the last 60 days" on the
indicators page, previews it, saves it, and finds it in the rules editor's field list for a new rule."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import import_records
from tests.web.browser import browser, expect, serve_seeded, shot, sign_in_page

__all__ = ["browser"]  # fixture used below
VISITED = ["E-001", "E-002", "E-003", "W-001", "W-002"]  # one to five visits each in December 2024


def _visits(engine: Engine, settings: Settings) -> None:
    rows: list[dict[str, Any]] = [
        {"customer_id": customer, "ts": f"2024-12-{d:02d}T10:00:00", "kind": "visit",
         "event_id": f"{customer}-{d}"}
        for n, customer in enumerate(VISITED, start=1)
        for d in range(1, n + 1)
    ]  # fmt: skip
    summary = import_records(engine, rows, kind=RecordKind.EVENTS, settings=settings, source="test")
    assert summary.status == "succeeded", summary.errors


@pytest.fixture(scope="module")
def visits_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_seeded(tmp_path_factory.mktemp("indicators-browser"), _visits) as base:
        yield base


def test_define_an_indicator_on_the_page_and_pick_it_for_a_new_rule(
    visits_server: str, browser: object
) -> None:
    base = visits_server
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, base, "admin")
    page.click("nav >> text=Indicators")
    page.wait_for_url(f"{base}/admin/indicators")
    form = page.locator("#indicator-editor")
    form.locator("input[name=name]").fill("visits_60d")
    form.locator("input[name=name_en]").fill("Visits in the last 60 days")
    form.locator("input[name=name_zh]").fill("近60天拜访次数")
    form.locator("input[name=unit]").fill("visits")
    form.locator("input[name=description]").fill(
        "Customer visits by our team in the 60 days before the date."
    )
    form.locator("input[name=events][value=visit]").check()
    form.locator("select[name=aggregate]").select_option("count")
    form.locator("input[name=window_days]").fill("60")
    form.locator("input[name=as_of]").fill("2025-01-01")
    page.click("#preview-indicator")
    preview = page.locator("#indicator-preview")
    values = preview.locator("tbody td.num")
    expect(values.nth(0)).to_be_visible()
    shown = values.count()  # every customer, fewer than the preview's ten
    expect(preview).to_contain_text(f"{shown} customers have a value; the highest:")
    expect(values.nth(0)).to_have_text("5")  # W-002's five visits first, then four, ...
    expect(values.nth(4)).to_have_text("1")
    shot(page, "indicators-01-preview-en")
    page.click("#save-indicator")
    page.wait_for_url(f"{base}/admin/indicators?saved=visits_60d")
    expect(page.locator("#indicator-visits_60d")).to_contain_text("Visits in the last 60 days")
    expect(page.locator("#indicator-visits_60d")).to_contain_text("none")  # no rule reads it yet
    shot(page, "indicators-02-saved-en")

    page.goto(f"{base}/rules")
    page.click("#new-rule")
    page.wait_for_url(f"{base}/rules/new")
    page.fill("#pick-r-0", "visits")
    choice = page.locator('.field-choice[data-field="visits_60d"]')
    expect(choice).to_contain_text("Visits in the last 60 days")
    expect(choice).to_contain_text("Customer visits by our team")
    shot(page, "indicators-03-rule-field-list-en")

    page.select_option("#language-select", "zh_CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.goto(f"{base}/admin/indicators")
    expect(page.locator("h1")).to_have_text("自定义指标")
    expect(page.locator("#indicator-visits_60d")).to_contain_text("近60天拜访次数")
    page.click("#indicator-visits_60d >> text=编辑")
    expect(page.locator("#indicator-form h2")).to_contain_text("编辑指标")
    page.locator("#indicator-editor input[name=as_of]").fill("2025-01-01")
    page.click("#preview-indicator")
    expect(page.locator("#indicator-preview")).to_contain_text(f"{shown} 个客户有值；最高的几个：")
    expect(page.locator("#indicator-preview tbody td.num").first).to_have_text("5")
    shot(page, "indicators-04-edit-preview-zh")
    page.goto(f"{base}/rules/new")
    page.fill("#pick-r-0", "拜访")
    choice = page.locator('.field-choice[data-field="visits_60d"]')
    expect(choice).to_contain_text("近60天拜访次数")
    shot(page, "indicators-05-rule-field-list-zh")
    assert errors == []
