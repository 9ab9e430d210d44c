"""Browser test kit: `churnradar serve` over a seeded database, Debian's Chromium, screenshots, sign-in.

Browser test modules import the fixtures they use: `from tests.web.browser import browser, server`.
A feature that needs more data than `tests.web.seed` gives starts its own server with `serve_seeded`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.store import migrate
from tests.conftest import ROOT
from tests.web.seed import PASSWORD, seed

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


ExtraSeed = Callable[[Engine, Settings], None]


@contextmanager
def serve_seeded(folder: Path, extra: ExtraSeed | None = None) -> Iterator[str]:
    """`churnradar serve` on a free 127.0.0.1 port over `tests.web.seed` plus `extra`; yields the base URL."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("browser tests need Debian's chromium (apt-get install chromium)")
    url = f"sqlite:///{folder / 'churnradar.db'}"
    engine = create_engine(url)
    migrate(engine)
    settings = Settings(environment="test", secret_key="b" * 40)  # type: ignore[arg-type]
    seed(engine, settings, events_per_customer=60)
    if extra is not None:
        extra(engine, settings)
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
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`churnradar serve` over the plain web seed (customers, users, events; no alerts or tasks)."""
    with serve_seeded(tmp_path_factory.mktemp("browser")) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless."""
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def sign_in_page(page: object, base: str, login: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("input[name=login]", login)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/")  # type: ignore[attr-defined]


def settled(page: Any) -> None:
    """Wait until htmx has settled what it last swapped in: it listens to new elements only then, so a click
    or a choice made before would be lost (a person is never that fast; a test under load is)."""
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)
