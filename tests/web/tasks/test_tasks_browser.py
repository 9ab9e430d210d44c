"""My tasks in a real browser: open the list, log a follow-up, close with an outcome, see the 360 page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.browser import browser, expect, serve_seeded, shot, sign_in_page
from tests.web.seed_tasks import seed_tasks

__all__ = ["browser"]  # fixture used below


@pytest.fixture(scope="module")
def task_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_seeded(tmp_path_factory.mktemp("tasks-browser"), seed_tasks) as base:
        yield base


def test_log_a_follow_up_and_close_a_task(task_server: str, browser: object) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, task_server, "rep_east")
    page.click("nav >> text=My tasks")
    page.wait_for_url(f"{task_server}/tasks")
    card = page.locator("article.task", has_text="Eastwind Trading")
    expect(card).to_be_visible()
    expect(page.locator("#group-overdue")).to_contain_text("Eastwind Trading")
    expect(card).to_contain_text("Call the decision maker")
    shot(page, "tasks-01-my-tasks")

    # Log a follow-up: htmx posts the form and swaps the card in place, with the next follow-up date.
    card.locator("details.follow-up summary").click()
    card.locator("select[name=channel]").select_option("visit")
    card.locator("textarea[name=notes]").fill("Met the buyer; budget is frozen until Q1")
    card.locator("input[name=next_step]").fill("Send the renewal offer")
    card.locator("input[name=next_step_on]").fill("2030-01-15")
    card.locator("input[name=actions_done][value='0']").check()
    shot(page, "tasks-02-follow-up-form")
    card.locator("details.follow-up button[type=submit]").click()
    expect(card).to_contain_text("Next follow-up")
    expect(card.locator("dd", has_text="1/15/30")).to_have_count(1)  # 09:00 local that day, en-US
    assert "/tasks" in page.url

    # Closing without an outcome is stopped by the form; with one, the card shows the outcome.
    card.locator("details.close summary").click()
    card.locator("select[name=outcome]").select_option("retained")
    card.locator("input[name=note]").fill("Renewed for a year")
    card.locator("details.close button[type=submit]").click()
    expect(card.locator(".outcome")).to_contain_text("retained")
    expect(card.locator("details.close")).to_have_count(0)
    shot(page, "tasks-03-closed")

    # The customer 360 page shows the closed task, the follow-up in the timeline, and takes a tag.
    card.locator("a.task-customer").click()
    page.wait_for_selector("#section-tasks")
    expect(page.locator("#follow-ups")).to_contain_text("Met the buyer")
    expect(page.locator("#section-tasks .customer-tasks")).to_contain_text("retained")
    page.fill("#tag-text", "续约")
    page.click("#section-tasks form[action='/tags'] button")
    expect(page.locator("#tags")).to_contain_text("续约")
    shot(page, "tasks-04-customer-360")
    assert errors == []
    context.close()
