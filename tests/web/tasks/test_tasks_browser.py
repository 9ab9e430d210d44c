"""My tasks in a real browser, in English then Chinese: the compact list, a task's own page, a follow-up saved
with its confirmation and the note shown, a task closed; the customer 360 page takes a tag."""

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


def _log_follow_up(page: object, notes: str, saved: str) -> None:
    form = page.locator("details.follow-up form")  # type: ignore[attr-defined]
    form.locator("select[name=channel]").select_option("visit")
    form.locator("textarea[name=notes]").fill(notes)
    form.locator("input[name=next_step]").fill("Send the renewal offer")
    form.locator("input[name=next_step_on]").fill("2030-01-15")
    form.locator("input[name=actions_done][value='0']").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#task-status")).to_have_text(saved)  # type: ignore[attr-defined]
    expect(page.locator("#follow-ups li.saved")).to_contain_text(notes)  # type: ignore[attr-defined]


def test_list_task_page_and_follow_up_in_english_and_chinese(task_server: str, browser: object) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, task_server, "rep_east")
    page.click("nav >> text=My tasks")
    page.wait_for_url(f"{task_server}/tasks")
    row = page.locator("tr.task-row", has_text="Eastwind Trading")
    expect(page.locator("#group-overdue")).to_contain_text("Eastwind Trading")  # overdue rows come first
    expect(page.locator("tr.task-row").first).to_contain_text("Overdue")
    shot(page, "tasks-01-list-en")

    row.locator("a.task-link").click()
    page.wait_for_url(f"{task_server}/tasks/*")
    task_url = page.url
    expect(page.locator(".steps")).to_contain_text("Call the decision maker")
    expect(page.locator("#task-history")).to_contain_text("Task opened")
    _log_follow_up(page, "Met the buyer; budget is frozen until Q1", "Follow-up saved.")
    expect(page.locator("#task-history")).to_contain_text("Follow-up logged")
    assert page.url == task_url  # htmx swapped the page's body in place
    shot(page, "tasks-02-task-page-en")

    # In Chinese: the list, the same task's page, another follow-up and its confirmation.
    page.select_option("#language-select", "zh_CN")
    page.wait_for_selector("html[lang=zh-CN]")
    page.goto(f"{task_server}/tasks")
    expect(page.locator("h1")).to_have_text("我的任务")
    expect(page.locator("#group-overdue")).to_contain_text("逾期")
    shot(page, "tasks-03-list-zh")
    page.locator("tr.task-row", has_text="Eastwind Trading").locator("a.task-link").click()
    page.wait_for_url(task_url)
    expect(page.locator(".steps")).to_contain_text("致电决策人")
    _log_follow_up(page, "客户答应下周回复", "跟进已保存。")
    expect(page.locator("#follow-ups")).to_contain_text("Met the buyer")
    shot(page, "tasks-04-task-page-zh")

    # Closing shows the outcome and the confirmation; the forms are gone.
    page.locator("details.close summary").click()
    page.locator("select[name=outcome]").select_option("retained")
    page.locator("details.close button[type=submit]").click()
    expect(page.locator("#task-status")).to_have_text("任务已关闭。")
    expect(page.locator("details.close")).to_have_count(0)
    assert errors == []
    context.close()
