"""The customer 360 page in a real browser, in English and in Chinese, as a manager reads it (issue #17
item 4): why the customer is at risk first (the signal against its own baseline, since when), what to do
next, the indicators by family collapsed; no slug on screen. Full-page screenshots in test-artifacts/web/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.db import session_scope
from churnradar.models import Alert, Customer, InterventionTask
from tests.web.browser import browser, expect, serve_seeded, shot, sign_in_page
from tests.web.customers.test_next_step import PLAYBOOK
from tests.web.seed_risk import seed_risk

__all__ = ["browser"]  # the fixture used below


def seed_360(engine: Engine, settings: Settings) -> None:
    """The risk seed, E-001's open alert reading `orders_90d` and its task with a two-step playbook."""
    seed_risk(engine, settings)
    with session_scope(engine) as session:
        e001 = session.scalar(select(Customer.id).where(Customer.external_id == "E-001"))
        session.execute(
            update(Alert)
            .where(Alert.customer_id == e001, Alert.status == "open")
            .values(values={"orders_90d": 24.0})
        )
        session.execute(
            update(InterventionTask).where(InterventionTask.customer_id == e001).values(playbook=PLAYBOOK)
        )


@pytest.fixture(scope="module")
def server_360(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("customer-360-browser")
    with serve_seeded(folder, seed_360) as base:
        yield base


def test_a_manager_reads_why_and_what_next_in_english_then_chinese(server_360: str, browser: object) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, server_360, "mgr_east")
    page.goto(f"{server_360}/customers?q=eastwind")
    page.click("text=Eastwind Trading")
    page.wait_for_selector("#customer-name")

    # First the reasons: the section that opens the page, the fired rule by name, the signal now against
    # the customer's own baseline (the mean of its monthly history 2..24 is 13), and since when.
    first = page.locator("section.card").first
    assert first.get_attribute("id") == "section-alerts"
    alert = page.locator("#open-alerts li.alert").first
    expect(alert.locator("strong").first).to_have_text("Orders stopped")
    signal = alert.locator("ul.signals li[data-indicator=orders_90d]")
    expect(signal).to_have_text("Orders in the last 90 days: 24 (own baseline 13)")
    expect(alert).to_contain_text("Since Nov 2, 2026")
    # Then what to do next: the playbook's first step not done, with the task's deadline.
    expect(page.locator("#next-step .next-action")).to_have_text("Call the buyer within two days")
    expect(page.locator("#next-step")).to_contain_text("Step 1 of 2 of the playbook")
    # The other indicators wait, collapsed, by family.
    families = page.locator("#indicators details.family")
    assert families.count() == 7
    assert page.locator("#indicators details.family[open]").count() == 0
    page.locator("details[data-family=orders] summary").click()
    expect(page.locator("details[data-family=orders] tr[data-indicator=orders_30d]")).to_contain_text(
        "no data"
    )
    assert "orders_90d" not in page.inner_text("body")
    shot(page, "customer-360-en")

    page.select_option("#language-select", "zh_CN")
    page.wait_for_selector("html[lang=zh-CN]")
    expect(page.locator("#section-alerts h2")).to_have_text("该客户为何有流失风险")
    expect(page.locator("#open-alerts li.alert strong").first).to_have_text("订单中断")
    expect(page.locator("#open-alerts ul.signals li").first).to_have_text("近90天订单数: 24 (自身基线 13)")
    expect(page.locator("#next-step .next-action")).to_have_text("两天内致电采购负责人")
    page.locator("details[data-family=orders] summary").click()
    body = page.inner_text("body")
    for slug in ("orders_90d", "order_gap", "complaints_up", "retail"):
        assert slug not in body, slug
    shot(page, "customer-360-zh")
    assert errors == []
    context.close()
