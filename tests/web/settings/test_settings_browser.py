"""Settings in a real browser, English and Chinese: with no channel, the outbox shows what would be sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.db import session_scope
from churnradar.models import OutboxMessage
from tests.web.browser import browser, expect, serve_seeded, shot, sign_in_page

__all__ = ["browser"]  # the fixture used below


def _queued(engine: Engine, _settings: Settings) -> None:
    at = datetime(2026, 11, 23, 6, 0)
    with session_scope(engine) as session:
        for n, (event, address) in enumerate(
            (("alert_opened", "rep@example.com"), ("digest", "mgr@example.com"))
        ):
            session.add(
                OutboxMessage(
                    dedup_key=f"browser-{n}",
                    event=event,
                    channel="email",
                    receiver=f"email:{address}",
                    address=address,
                    subject=f"churnradar: {n + 2} new churn warnings",
                    payload={},
                    status="pending",
                    attempts=0,
                    next_attempt_at=at,
                    created_at=at,
                )
            )


@pytest.fixture(scope="module")
def outbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("settings-browser")
    with serve_seeded(folder, _queued) as base:
        yield base


@pytest.mark.parametrize(
    ("locale", "heading", "event"), [("en-US", "Outbox", "digest"), ("zh-CN", "发件箱", "摘要")]
)
def test_the_outbox_is_visible_without_a_channel(
    outbox_server: str, browser: object, locale: str, heading: str, event: str
) -> None:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in_page(page, outbox_server, "admin")
    page.goto(f"{outbox_server}/settings")
    expect(page.locator("#no-channel")).to_be_visible()
    expect(page.locator("#outbox h2")).to_have_text(heading)
    expect(page.locator("#outbox tbody tr")).to_have_count(2)
    expect(page.locator("#outbox tbody tr").first.locator("td").nth(1)).to_have_text(event)
    shot(page, f"settings-outbox-{locale}")
    context.close()
