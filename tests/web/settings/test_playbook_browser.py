"""In Chromium: an admin changes the red playbook's deadline on the settings page, and the next red task
takes it (the open ones keep theirs); screenshots in English and Chinese in /work/screens/playbooks/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.intervention import repository as task_repo
from churnradar.intervention import service as intervention_service
from churnradar.models import Customer
from churnradar.rule.templates import load_templates
from tests.intervention.helpers import step_result
from tests.web.browser import browser, expect, serve_seeded, sign_in_page

__all__ = ["browser"]  # fixtures used by the test below
SCREENS = Path("/work/screens/playbooks")
NOW = datetime(2026, 12, 7, 8, 0)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("playbooks")
    with serve_seeded(folder) as base:
        yield base, folder / "churnradar.db"


def _shot(page: object, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _red_task(db: Path, external_id: str) -> tuple[int, datetime]:
    """A red alert for the customer, applied as an evaluation would; its task's id and deadline."""
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        customer_id = conn.execute(
            select(Customer.id).where(Customer.external_id == external_id)
        ).scalar_one()
        intervention_service.apply(
            conn,
            step_result(
                [{"customer_id": customer_id, "rule": "r1", "level": "red"}], [(customer_id, "r1", "opened")]
            ),
            as_of=date(2026, 12, 7),
            now=NOW,
            templates=load_templates(),
            settings=Settings(environment="test", secret_key="b" * 40),  # type: ignore[arg-type]
        )
        task = task_repo.open_tasks(conn, [customer_id])[customer_id]
    engine.dispose()
    return int(task.id), task.deadline_at


def test_the_red_playbooks_deadline_changed_in_the_ui_is_taken_by_the_next_red_task(
    store: tuple[str, Path], browser: object
) -> None:
    base, db = store
    _first, before = _red_task(db, "E-001")
    assert before == NOW + timedelta(hours=24)
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, base, "admin")
    page.goto(f"{base}/settings")
    form = page.locator("#playbook-general-red")
    form.locator("input[name=deadline_hours]").fill("-4")
    form.locator("button[type=submit]").click()
    expect(page.locator("#playbook-general-red .error")).to_contain_text("deadline_hours")
    _shot(page, "01-settings-refused-en")
    form = page.locator("#playbook-general-red")
    form.locator("input[name=deadline_hours]").fill("8")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/settings#template-general")
    expect(page.locator("#playbook-general-red input[name=deadline_hours]")).to_have_value("8")
    page.locator("#playbook-general-red").scroll_into_view_if_needed()
    _shot(page, "02-settings-saved-en")

    task_id, after = _red_task(db, "E-002")
    assert after == NOW + timedelta(hours=8)
    with create_engine(f"sqlite:///{db}").connect() as conn:
        kept = conn.execute(select(Customer.id).where(Customer.external_id == "E-001")).scalar_one()
        assert task_repo.open_tasks(conn, [kept])[kept].deadline_at == before  # open tasks keep theirs
    page.goto(f"{base}/tasks")
    expect(page.locator(f"#task-{task_id}")).to_be_visible()
    _shot(page, "03-next-red-task-en")

    page.select_option("#language-select", "zh_CN")
    page.wait_for_selector("html[lang=zh-CN]")
    page.goto(f"{base}/settings")
    expect(page.locator("#playbook-general-red")).to_contain_text("时限（小时）")
    _shot(page, "04-settings-zh")
    page.goto(f"{base}/tasks")
    expect(page.locator(f"#task-{task_id}")).to_be_visible()
    _shot(page, "05-next-red-task-zh")
    assert errors == []
    context.close()
