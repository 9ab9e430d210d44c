"""Issue 18's done-when in a real browser: a sales-ops admin who has never seen the files defines "visits in
the last 60 days" on the indicators page (previewed), builds a rule on it in the rules editor ("flags N now"),
changes the red playbook of the customers' template on the settings page; the next evaluation (run as the
worker runs it) raises the alert with its reason on the risk list and the customer's page, and its task
carries the changed playbook. Then the same pages in Chinese."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Row, select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.evaluation.service import evaluate
from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import import_records
from churnradar.models import Customer, InterventionTask
from tests.web.browser import ARTIFACTS, browser, expect, serve_seeded, settled, shot, sign_in_page

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
    evaluate(engine, as_of=date(2024, 12, 31), settings=settings)  # the worker's last run, before any change


@pytest.fixture(scope="module")
def visits_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("indicators-browser")
    with serve_seeded(folder, _visits) as base:
        yield base, f"sqlite:///{folder / 'churnradar.db'}"


def _evaluate(url: str) -> None:
    """The next evaluation, as the worker runs it: its own process over the same store."""
    done = subprocess.run(
        [sys.executable, "-m", "churnradar", "--db", url, "evaluate", "--as-of", "2025-01-01", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _ids(url: str, external_id: str) -> tuple[int, Row[Any]]:
    """The customer's id and its open task's row."""
    engine = create_engine(url)
    with engine.connect() as conn:
        customer = conn.execute(select(Customer.id).where(Customer.external_id == external_id)).scalar_one()
        task = conn.execute(select(InterventionTask).where(InterventionTask.customer_id == customer)).one()
    engine.dispose()
    return int(customer), task


def test_indicator_rule_and_playbook_set_up_in_the_ui_are_used_by_the_next_evaluation(
    visits_server: tuple[str, str], browser: object
) -> None:
    base, url = visits_server
    started = time.monotonic()
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
    choice.click()  # a rule on it, built with the condition builder: few visits is red
    expect(page.locator("#field-r-0")).to_contain_text("Visits in the last 60 days")
    page.fill("#slug", "few_visits")
    page.fill("#name_en", "Few visits")
    page.fill("#name_zh", "拜访太少")
    page.fill("#value-r-0-0", "2")
    page.locator("#value-r-0-0").press("Tab")
    expect(page.locator("#condition")).to_have_value("visits_60d > 2")
    expect(page.locator("#check-valid")).to_contain_text("customers now")  # the builder is drawn again
    settled(page)
    page.select_option("#operator-r-0", "<")
    expect(page.locator("#condition")).to_have_value("visits_60d < 2")
    # As of the last run, the new indicator computed for it: E-001's one visit, N-001's and R-001's none.
    expect(page.locator("#check-valid")).to_contain_text("flags 3 of 6 customers now (as of 2024-12-31)")
    page.select_option("#level", "red")
    page.fill("#reason_en", "Visits in 60 days: {visits_60d:.0f}")
    page.fill("#reason_zh", "近60天拜访 {visits_60d:.0f} 次")
    shot(page, "indicators-04-new-rule-en")
    page.click("#save")
    page.wait_for_url(f"{base}/rules/general.few_visits?saved=1")

    # The red playbook of the retail template (the customers' industry): a shorter deadline, its own steps.
    page.click("nav >> text=Settings")
    page.wait_for_url(f"{base}/settings")
    form = page.locator("#playbook-retail-red")
    form.locator("input[name=deadline_hours]").fill("12")
    form.locator("summary").click()
    steps = "Director visits the buyer this week\nAgree a recovery plan"
    form.locator("textarea[name=actions_en]").fill(steps)
    form.locator("textarea[name=actions_zh]").fill("总监本周拜访采购负责人\n商定挽回计划")
    form.screenshot(path=str(ARTIFACTS / "indicators-05-playbook-en.png"))
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/settings#template-retail")
    expect(page.locator("#playbook-retail-red input[name=deadline_hours]")).to_have_value("12")
    clicked = time.monotonic() - started

    _evaluate(url)
    customer, task = _ids(url, "E-001")  # one visit in December: flagged
    assert (task.rule, task.level) == ("few_visits", "red")
    # The task (raised to red by the new rule) carries the changed playbook; the deadline counts from then.
    assert (task.playbook["deadline_hours"], task.playbook["actions_en"][0]) == (12, steps.split("\n")[0])
    page.goto(f"{base}/risk")
    row = page.locator('tr[data-customer="E-001"]')
    expect(row).to_contain_text("Visits in 60 days: 1")
    shot(page, "indicators-06-risk-list-en")
    page.goto(f"{base}/customers/{customer}")
    expect(page.locator("#section-alerts")).to_contain_text("Few visits")
    expect(page.locator("#section-alerts")).to_contain_text("Visits in 60 days: 1")
    shot(page, "indicators-07-customer-en")
    page.goto(f"{base}/tasks/{task.id}")
    expect(page.locator(".task .rule")).to_have_text("Few visits")
    expect(page.locator(".task .steps")).to_contain_text("Director visits the buyer this week")
    shot(page, "indicators-08-task-en")

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
    shot(page, "indicators-08b-edit-preview-zh")
    page.goto(f"{base}/rules/new")
    page.fill("#pick-r-0", "拜访")
    choice = page.locator('.field-choice[data-field="visits_60d"]')
    expect(choice).to_contain_text("近60天拜访次数")
    shot(page, "indicators-09-rule-field-list-zh")
    page.goto(f"{base}/rules/general.few_visits")
    expect(page.locator("#field-r-0")).to_contain_text("近60天拜访次数")
    expect(page.locator("#check-valid")).to_contain_text("当前命中")
    shot(page, "indicators-10-rule-zh")
    page.goto(f"{base}/settings#template-retail")
    expect(page.locator("#playbook-retail-red")).to_contain_text("时限（小时）")
    page.locator("#playbook-retail-red summary").click()
    page.locator("#playbook-retail-red").screenshot(path=str(ARTIFACTS / "indicators-11-playbook-zh.png"))
    page.goto(f"{base}/risk")
    expect(page.locator('tr[data-customer="E-001"]')).to_contain_text("近60天拜访 1 次")
    shot(page, "indicators-12-risk-list-zh")
    page.goto(f"{base}/customers/{customer}")
    expect(page.locator("#section-alerts")).to_contain_text("拜访太少")
    shot(page, "indicators-13-customer-zh")
    page.goto(f"{base}/tasks/{task.id}")
    expect(page.locator(".task .steps")).to_contain_text("总监本周拜访采购负责人")
    shot(page, "indicators-14-task-zh")
    assert errors == []
    print(f"clicks and typing from sign-in to the saved playbook: {clicked:.0f} s")
