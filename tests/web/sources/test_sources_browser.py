"""An admin defines a REST source in the browser (en, then zh), pointing at a real CRM API on 127.0.0.1:
a misspelt field is marked where it is, the schedule's next runs show as it is typed, then Test, Sync now
and the ledger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.source.crm_api import CrmApi, serve
from tests.web.browser import browser, expect, server, shot, sign_in_page

__all__ = ["browser", "server"]  # fixtures used by the test below


@pytest.fixture(scope="module")
def crm() -> Iterator[CrmApi]:
    """Three customers in pages of two."""
    api = CrmApi(
        records={"customers": [{"customer_id": f"REST-{i}", "name": f"Rest Customer {i}"} for i in range(3)]},
        style="page",
        size=2,
    )
    with serve(api) as running:
        yield running


def _define(page: object, server: str, crm: CrmApi, name: str) -> None:
    """Fill the new REST source form: a wrong base URL first, then the right one."""
    page.goto(f"{server}/admin/sources")  # type: ignore[attr-defined]
    page.click("#new-rest")  # type: ignore[attr-defined]
    page.fill("#f-name", name)  # type: ignore[attr-defined]
    page.fill("#f-schedule", "0 6 * * 1-5")  # type: ignore[attr-defined]
    expect(page.locator("#next-runs li")).to_have_count(5)  # type: ignore[attr-defined]
    page.fill("#f-options-base_url", "ftp://crm.example")  # type: ignore[attr-defined]
    page.select_option("#f-options-pagination-style", "page")  # type: ignore[attr-defined]
    page.fill("#f-options-pagination-size", "2")  # type: ignore[attr-defined]
    page.fill("#f-options-endpoints-customers-path", "/customers")  # type: ignore[attr-defined]
    page.fill("#f-options-endpoints-customers-records", "data.items")  # type: ignore[attr-defined]
    page.click("#save-source")  # type: ignore[attr-defined]
    expect(page.locator("#error-options-base_url")).to_be_visible()  # type: ignore[attr-defined]
    shot(page, f"sources-{name}-refused")
    page.fill("#f-options-base_url", crm.url)  # type: ignore[attr-defined]
    page.click("#save-source")  # type: ignore[attr-defined]
    page.wait_for_url(f"{server}/admin/sources/{name}?saved=1")  # type: ignore[attr-defined]


def test_define_test_and_sync_a_rest_source_in_english_and_chinese(
    server: str, browser: object, crm: CrmApi
) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in_page(page, server, "admin")
    _define(page, server, crm, "crm-api")
    shot(page, "sources-01-saved")
    page.click("#test-source")
    expect(page.locator("#source-result")).to_have_text(
        "Test of crm-api: reached; customers (2 on the first page)"
    )
    page.click("#sync-source")
    expect(page.locator("#source-result")).to_have_text("Synced crm-api: 3 rows read, 3 inserted, 0 updated.")
    expect(page.locator("#ledger tr.run-succeeded")).to_have_count(1)
    shot(page, "sources-02-synced-ledger")
    context.close()

    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in_page(page, server, "admin")
    page.goto(f"{server}/admin/sources/new?kind=rest")
    expect(page.locator("legend").first).to_have_text("来源")
    _define(page, server, crm, "crm-zh")
    expect(page.locator("#source-result")).to_have_text("已保存。")
    page.click("#test-source")
    expect(page.locator("#source-result")).to_have_text(
        "crm-zh 测试成功：reached; customers (2 on the first page)"
    )
    page.click("#sync-source")
    expect(page.locator("#source-result")).to_have_text("crm-zh 已同步：读取 3 行，新增 0 行，更新 0 行。")
    expect(page.locator("#ledger tr.run-succeeded")).to_have_count(1)
    shot(page, "sources-03-zh-ledger")
    page.goto(f"{server}/admin/sources")
    expect(page.locator("#sources tbody tr")).to_have_count(2)
    shot(page, "sources-04-zh-list")
    context.close()
