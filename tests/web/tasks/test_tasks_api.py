"""The tasks REST API: filters and pages, detail, follow-ups, close, reassign; scopes and row-level access."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth.schemas import Scope
from churnradar.models import InterventionTask
from tests.web.conftest import World, bearer
from tests.web.seed_tasks import seed_tasks


@pytest.fixture
def tasks(world: World) -> dict[str, int]:
    return seed_tasks(world.engine, world.settings)


def _status(world: World, task_id: int) -> tuple[str, str | None, int | None]:
    with world.engine.connect() as conn:
        row = conn.execute(
            select(InterventionTask.status, InterventionTask.outcome, InterventionTask.assignee_id).where(
                InterventionTask.id == task_id
            )
        ).one()
    return row.status, row.outcome, row.assignee_id


FOLLOW_UP = {"contacted_on": "2026-11-20", "channel": "visit", "notes": "Met the buyer", "actions_done": [1]}


class TestReading:
    def test_list_filters_and_pages_within_scope(
        self, tasks: dict[str, int], anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        manager = bearer(token_for("mgr_east"))
        body = anonymous.get("/api/v1/tasks", headers=manager).json()
        assert sorted(t["customer_id"] for t in body["items"]) == ["E-001", "E-002", "R-001"]
        assert body["items"][0]["customer_id"] == "E-001"  # soonest deadline first
        assert body["items"][0]["due"] == "overdue"
        assert body["items"][0]["actions_zh"] == ["致电决策人", "约一次回顾会议"]
        first = anonymous.get("/api/v1/tasks", params={"per_page": 2}, headers=manager).json()
        second = anonymous.get("/api/v1/tasks", params={"per_page": 2, "page": 2}, headers=manager).json()
        assert (first["total"], first["pages"], len(first["items"]), len(second["items"])) == (3, 2, 2, 1)
        assert {t["id"] for t in first["items"]}.isdisjoint({t["id"] for t in second["items"]})
        due = anonymous.get("/api/v1/tasks", params={"due": "upcoming"}, headers=manager).json()
        assert [t["customer_id"] for t in due["items"]] == ["R-001"]
        closed = anonymous.get("/api/v1/tasks", params={"status": "closed"}, headers=manager).json()
        assert [(t["customer_id"], t["outcome"]) for t in closed["items"]] == [("E-003", "churned")]
        everyone = anonymous.get(
            "/api/v1/tasks", params={"status": "all"}, headers=bearer(token_for("admin"))
        )
        assert everyone.json()["total"] == 5
        bad = anonymous.get("/api/v1/tasks", params={"due": "yesterday"}, headers=manager)
        assert bad.status_code == 422

    def test_get_shows_follow_ups_and_hides_other_teams_tasks(
        self, tasks: dict[str, int], anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        rep = bearer(token_for("rep_east"))
        own = anonymous.get(f"/api/v1/tasks/{tasks['E-001']}", headers=rep)
        assert own.status_code == 200
        assert own.json()["follow_ups"] == []
        for foreign in ("W-001", "R-001", "E-002"):
            response = anonymous.get(f"/api/v1/tasks/{tasks[foreign]}", headers=rep)
            assert response.status_code == 404, foreign
            assert foreign not in response.text
        assert anonymous.get("/api/v1/tasks/999999", headers=rep).status_code == 404


class TestChanging:
    def test_follow_up_and_close_need_the_write_scope(
        self, world: World, tasks: dict[str, int], anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        task_id = tasks["E-001"]
        read_only = bearer(token_for("rep_east", Scope.READ))
        response = anonymous.post(f"/api/v1/tasks/{task_id}/follow-ups", json=FOLLOW_UP, headers=read_only)
        assert response.status_code == 403
        writer = bearer(token_for("rep_east", Scope.READ, Scope.WRITE))
        created = anonymous.post(f"/api/v1/tasks/{task_id}/follow-ups", json=FOLLOW_UP, headers=writer)
        assert created.status_code == 201, created.text
        assert (created.json()["channel"], created.json()["created_by"]) == ("visit", "rep_east")
        detail = anonymous.get(f"/api/v1/tasks/{task_id}", headers=writer).json()
        assert [f["notes"] for f in detail["follow_ups"]] == ["Met the buyer"]
        wrong = anonymous.post(
            f"/api/v1/tasks/{task_id}/follow-ups", json={**FOLLOW_UP, "actions_done": [7]}, headers=writer
        )
        assert wrong.status_code == 422
        assert "action number 7" in wrong.json()["detail"]
        no_outcome = anonymous.post(f"/api/v1/tasks/{task_id}/close", json={"note": "x"}, headers=writer)
        assert no_outcome.status_code == 422
        assert _status(world, task_id)[0] == "open"
        closed = anonymous.post(
            f"/api/v1/tasks/{task_id}/close", json={"outcome": "false_alarm"}, headers=writer
        )
        assert closed.status_code == 200
        assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "false_alarm")
        again = anonymous.post(f"/api/v1/tasks/{task_id}/close", json={"outcome": "retained"}, headers=writer)
        assert again.status_code == 422
        assert _status(world, task_id)[1] == "false_alarm"

    def test_snooze_holds_the_task_and_needs_a_reason_and_the_write_scope(
        self, world: World, tasks: dict[str, int], anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        task_id = tasks["E-001"]
        body = {"until": "2030-02-01", "reason": "customer on holiday"}
        read_only = bearer(token_for("rep_east", Scope.READ))
        refused = anonymous.post(f"/api/v1/tasks/{task_id}/snooze", json=body, headers=read_only)
        assert refused.status_code == 403
        writer = bearer(token_for("rep_east", Scope.READ, Scope.WRITE))
        no_reason = anonymous.post(
            f"/api/v1/tasks/{task_id}/snooze", json={"until": "2030-02-01", "reason": ""}, headers=writer
        )
        assert no_reason.status_code == 422
        snoozed = anonymous.post(f"/api/v1/tasks/{task_id}/snooze", json=body, headers=writer)
        assert snoozed.status_code == 200, snoozed.text
        with world.engine.connect() as conn:
            row = conn.execute(
                select(InterventionTask.snoozed_until, InterventionTask.snooze_reason).where(
                    InterventionTask.id == task_id
                )
            ).one()
        assert (row.snoozed_until, row.snooze_reason) == (datetime(2030, 2, 1, 9, 0), "customer on holiday")

    def test_changes_to_other_teams_tasks_are_404(
        self, world: World, tasks: dict[str, int], anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        writer = bearer(token_for("rep_east", Scope.WRITE))
        task_id = tasks["W-001"]
        posts = [
            ("follow-ups", FOLLOW_UP),
            ("close", {"outcome": "retained"}),
            ("snooze", {"until": "2030-01-02", "reason": "x"}),
        ]
        for path, body in posts:
            assert (
                anonymous.post(f"/api/v1/tasks/{task_id}/{path}", json=body, headers=writer).status_code
                == 404
            )
        assert _status(world, task_id) == ("open", None, world.ids.users["rep_west"])

    def test_only_managers_reassign_and_only_to_people_they_manage(
        self, world: World, tasks: dict[str, int], anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        task_id = tasks["E-001"]
        rep = bearer(token_for("rep_east", Scope.WRITE))
        refused = anonymous.post(
            f"/api/v1/tasks/{task_id}/reassign", json={"assignee": "rep_east2"}, headers=rep
        )
        assert refused.status_code == 403
        manager = bearer(token_for("mgr_east", Scope.WRITE))
        outside = anonymous.post(
            f"/api/v1/tasks/{task_id}/reassign", json={"assignee": "rep_west"}, headers=manager
        )
        assert outside.status_code == 422
        unknown = anonymous.post(
            f"/api/v1/tasks/{task_id}/reassign", json={"assignee": "ghost"}, headers=manager
        )
        assert unknown.status_code == 422
        west = anonymous.post(
            f"/api/v1/tasks/{tasks['W-001']}/reassign", json={"assignee": "rep_east"}, headers=manager
        )
        assert west.status_code == 404
        moved = anonymous.post(
            f"/api/v1/tasks/{task_id}/reassign", json={"assignee": "rep_east2"}, headers=manager
        )
        assert moved.status_code == 200
        assert moved.json()["assignee"] == "rep_east2"
        queued = anonymous.post(f"/api/v1/tasks/{task_id}/reassign", json={"assignee": None}, headers=manager)
        assert queued.json()["assignee"] is None
        assert _status(world, task_id)[2] is None

    def test_the_openapi_document_describes_the_task_routes(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        document = anonymous.get("/api/v1/openapi.json", headers=bearer(token_for("rep_east"))).json()
        paths = document["paths"]
        assert {"get"} <= set(paths["/api/v1/tasks"])
        for path in ("/api/v1/tasks/{task_id}/follow-ups", "/api/v1/tasks/{task_id}/close"):
            assert "post" in paths[path]
        assert "retained" in str(document["components"]["schemas"]["Outcome"])
