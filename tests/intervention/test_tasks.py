"""Tasks from alert steps, assignment, escalation, tags, deadlines and follow-ups, with a fake clock."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.intervention import jobs
from churnradar.intervention import repository as task_repo
from churnradar.intervention import service as intervention_service
from churnradar.intervention.exceptions import TaskError
from churnradar.intervention.schemas import ContactChannel, FollowUpCreate, Outcome
from churnradar.kit.clock import FrozenClock
from churnradar.models import OutboxMessage
from churnradar.rule.schemas import Template
from churnradar.rule.templates import load_templates
from tests.intervention.helpers import NOW, make_settings, seed, step_result

TEMPLATES = load_templates()


def _apply(engine: Engine, rows: list[dict[str, Any]], events: list[tuple[int, str, str]], **kw: Any) -> Any:
    settings = kw.pop("settings", make_settings())
    templates: dict[str, Template] = kw.pop("templates", TEMPLATES)
    with engine.begin() as conn:
        return intervention_service.apply(
            conn,
            step_result(rows, events),
            as_of=kw.pop("as_of", date(2026, 6, 15)),
            now=kw.pop("now", NOW),
            templates=templates,
            settings=settings,
        )


def _task(engine: Engine, customer_id: int) -> Any:
    with engine.connect() as conn:
        return task_repo.open_tasks(conn, [customer_id]).get(customer_id)


def _outbox(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(r.event, r.receiver, r.subject) for r in rows]


@pytest.fixture
def people(engine: Engine) -> Engine:
    seed(engine)
    return engine


class TestCreate:
    def test_red_alert_gives_the_owner_a_task_with_playbook_and_deadline(self, people: Engine) -> None:
        summary = _apply(people, [{"customer_id": 10, "rule": "r1", "level": "red"}], [(10, "r1", "opened")])
        assert summary.created == 1
        task = _task(people, 10)
        assert task.assignee_id == 3
        assert task.level == "red"
        assert task.role == "director"
        assert task.deadline_at == NOW + timedelta(hours=24)
        assert task.next_follow_up_at == NOW + timedelta(hours=24)
        assert task.playbook["actions_en"][0].startswith("Director calls")
        # Red's playbook puts the director on duty: the assignee, their manager and the directors hear of it.
        assert _outbox(people) == [
            ("alert_opened", "email:ray@example.com", "churnradar: 1 new churn warning(s)"),
            ("alert_opened", "email:mia@example.com", "churnradar: 1 new churn warning(s)"),
            ("alert_opened", "email:dora@example.com", "churnradar: 1 new churn warning(s)"),
        ]

    def test_orange_tells_owner_and_manager_yellow_the_owner(self, people: Engine) -> None:
        rows = [
            {"customer_id": 10, "rule": "r1", "level": "orange"},
            {"customer_id": 13, "rule": "r1", "level": "yellow"},
        ]
        _apply(people, rows, [(10, "r1", "opened"), (13, "r1", "opened")])
        assert [r for _, r, _ in _outbox(people)] == [
            "email:ray@example.com",
            "email:mia@example.com",
            "email:sam@example.com",
        ]

    def test_inactive_or_missing_owner_goes_to_the_queue(self, people: Engine) -> None:
        rows = [{"customer_id": c, "rule": "r1", "level": "yellow"} for c in (11, 12)]
        _apply(people, rows, [(11, "r1", "opened"), (12, "r1", "opened")])
        assert _task(people, 11).assignee_id is None
        assert _task(people, 12).assignee_id is None
        # Unassigned work is the queue of the team's manager: one message listing both customers.
        assert _outbox(people) == [
            ("alert_opened", "email:mia@example.com", "churnradar: 2 new churn warning(s)")
        ]

    def test_round_robin_balances_the_team(self, people: Engine) -> None:
        settings = make_settings()
        settings.interventions.assignment = "round_robin"
        rows = [{"customer_id": c, "rule": "r1", "level": "yellow"} for c in (11, 12)]
        _apply(people, rows, [(11, "r1", "opened"), (12, "r1", "opened")], settings=settings)
        assert {_task(people, 11).assignee_id, _task(people, 12).assignee_id} == {3, 5}

    def test_muted_alerts_make_no_task(self, people: Engine) -> None:
        rows = [{"customer_id": 10, "rule": "r1", "level": "yellow", "muted": "capped"}]
        assert _apply(people, rows, [(10, "r1", "opened")]).created == 0
        assert _task(people, 10) is None

    def test_business_hours_deadline(self, people: Engine) -> None:
        settings = make_settings()
        settings.interventions.business_hours.enabled = True
        _apply(
            people,
            [{"customer_id": 10, "rule": "r1", "level": "yellow"}],
            [(10, "r1", "opened")],
            settings=settings,
        )
        # Monday 08:00 UTC + 48 business hours (09:00-18:00 UTC, 45 h to Friday) = next Monday 12:00.
        assert _task(people, 10).deadline_at == NOW.replace(day=22, hour=12)

    def test_rules_add_and_remove_tags(self, people: Engine) -> None:
        general = TEMPLATES["general"]
        rule = general.rules[0].model_copy(
            update={"tags_add": ["流失风险", "重点跟进"], "tags_remove": ["稳定"]}
        )
        templates = {"general": general.model_copy(update={"rules": [rule]})}
        with people.begin() as conn:
            intervention_service.tag(conn, 10, ["稳定", "vip"], by="mia", now=NOW)
        _apply(
            people,
            [{"customer_id": 10, "rule": rule.slug, "level": "yellow"}],
            [(10, rule.slug, "opened")],
            templates=templates,
        )
        with people.connect() as conn:
            assert task_repo.tags(conn, 10) == ["vip", "流失风险", "重点跟进"]


class TestEscalation:
    def test_escalation_upgrades_the_same_task(self, people: Engine) -> None:
        _apply(people, [{"customer_id": 10, "rule": "r1", "level": "yellow"}], [(10, "r1", "opened")])
        first = _task(people, 10)
        later = NOW + timedelta(days=1)
        summary = _apply(
            people,
            [{"customer_id": 10, "rule": "r1", "level": "orange"}],
            [(10, "r1", "escalated")],
            now=later,
            as_of=date(2026, 6, 16),
        )
        task = _task(people, 10)
        assert summary.upgraded == 1
        assert (task.id, task.level, task.deadline_at) == (first.id, "orange", later + timedelta(hours=72))
        # A lower level from another rule changes nothing.
        assert (
            _apply(
                people, [{"customer_id": 10, "rule": "r2", "level": "yellow"}], [(10, "r2", "opened")]
            ).created
            == 0
        )
        with people.connect() as conn:
            assert [e.kind for e in task_repo.history(conn, task.id)] == ["created", "upgraded"]

    def test_a_task_outlives_its_alert_until_closed(self, people: Engine) -> None:
        _apply(people, [{"customer_id": 10, "rule": "r1", "level": "yellow"}], [(10, "r1", "opened")])
        _apply(people, [], [])  # the alert resolved: no events for the task
        task = _task(people, 10)
        assert task is not None
        with people.begin() as conn:
            intervention_service.close(
                conn, task.id, outcome=Outcome.RETAINED, note="renewed", by="ray", now=NOW
            )
            with pytest.raises(TaskError, match="closed"):
                intervention_service.close(
                    conn, task.id, outcome=Outcome.CHURNED, note=None, by="ray", now=NOW
                )
        assert _task(people, 10) is None
        _apply(people, [{"customer_id": 10, "rule": "r1", "level": "yellow"}], [(10, "r1", "opened")])
        assert _task(people, 10).id != task.id


class TestDeadlines:
    def test_reminder_then_breach_escalates_to_the_manager_once(self, people: Engine) -> None:
        settings = make_settings()
        _apply(people, [{"customer_id": 10, "rule": "r1", "level": "yellow"}], [(10, "r1", "opened")])
        deadline = NOW + timedelta(hours=48)
        quiet = jobs.check_deadlines(
            people, settings=settings, clock=FrozenClock(deadline - timedelta(hours=5))
        )
        assert quiet.as_dict() == {"reminders": 0, "breaches": 0, "follow_ups_due": 0, "notifications": 0}
        reminded = jobs.check_deadlines(
            people, settings=settings, clock=FrozenClock(deadline - timedelta(hours=3))
        )
        assert reminded.reminders == 1
        late = FrozenClock(deadline + timedelta(minutes=1))
        assert jobs.check_deadlines(people, settings=settings, clock=late).breaches == 1
        assert jobs.check_deadlines(people, settings=settings, clock=late).breaches == 0
        task = _task(people, 10)
        assert (task.breached_at, task.escalated_to_id) == (late.now(), 2)
        events = [e for e, _, _ in _outbox(people)]
        assert events.count("deadline_reminder") == 1
        missed = [r for e, r, _ in _outbox(people) if e == "deadline_missed"]
        assert missed == ["email:ray@example.com", "email:mia@example.com"]

    def test_snooze_holds_the_breach(self, people: Engine) -> None:
        _apply(people, [{"customer_id": 10, "rule": "r1", "level": "yellow"}], [(10, "r1", "opened")])
        task = _task(people, 10)
        until = NOW + timedelta(days=5)
        with people.begin() as conn:
            with pytest.raises(TaskError, match="reason"):
                intervention_service.snooze(conn, task.id, until=until, reason=" ", by="ray", now=NOW)
            intervention_service.snooze(
                conn, task.id, until=until, reason="customer on holiday", by="ray", now=NOW
            )
        settings = make_settings()
        assert (
            jobs.check_deadlines(
                people, settings=settings, clock=FrozenClock(NOW + timedelta(days=3))
            ).breaches
            == 0
        )
        assert jobs.check_deadlines(people, settings=settings, clock=FrozenClock(until)).breaches == 1

    def test_red_asks_for_a_daily_follow_up(self, people: Engine) -> None:
        _apply(people, [{"customer_id": 10, "rule": "r1", "level": "red"}], [(10, "r1", "opened")])
        day = jobs.check_deadlines(
            people, settings=make_settings(), clock=FrozenClock(NOW + timedelta(hours=24))
        )
        assert day.follow_ups_due == 1
        assert _task(people, 10).next_follow_up_at == NOW + timedelta(hours=48)


class TestPeople:
    def test_reassign_follow_up_and_close(self, people: Engine) -> None:
        _apply(people, [{"customer_id": 12, "rule": "r1", "level": "orange"}], [(12, "r1", "opened")])
        task = _task(people, 12)
        with people.begin() as conn:
            with pytest.raises(TaskError, match="inactive"):
                intervention_service.reassign(conn, task.id, assignee_id=4, by="mia", now=NOW)
            intervention_service.reassign(
                conn, task.id, assignee_id=5, by="mia", now=NOW, settings=make_settings()
            )
            follow_up = FollowUpCreate(
                contacted_on=date(2026, 6, 16),
                channel=ContactChannel.CALL,
                notes="spoke to the buyer",
                next_step="send offer",
                next_step_on=date(2026, 6, 18),
                actions_done=[0, 2],
            )
            intervention_service.log_follow_up(conn, task.id, follow_up, by="sam", now=NOW)
            with pytest.raises(TaskError, match="no action number 9"):
                intervention_service.log_follow_up(
                    conn, task.id, follow_up.model_copy(update={"actions_done": [9]}), by="sam", now=NOW
                )
            intervention_service.close(
                conn, task.id, outcome=Outcome.FALSE_ALARM, note=None, by="sam", now=NOW
            )
            (saved,) = task_repo.follow_ups(conn, task.id)
            kinds = [e.kind for e in task_repo.history(conn, task.id)]
        assert saved.actions_done == [0, 2]
        assert ("task_assigned", "email:sam@example.com", "churnradar: 1 task(s) assigned to you") in _outbox(
            people
        )
        assert kinds == ["created", "reassigned", "follow_up", "closed"]


def test_an_upgrade_after_a_breach_can_be_breached_again(engine: Engine) -> None:
    seed(engine)
    settings = make_settings()
    _apply(engine, [{"customer_id": 10, "rule": "r1", "level": "yellow"}], [(10, "r1", "opened")])
    late = NOW + timedelta(hours=49)
    assert jobs.check_deadlines(engine, settings=settings, clock=FrozenClock(late)).breaches == 1
    _apply(engine, [{"customer_id": 10, "rule": "r1", "level": "red"}], [(10, "r1", "escalated")], now=late)
    assert _task(engine, 10).breached_at is None
    again = FrozenClock(late + timedelta(hours=25))
    assert jobs.check_deadlines(engine, settings=settings, clock=again).breaches == 1
    with engine.connect() as conn:
        kinds = [e.kind for e in task_repo.history(conn, _task(engine, 10).id)]
    assert (
        kinds == ["created", "breached", "upgraded", "reminded", "breached"] or kinds.count("breached") == 2
    )
