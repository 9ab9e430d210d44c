"""The dashboard in a real browser: Debian's Chromium driven by Playwright against `churnradar serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.store import migrate
from tests.conftest import ROOT
from tests.web.seed import PASSWORD, XSS_NAME, seed

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
# Assertions wait up to 20 s (default 5 s): a loaded machine must slow the test down, not fail it.
expect.set_options(timeout=20_000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`churnradar serve` on a free port of 127.0.0.1 over a seeded SQLite database."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("browser tests need Debian's chromium (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'churnradar.db'}"
    engine = create_engine(url)
    migrate(engine)
    settings = Settings(environment="test", secret_key="b" * 40)  # type: ignore[arg-type]
    seed(engine, settings, events_per_customer=60)
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "CHURNRADAR_ENVIRONMENT": "test", "CHURNRADAR_SECRET_KEY": "b" * 40}
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "churnradar", "--db", url, "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # generous: CI machines are shared and sometimes slow to start
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("churnradar serve did not start: " + (folder / "serve.log").read_text())
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless."""
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _sign_in(page: object, base: str, login: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("input[name=login]", login)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/")  # type: ignore[attr-defined]


def test_sign_in_filter_open_a_customer_and_switch_to_chinese(server: str, browser: object) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/customers")
    assert "/login?next=%2Fcustomers" in page.url
    _shot(page, "01-login")
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
    _shot(page, "02-customers-filtered")

    # Customer 360: profile, contracts and the indicator charts drawn by ECharts.
    page.click("text=Eastwind Trading")
    page.wait_for_selector("#customer-name")
    assert page.locator("#customer-name").inner_text() == "Eastwind Trading"
    page.wait_for_selector("#indicator-charts .chart svg")
    assert page.locator("#indicator-charts .chart").count() == 2
    page.click("#events a[rel=next]")
    expect(page.locator("#events .pager span")).to_have_text("Page 2 of 3")
    _shot(page, "03-customer-360")

    # Switch to Chinese: the choice sticks for this user.
    page.select_option("#language-select", "zh_CN")
    page.wait_for_selector("html[lang=zh-CN]")
    assert page.locator("#profile h2").inner_text() == "客户资料"
    assert "签约日期" in page.locator("#profile").inner_text()
    _shot(page, "04-customer-360-zh")
    page.goto(f"{server}/")
    assert page.locator("h1").inner_text() == "概览"
    _shot(page, "05-overview-zh")
    assert errors == []
    context.close()


def test_phone_layout_and_an_inert_script_name(server: str, browser: object) -> None:
    context = browser.new_context(  # type: ignore[attr-defined]
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _sign_in(page, server, "admin")
    page.goto(f"{server}/customers?q=alert")
    link = page.locator("a.customer-link")
    assert link.inner_text() == XSS_NAME  # shown as text
    # Nothing overflows sideways on a phone: the page is as wide as the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "06-phone-customers")
    link.click()
    page.wait_for_selector("#customer-name")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "07-phone-customer-xss")
    assert dialogs == []
    context.close()
