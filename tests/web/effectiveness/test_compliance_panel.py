"""The overview's deadline-compliance panel: due tasks per month, those closed on time, overdue ones."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.web.conftest import World
from tests.web.seed_tasks import seed_tasks


def _panel(html: str) -> str:
    part = html[html.index('id="deadline-compliance"') :]
    return part[: part.index("</section>")]


def _rows(panel: str) -> list[tuple[str, ...]]:
    return re.findall(
        r'<tr data-month="([\d-]+)"><td>[\d-]+</td><td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>'
        r'<td class="num">([^<]*)</td>',
        panel,
    )


def test_compliance_counts_due_and_on_time_tasks_in_the_users_scope(
    world: World, client_for: Callable[[str], TestClient]
) -> None:
    seed_tasks(world.engine, world.settings)
    # Due so far: E-001 (open, two hours past its deadline) and E-003 (closed ten days after its deadline).
    months = {
        (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m"),
        (datetime.now(UTC) - timedelta(days=20)).strftime("%Y-%m"),
    }
    admin = _panel(client_for("admin").get("/").text)
    assert "1 open task is past its deadline." in admin
    rows = _rows(admin)
    assert {month for month, *_ in rows} == months
    assert sum(int(due) for _, due, _, _ in rows) == 2
    assert all(on_time == "0" and share == "0%" for _, _, on_time, share in rows)
    # West's only task is not due yet: nothing to count, nothing overdue.
    west = _panel(client_for("rep_west").get("/").text)
    assert "No open task is past its deadline." in west
    assert _rows(west) == []
    assert "No task deadline has passed yet." in west
    chinese = _panel(client_for("mgr_east").get("/", headers={"accept-language": "zh-CN"}).text)
    assert "1 个未关闭的任务已超过截止时间。" in chinese
