"""The high-risk list in a real browser: a manager filters by level and assigns two customers at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.browser import browser, expect, serve_seeded, shot, sign_in_page
from tests.web.seed_risk import seed_risk

__all__ = ["browser"]  # the fixture used below


@pytest.fixture(scope="module")
def risk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`churnradar serve` over the web seed with alerts, risk rows, a task and tags."""
    folder: Path = tmp_path_factory.mktemp("risk-browser")
    with serve_seeded(folder, seed_risk) as base:
        yield base


LEVEL_COLOURS = {"red": "#d32f2f", "orange": "#f57c00", "yellow": "#fbc02d"}  # app.css --level-*


def assert_level_charts(page: object) -> None:
    """One stacked chart of customers per level, each level in its colour, on a count axis from zero."""
    colours = page.evaluate(  # type: ignore[attr-defined]
        """() => {
          const css = getComputedStyle(document.documentElement);
          const svg = document.querySelector("#alerts-trend-charts .chart svg");
          const painted = [...svg.querySelectorAll("path")]
            .flatMap(p => [p.getAttribute("fill"), p.getAttribute("stroke")]);
          const bars = [...document.querySelectorAll("#alerts-levels .bar > span")]
            .map(b => getComputedStyle(b).backgroundColor);
          return {
            css: ["red", "orange", "yellow"].map(l => css.getPropertyValue("--level-" + l).trim()),
            painted: painted.filter(Boolean).map(c => c.toLowerCase()),
            bars: bars,
            charts: document.querySelectorAll("#alerts-trend-charts .chart").length,
            labels: [...svg.querySelectorAll("text")].map(t => t.textContent),
          };
        }"""
    )
    assert colours["css"] == list(LEVEL_COLOURS.values())
    assert colours["charts"] == 1
    for colour in LEVEL_COLOURS.values():
        assert colour in colours["painted"], colour
    assert colours["bars"] == ["rgb(211, 47, 47)", "rgb(245, 124, 0)", "rgb(251, 192, 45)"]
    assert "0" in colours["labels"]  # the count axis starts at zero
    # The weekly flow charts draw their lines (in the theme's palette) on count axes from zero too.
    flow = page.evaluate(  # type: ignore[attr-defined]
        """() => [...document.querySelectorAll("#alerts-flow-charts .chart svg")].map(svg => ({
            lines: [...svg.querySelectorAll("path")].map(p => p.getAttribute("stroke")),
            zero: [...svg.querySelectorAll("text")].some(t => t.textContent === "0"),
        }))"""
    )
    assert len(flow) == 2
    assert all(chart["zero"] and "#5070dd" in chart["lines"] for chart in flow), flow  # the palette's first


def test_a_manager_filters_by_level_and_assigns_two_customers(risk_server: str, browser: object) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, risk_server, "mgr_east")

    # The overview's alert panels: counts per level and the ECharts trend drawn from JSON.
    expect(page.locator("#alerts-levels tr[data-level=red] td.num").first).to_have_text("1")
    page.wait_for_selector("#alerts-trend-charts .chart svg")
    assert_level_charts(page)
    shot(page, "risk-01-overview-panels")

    page.click("nav >> text=High risk")
    page.wait_for_url(f"{risk_server}/risk")
    # The list opens on the customers with a warning, worst first; all customers are one click away.
    expect(page.locator("#result-count")).to_have_text("2 customers")
    rows = page.locator("#risk-table tbody tr")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.customer)") == ["E-001", "E-002"]
    shot(page, "risk-02-warned-first")
    page.click("#show-all")
    expect(page.locator("#result-count")).to_have_text("3 customers")
    expect(page.locator("#level-filter")).to_have_value("all")

    # Filter by level: htmx swaps the table and pushes the filter into the address bar.
    page.select_option("#level-filter", "any")
    page.wait_for_url("**/risk?*level=any*")
    expect(page.locator("#result-count")).to_have_text("2 customers")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.customer)") == ["E-001", "E-002"]

    # Assign before choosing a person: the list says so, visibly, and nothing changes.
    page.click("tr[data-customer=E-001] button[name=one]")
    expect(page.locator("#risk-flash")).to_have_text(
        "Choose the person to assign to first, then press Assign."
    )
    assert "level=any" in page.url
    expect(page.locator("tr[data-customer=E-001] td.owner")).to_have_text("Rep East")
    shot(page, "risk-07-assign-without-person")

    # Bulk: check both rows, choose a rep, assign; the list comes back filtered, with the owners changed.
    page.check("tr[data-customer=E-001] input[type=checkbox]")
    page.check("tr[data-customer=E-002] input[type=checkbox]")
    page.select_option("#assign-owner", "rep_roaming")
    page.click("#assign-checked")
    expect(page.locator("#risk-flash")).to_have_text("2 customers assigned to rep_roaming.")
    assert "level=any" in page.url
    expect(page.locator("tr[data-customer=E-001] td.owner")).to_have_text("Rep Roaming")
    expect(page.locator("tr[data-customer=E-002] td.owner")).to_have_text("Rep Roaming")
    shot(page, "risk-03-assigned")

    # One click: choose the owner once, press Assign on one row.
    page.select_option("#assign-owner", "rep_east")
    page.click("tr[data-customer=E-002] button[name=one]")
    expect(page.locator("#risk-flash")).to_have_text("1 customer assigned to rep_east.")
    expect(page.locator("tr[data-customer=E-002] td.owner")).to_have_text("Rep East")
    expect(page.locator("tr[data-customer=E-001] td.owner")).to_have_text("Rep Roaming")

    # The customer's 360 page: the alerts section with history, resolved alerts collapsed.
    page.click("text=Eastwind Trading")
    page.wait_for_selector("#section-alerts")
    expect(page.locator("#open-alerts li.alert")).to_have_count(1)
    assert not page.locator("#resolved-alerts").evaluate("d => d.open")
    page.click("#resolved-alerts summary")
    expect(page.locator("#resolved-alerts li.alert")).to_have_count(1)
    shot(page, "risk-04-customer-alerts")
    assert errors == []
    context.close()


def test_the_risk_list_in_chinese_opens_on_warned_customers(risk_server: str, browser: object) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in_page(page, risk_server, "mgr_east")
    page.wait_for_selector("#alerts-trend-charts .chart svg")
    assert_level_charts(page)
    expect(page.locator("#alerts-reasons tr[data-rule=order_gap] td").first).to_have_text("订单中断")
    shot(page, "risk-06-zh-overview")
    page.goto(f"{risk_server}/risk")
    expect(page.locator("#level-filter option:checked")).to_have_text("有预警的客户")
    expect(page.locator("#show-all")).to_have_text("显示全部客户")
    shot(page, "risk-05-zh-warned-first")
    # A task's row names its rule in Chinese, never by its id.
    page.goto(f"{risk_server}/tasks")
    expect(page.locator("tr.task-row .rule").first).to_have_text("订单中断")
    shot(page, "risk-08-zh-task-card")
    page.goto(f"{risk_server}/effectiveness")
    shot(page, "risk-09-zh-effectiveness")
    context.close()
