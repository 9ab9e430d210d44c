"""In Chromium: an admin adds the task route "red on enterprise -> director" on the settings page (a wrong
one is refused with its place named), a red alert on an enterprise customer is evaluated, and the task is
the director's while the owner is told too; the same pages in Chinese. Screenshots in
test-artifacts/web/routing-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
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
from tests.web.browser import ARTIFACTS, browser, expect, serve_seeded, shot, sign_in_page

__all__ = ["browser"]  # fixtures used by the test below
NOW = datetime(2026, 12, 7, 8, 0)


def _section(page: object, selector: str, name: str) -> None:
    """A screenshot of one section of the long settings page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(selector).screenshot(path=str(ARTIFACTS / f"{name}.png"))  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("routing")
    with serve_seeded(folder) as base:
        yield base, folder / "churnradar.db"


def _evaluate_red(db: Path, external_id: str) -> int:
    """A red alert for the customer, applied as an evaluation does; its task's id."""
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
    return int(task.id)


def test_a_route_added_in_the_ui_gives_the_enterprise_red_task_to_the_director_and_tells_the_owner(
    store: tuple[str, Path], browser: object
) -> None:
    base, db = store
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, base, "admin")
    page.goto(f"{base}/settings#task-routes")
    form = page.locator("#task-route-form")
    form.locator("input[name=name]").fill("red on enterprise")
    form.locator("input[name=levels][value=red]").check()
    form.locator("input[name=segments]").fill("enterprise")
    form.locator("input[name=teams]").fill("Nowhere")
    form.locator("select[name=assign_to]").select_option("owner_director")
    form.locator("input[name=notify][value=owner]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#route-error")).to_contain_text("routes[0].teams: unknown team 'Nowhere'")
    _section(page, "#task-routes", "routing-01-refused-en")

    form = page.locator("#task-route-form")
    form.locator("input[name=name]").fill("red on enterprise")
    form.locator("input[name=levels][value=red]").check()
    form.locator("input[name=segments]").fill("enterprise")
    form.locator("select[name=assign_to]").select_option("owner_director")
    form.locator("input[name=notify][value=owner]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/settings#task-routes")
    row = page.locator('#task-routes-table tr[data-route="red on enterprise"]')
    expect(row).to_contain_text("the owner's director")
    expect(row).to_contain_text("enterprise")
    _section(page, "#task-routes", "routing-02-route-added-en")

    task_id = _evaluate_red(db, "E-002")  # enterprise, owned by rep_east2 (manager mgr_east, no director)
    page.goto(f"{base}/tasks")
    task = page.locator(f"#task-{task_id}")
    expect(task.locator(".assignee")).to_have_text("Director")
    shot(page, "routing-03-task-en")
    page.goto(f"{base}/settings#outbox")
    outbox = page.locator("#outbox")
    expect(outbox).to_contain_text("director@example.com")
    expect(outbox).to_contain_text("rep_east2@example.com")
    _section(page, "#outbox", "routing-04-recipients-en")

    page.select_option("#language-select", "zh_CN")
    page.wait_for_selector("html[lang=zh-CN]")
    page.goto(f"{base}/settings#task-routes")
    zh_row = page.locator('#task-routes-table tr[data-route="red on enterprise"]')
    expect(zh_row).to_contain_text("负责人的总监")
    expect(zh_row.locator("td.text-cell")).to_have_text("红色; 客户分群 大型企业")  # names, not stored values
    # Each level's checkbox label on one line (they broke after every character in a narrow grid cell).
    red = page.locator("#task-route-form label.inline", has=page.locator("input[name=levels][value=red]"))
    size = page.evaluate(
        "(el) => [el.getBoundingClientRect().height, parseFloat(getComputedStyle(el).lineHeight) || 20]",
        red.element_handle(),
    )
    assert size[0] < 1.8 * size[1], size
    _section(page, "#task-routes", "routing-05-routes-zh")
    page.goto(f"{base}/tasks")
    expect(page.locator(f"#task-{task_id} .assignee")).to_have_text("Director")
    shot(page, "routing-06-task-zh")
    assert errors == []
    context.close()
