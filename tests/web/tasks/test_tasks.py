"""My tasks and the customer 360 section: grouping, filters, follow-up, snooze, close, reassign, tags, notes;
row-level access (a rep of East gets 404 for West's tasks and customers) and CSRF."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from churnradar.intervention.schemas import DueGroup
from churnradar.models import Alert, AuditEntry, Base, CustomerTag, FollowUp, InterventionTask
from churnradar.web.tasks.service import due_bounds, due_group
from tests.conftest import snapshot
from tests.web.conftest import World, bearer, csrf_of
from tests.web.seed_tasks import seed_tasks

HTMX = {"HX-Request": "true"}
WORK_TABLES = ("intervention_tasks", "task_events", "follow_ups", "customer_tags", "audit_log")


def _state(world: World) -> tuple[object, ...]:
    """The data tables and every table a task change writes, to assert that a refusal changed nothing."""
    tables = Base.metadata.tables
    with world.engine.connect() as conn:
        work = [sorted(tuple(map(str, r)) for r in conn.execute(select(tables[t]))) for t in WORK_TABLES]
    return (snapshot(world.engine), *work)


@pytest.fixture
def tasks(world: World) -> dict[str, int]:
    return seed_tasks(world.engine, world.settings)


def _task(world: World, task_id: int) -> InterventionTask:
    with world.engine.connect() as conn:
        return conn.execute(select(InterventionTask).where(InterventionTask.id == task_id)).one()  # type: ignore[return-value]


def _signed(client_for: Callable[[str], TestClient], login: str) -> tuple[TestClient, str]:
    client = client_for(login)
    return client, csrf_of(client.get("/tasks").text)


class TestDueGroups:
    def test_today_ends_at_local_midnight(self) -> None:
        now = datetime(2026, 11, 23, 14, 0)  # 22:00 in Shanghai
        bounds = due_bounds(now, ZoneInfo("Asia/Shanghai"))
        assert bounds.tomorrow == datetime(2026, 11, 23, 16, 0)
        assert due_group(datetime(2026, 11, 23, 13, 59), bounds) == DueGroup.OVERDUE
        assert due_group(now, bounds) == DueGroup.OVERDUE
        assert due_group(datetime(2026, 11, 23, 15, 59), bounds) == DueGroup.TODAY
        assert due_group(datetime(2026, 11, 23, 16, 0), bounds) == DueGroup.UPCOMING


class TestMyTasks:
    def test_a_rep_sees_a_row_per_own_task_and_its_page_with_the_playbook(
        self, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        rep = client_for("rep_east")
        page = rep.get("/tasks").text
        assert f'<tr class="task-row" id="task-{tasks["E-001"]}"' in page
        assert 'id="group-overdue"' in page
        assert f'href="/tasks/{tasks["E-001"]}"' in page
        for foreign in ("W-001", "R-001", "E-002"):
            assert f'id="task-{tasks[foreign]}"' not in page, foreign
        assert "Westfield" not in page
        own = rep.get(f"/tasks/{tasks['E-001']}").text
        assert "Call the decision maker" in own  # the playbook's steps
        assert 'id="task-history"' in own
        assert 'action="/tasks/{}/follow-up"'.format(tasks["E-001"]) in own
        assert 'name="assignee"' not in own  # reps do not reassign

    def test_a_manager_sees_the_team_and_filters_by_owner_level_and_due(
        self, world: World, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        manager = client_for("mgr_east")
        page = manager.get("/tasks").text
        for own in ("E-001", "E-002", "R-001"):
            assert f'id="task-{tasks[own]}"' in page, own
        assert f'id="task-{tasks["W-001"]}"' not in page
        assert (
            page.index('id="group-overdue"')
            < page.index('id="group-today"')
            < page.index('id="group-upcoming"')
        )
        narrowed = manager.get("/tasks", params={"owner": world.ids.users["rep_east2"]}).text
        assert f'id="task-{tasks["E-002"]}"' in narrowed
        assert f'id="task-{tasks["E-001"]}"' not in narrowed
        red = manager.get("/tasks", params={"level": "red"}).text
        assert f'id="task-{tasks["E-001"]}"' in red
        assert f'id="task-{tasks["R-001"]}"' not in red
        today = manager.get("/tasks", params={"due": "today"}, headers=HTMX | {"HX-Target": "task-list"}).text
        assert "<html" not in today
        assert f'id="task-{tasks["E-002"]}"' in today
        assert f'id="task-{tasks["E-001"]}"' not in today
        closed = manager.get("/tasks", params={"status": "closed"}).text
        assert f'id="task-{tasks["E-003"]}"' in closed
        assert f'id="task-{tasks["E-001"]}"' not in closed

    def test_pages_keep_the_filter(
        self, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        manager = client_for("mgr_east")
        first = manager.get("/tasks", params={"per_page": 2, "status": "all"}).text
        assert "1 / 2" in first
        assert 'href="/tasks?status=all&amp;page=2&amp;per_page=2" rel="next"' in first
        second = manager.get("/tasks", params={"per_page": 2, "status": "all", "page": 2}).text
        keys = ("E-001", "E-002", "E-003", "R-001")
        on_first = {key for key in keys if f'id="task-{tasks[key]}"' in first}
        on_second = {key for key in keys if f'id="task-{tasks[key]}"' in second}
        assert len(on_first) == len(on_second) == 2
        assert on_first | on_second == set(keys)
        assert manager.get("/tasks", params={"status": "", "level": ""}).status_code == 200

    def test_deadlines_are_shown_in_the_locale(
        self, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        client, token = _signed(client_for, "rep_east")
        client.post("/language", data={"locale": "zh_CN", "csrf_token": token})
        page = client.get("/tasks").text
        assert "逾期" in page
        own = client.get(f"/tasks/{tasks['E-001']}").text
        assert "致电决策人" in own
        assert "记录跟进" in own
        assert "任务已创建" in own  # its history

    def test_a_task_says_why_in_the_readers_language(
        self,
        world: World,
        tasks: dict[str, int],
        client_for: Callable[[str], TestClient],
        token_for: Callable[..., str],
    ) -> None:
        task_id = tasks["E-001"]
        reasons = {
            "reason_en": "No order for 74 days, 3.1 times the usual gap",
            "reason_zh": "已 74 天未下单，是其通常下单间隔的 3.1 倍",
        }
        days = {"opened_on": date(2026, 11, 16), "last_fired_on": date(2026, 11, 23)}
        with world.engine.begin() as conn:
            task = InterventionTask
            customer_id = conn.execute(select(task.customer_id).where(task.id == task_id)).scalar_one()
            alert = insert(Alert).values(
                customer_id=customer_id, rule="orders_stopped", template="general", level="red",
                status="open", last_evaluated_on=date(2026, 11, 23), false_streak=0, **days, **reasons,
            )  # fmt: skip
            alert_id = conn.execute(alert).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(update(task).where(task.id == task_id).values(alert_id=alert_id))
        client, token = _signed(client_for, "rep_east")
        assert reasons["reason_en"] in client.get("/tasks").text
        client.post("/language", data={"locale": "zh_CN", "csrf_token": token})
        page = client.get("/tasks").text
        assert reasons["reason_zh"] in page
        assert reasons["reason_en"] not in page
        api = bearer(token_for("rep_east"))
        assert client.get(f"/api/v1/tasks/{task_id}", headers=api).json()["reason_en"] == reasons["reason_en"]
        listed = client.get("/api/v1/tasks", headers=api).json()["items"]
        assert {t["id"]: t["reason_zh"] for t in listed}[task_id] == reasons["reason_zh"]
        assert all(t["reason_en"] is None for t in listed if t["id"] != task_id)  # no alert behind them


class TestChanges:
    def test_a_follow_up_is_stored_and_appears_on_the_customer_page(
        self, world: World, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        client, token = _signed(client_for, "rep_east")
        task_id = tasks["E-001"]
        response = client.post(
            f"/tasks/{task_id}/follow-up",
            data={
                "csrf_token": token,
                "channel": "call",
                "notes": "Budget freeze until Q1",
                "next_step": "Send the renewal offer",
                "next_step_on": "2030-01-15",
                "actions_done": ["0"],
            },
            headers=HTMX,
        )
        assert response.status_code == 200
        assert f'id="task-{task_id}"' in response.text
        assert "<html" not in response.text
        assert 'role="status" id="task-status">Follow-up saved.<' in response.text
        assert "Steps done: Call the decision maker</div>" in response.text  # the ticked playbook step
        with world.engine.connect() as conn:
            (follow_up,) = conn.execute(select(FollowUp)).all()  # the htmx one; the plain one follows
        assert (follow_up.channel, follow_up.actions_done, follow_up.created_by) == ("call", [0], "rep_east")
        assert _task(world, task_id).next_follow_up_at == datetime(2030, 1, 15, 9, 0)  # 09:00 UTC zone
        # Without htmx: back to the task's page, which says so and marks the note just saved.
        plain = client.post(
            f"/tasks/{task_id}/follow-up",
            data={"csrf_token": token, "channel": "email", "notes": "Sent the offer"},
            follow_redirects=False,
        )
        assert plain.status_code == 303
        location = plain.headers["location"]
        assert location.startswith(f"/tasks/{task_id}?done=follow_up&saved=")
        shown = client.get(location.split("#")[0]).text
        assert "Follow-up saved." in shown
        assert 'class="saved"><strong>' in shown
        assert '<span class="muted">Rep East</span>' in shown  # the author by name, not login
        assert "Follow-up logged · Rep East" in shown  # the task's history
        assert shown.index("Sent the offer") < shown.index("Budget freeze until Q1")  # newest first
        page = client.get(f"/customers/{world.ids.customers['E-001']}").text
        assert 'id="section-tasks"' in page
        assert "Budget freeze until Q1" in page
        assert "Send the renewal offer" in page

    def test_a_bad_follow_up_names_the_field_and_changes_nothing(
        self, world: World, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        client, token = _signed(client_for, "rep_east")
        before = _state(world)
        response = client.post(
            f"/tasks/{tasks['E-001']}/follow-up",
            data={"csrf_token": token, "channel": "pigeon", "notes": "x"},
        )
        assert response.status_code == 422
        assert "channel" in response.text
        assert _state(world) == before

    def test_close_needs_an_outcome(
        self, world: World, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        client, token = _signed(client_for, "rep_east")
        task_id = tasks["E-001"]
        refused = client.post(f"/tasks/{task_id}/close", data={"csrf_token": token, "note": "done"})
        assert refused.status_code == 422
        assert "outcome" in refused.text
        assert _task(world, task_id).status == "open"
        inline = client.post(f"/tasks/{task_id}/close", data={"csrf_token": token}, headers=HTMX)
        assert 'role="alert"' in inline.text
        closed = client.post(
            f"/tasks/{task_id}/close",
            data={"csrf_token": token, "outcome": "retained", "note": "signed again"},
            follow_redirects=False,
        )
        assert closed.status_code == 303
        task = _task(world, task_id)
        assert (task.status, task.outcome, task.close_note, task.closed_by) == (
            "closed",
            "retained",
            "signed again",
            "rep_east",
        )
        again = client.post(f"/tasks/{task_id}/close", data={"csrf_token": token, "outcome": "churned"})
        assert again.status_code == 422
        assert _task(world, task_id).outcome == "retained"
        with world.engine.connect() as conn:
            actions = [a for (a,) in conn.execute(select(AuditEntry.action))]
        assert actions.count("task.close") == 1

    def test_snooze_holds_the_task_until_a_day(
        self, world: World, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        client, token = _signed(client_for, "rep_east")
        task_id = tasks["E-001"]
        data = {"csrf_token": token, "until": "2030-02-01", "reason": "customer on holiday"}
        assert client.post(f"/tasks/{task_id}/snooze", data=data, follow_redirects=False).status_code == 303
        task = _task(world, task_id)
        assert task.snoozed_until == datetime(2030, 2, 1, 9, 0)
        assert task.snooze_reason == "customer on holiday"
        no_reason = client.post(f"/tasks/{task_id}/snooze", data={"csrf_token": token, "until": "2031-01-01"})
        assert no_reason.status_code == 422

    def test_a_rep_cannot_reassign_and_a_manager_only_within_reach(
        self, world: World, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        rep, rep_token = _signed(client_for, "rep_east")
        task_id = tasks["E-001"]
        target = str(world.ids.users["rep_east2"])
        refused = rep.post(f"/tasks/{task_id}/reassign", data={"csrf_token": rep_token, "assignee": target})
        assert refused.status_code == 403
        assert _task(world, task_id).assignee_id == world.ids.users["rep_east"]
        manager, token = _signed(client_for, "mgr_east")
        outside = str(world.ids.users["rep_west"])
        assert (
            manager.post(
                f"/tasks/{task_id}/reassign", data={"csrf_token": token, "assignee": outside}
            ).status_code
            == 422
        )
        moved = manager.post(
            f"/tasks/{task_id}/reassign", data={"csrf_token": token, "assignee": target}, headers=HTMX
        )
        assert moved.status_code == 200
        assert "Rep East2" in moved.text
        assert _task(world, task_id).assignee_id == world.ids.users["rep_east2"]

    def test_a_task_given_to_someone_outside_the_customers_team_is_theirs_to_work(
        self, world: World, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        admin, token = _signed(client_for, "admin")
        task_id = tasks["W-001"]
        data = {"csrf_token": token, "assignee": str(world.ids.users["rep_east"])}
        assert admin.post(f"/tasks/{task_id}/reassign", data=data, follow_redirects=False).status_code == 303
        rep, rep_token = _signed(client_for, "rep_east")
        assert f'id="task-{task_id}"' in rep.get("/tasks").text
        follow_up = {"csrf_token": rep_token, "channel": "call", "notes": "Took it over"}
        assert (
            rep.post(f"/tasks/{task_id}/follow-up", data=follow_up, follow_redirects=False).status_code == 303
        )
        # The customer itself stays out of reach (row-level access follows ownership, not assignment).
        assert rep.get(f"/customers/{world.ids.customers['W-001']}").status_code == 404

    def test_tags_and_notes_on_the_customer_page(
        self, world: World, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        client, token = _signed(client_for, "rep_east")
        customer = world.ids.customers["E-001"]
        added = client.post(
            "/tags", data={"csrf_token": token, "customer_id": customer, "text": "续约谈判"}, headers=HTMX
        )
        assert added.status_code == 200
        assert "续约谈判" in added.text
        assert "<html" not in added.text
        client.post("/tags/remove", data={"csrf_token": token, "customer_id": customer, "text": "重点跟进"})
        client.post("/notes", data={"csrf_token": token, "customer_id": customer, "text": "Prefers WeChat"})
        with world.engine.connect() as conn:
            tags = [
                t for (t,) in conn.execute(select(CustomerTag.tag).where(CustomerTag.customer_id == customer))
            ]
        assert tags == ["续约谈判"]
        page = client.get(f"/customers/{customer}").text
        assert "Prefers WeChat" in page
        assert "续约谈判" in page
        assert "重点跟进" not in page
        empty = client.post("/tags", data={"csrf_token": token, "customer_id": customer, "text": "  "})
        assert empty.status_code == 422
        # A closed task keeps notes too; a customer without any task takes none, and says why.
        closed_only = world.ids.customers["E-003"]
        client.post("/notes", data={"csrf_token": token, "customer_id": closed_only, "text": "Lost on price"})
        assert "Lost on price" in client.get(f"/customers/{closed_only}").text
        admin, admin_token = _signed(client_for, "admin")
        lonely = {"csrf_token": admin_token, "customer_id": world.ids.customers["N-001"], "text": "x"}
        refused = admin.post("/notes", data=lonely)
        assert refused.status_code == 422
        assert "no task yet" in refused.text


class TestRowLevelAccess:
    def test_a_rep_of_east_gets_404_for_wests_tasks_and_customers(
        self, world: World, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        client, token = _signed(client_for, "rep_east")
        before = _state(world)
        for foreign in ("W-001", "R-001", "E-002"):
            task_id = tasks[foreign]
            for action, data in (
                ("follow-up", {"channel": "call", "notes": "x"}),
                ("snooze", {"until": "2030-01-01", "reason": "x"}),
                ("close", {"outcome": "retained"}),
            ):
                response = client.post(f"/tasks/{task_id}/{action}", data={"csrf_token": token, **data})
                assert response.status_code == 404, (foreign, action)
            assert client.get(f"/tasks/{task_id}").status_code == 404, foreign
        for foreign in ("W-001", "W-002", "N-001"):
            customer = world.ids.customers[foreign]
            for path in ("/tags", "/tags/remove", "/notes"):
                response = client.post(path, data={"csrf_token": token, "customer_id": customer, "text": "x"})
                assert response.status_code == 404, (foreign, path)
        assert _state(world) == before

    def test_the_section_shows_only_on_customers_the_user_may_see(
        self, world: World, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        rep = client_for("rep_west")
        assert rep.get(f"/customers/{world.ids.customers['E-001']}").status_code == 404
        own = rep.get(f"/customers/{world.ids.customers['W-001']}").text
        assert 'id="section-tasks"' in own
        assert f'href="/tasks/{tasks["W-001"]}"' in own  # the customer's own open task
        assert f'href="/tasks/{tasks["E-001"]}"' not in own  # never another customer's

    def test_every_task_change_needs_the_sessions_csrf_token(
        self, world: World, tasks: dict[str, int], client_for: Callable[[str], TestClient]
    ) -> None:
        client = client_for("mgr_east")
        before = _state(world)
        task_id = tasks["E-001"]
        for path in ("follow-up", "snooze", "close", "reassign"):
            data = {
                "channel": "call",
                "notes": "x",
                "outcome": "retained",
                "until": "2030-01-01",
                "reason": "x",
            }
            for sent in (None, "forged-token-forged-token-forged-token"):
                form = data if sent is None else {**data, "csrf_token": sent}
                assert client.post(f"/tasks/{task_id}/{path}", data=form).status_code == 403, (path, sent)
        assert _state(world) == before
