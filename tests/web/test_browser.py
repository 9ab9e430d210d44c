"""The dashboard in a real browser: Debian's Chromium driven by Playwright against `churnradar serve`."""

from __future__ import annotations

from tests.web.browser import browser, expect, server, shot, sign_in_page
from tests.web.seed import PASSWORD, XSS_NAME

__all__ = ["browser", "server"]  # fixtures used by the tests below


def test_sign_in_filter_open_a_customer_and_switch_to_chinese(server: str, browser: object) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/customers")
    assert "/login?next=%2Fcustomers" in page.url
    shot(page, "01-login")
    page.fill("input[name=login]", "mgr_east")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/customers")

    # Filter: htmx swaps the table and pushes the filter into the address bar.
    assert page.locator("#result-count").inner_text() == "4 customers"
    page.select_option("select[name=industry]", "retail")
    page.wait_for_url("**/customers?*industry=retail*")
    expect(page.locator("#result-count")).to_have_text("2 customers")
    names = page.locator("a.customer-link").all_inner_texts()
    assert sorted(names) == ["Eastwind Trading", "Roaming Rep Account"]
    page.fill("#q", "eastwind")
    expect(page.locator("#result-count")).to_have_text("1 customer")
    shot(page, "02-customers-filtered")

    # Customer 360: profile, contracts and the indicators by family, collapsed. Leaving the search
    # box sends no second search: its answer would push the list's address over the 360 page's load.
    searches: list[str] = []
    page.on("request", lambda request: searches.append(request.url) if "/customers?" in request.url else None)
    page.click("text=Eastwind Trading")
    page.wait_for_selector("#customer-name")
    assert searches == []
    assert page.locator("#customer-name").inner_text() == "Eastwind Trading"
    orders = page.locator("details[data-family=orders]")
    orders.locator("summary").click()
    expect(orders.locator("tr[data-indicator=orders_90d] svg.spark")).to_be_visible()
    page.click("#events a[rel=next]")
    expect(page.locator("#events .pager span")).to_have_text("Page 2 of 3")
    shot(page, "03-customer-360")

    # Switch to Chinese: the choice sticks for this user.
    page.select_option("#language-select", "zh_CN")
    page.wait_for_selector("html[lang=zh-CN]")
    assert page.locator("#profile h2").inner_text() == "客户资料"
    assert "签约日期" in page.locator("#profile").inner_text()
    shot(page, "04-customer-360-zh")
    page.goto(f"{server}/")
    assert page.locator("h1").inner_text() == "概览"
    shot(page, "05-overview-zh")
    assert errors == []
    context.close()


def test_phone_layout_and_an_inert_script_name(server: str, browser: object) -> None:
    context = browser.new_context(  # type: ignore[attr-defined]
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in_page(page, server, "admin")
    # The menu is one line that scrolls sideways, not a fifth of the screen; the risk filters show search
    # and level, the rest behind "More filters".
    page.goto(f"{server}/risk")
    assert page.locator("header.topbar").bounding_box()["height"] < 110
    filters = page.locator("#filters")
    assert filters.bounding_box()["height"] < 250
    expect(page.locator("#filters label.extra").first).to_be_hidden()
    page.click("#filters .more-filters")
    expect(page.locator("#filters label.extra").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "06-phone-risk-filters")
    page.goto(f"{server}/customers?q=alert")
    link = page.locator("a.customer-link")
    assert link.inner_text() == XSS_NAME  # shown as text
    # Nothing overflows sideways on a phone: the page is as wide as the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "06-phone-customers")
    link.click()
    page.wait_for_selector("#customer-name")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "07-phone-customer-xss")
    assert dialogs == []
    context.close()
