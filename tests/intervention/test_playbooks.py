"""Playbooks stored by admins: checked whole with the field named, taken by new tasks, kept by open ones,
escalating where they say, audited, and round-tripped through YAML."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar.intervention import jobs, playbooks
from churnradar.intervention import repository as task_repo
from churnradar.intervention import service as intervention_service
from churnradar.intervention.exceptions import PlaybookError
from churnradar.kit.clock import FrozenClock
from churnradar.models import AuditEntry, OutboxMessage
from churnradar.rule.templates import load_templates
from tests.intervention.helpers import NOW, make_settings, seed, step_result

TEMPLATES = load_templates()
RED = {
    "role": "director",
    "deadline_hours": 6,
    "follow_up_every_hours": 24,
    "actions_en": ["Call the decision maker"],
    "actions_zh": ["致电决策人"],
}


@pytest.fixture
def people(engine: Engine) -> Engine:
    seed(engine)
    return engine


def _save(engine: Engine, template: str, level: str, body: dict[str, Any]) -> None:
    with Session(engine) as session:
        playbooks.save(session, None, TEMPLATES, template, level, body, now=NOW)
        session.commit()


def _open(engine: Engine, customer_id: int, level: str, *, now: Any = NOW) -> Any:
    rows = [{"customer_id": customer_id, "rule": "r1", "level": level}]
    with engine.begin() as conn:
        intervention_service.apply(
            conn,
            step_result(rows, [(customer_id, "r1", "opened")]),
            as_of=date(2026, 6, 15),
            now=now,
            templates=TEMPLATES,
            settings=make_settings(),
        )
    with engine.connect() as conn:
        return task_repo.open_tasks(conn, [customer_id])[customer_id]


class TestRefused:
    @pytest.mark.parametrize(
        ("template", "level", "body", "message"),
        [
            (
                "general",
                "red",
                {**RED, "deadline_hours": -5},
                "deadline_hours: Input should be greater than 0",
            ),
            ("general", "red", {**RED, "role": "janitor"}, "role: Input should be"),
            ("general", "red", {**RED, "team": "nobody"}, "team: unknown team 'nobody'"),
            ("nowhere", "red", RED, "template: unknown template 'nowhere'"),
            ("general", "purple", RED, "level: unknown level 'purple'"),
            ("general", "red", {**RED, "escalate_to": "ceo"}, "escalate_to: Input should be"),
        ],
    )
    def test_a_wrong_field_is_named_and_nothing_is_stored(
        self, people: Engine, template: str, level: str, body: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(PlaybookError, match=message.replace("(", r"\(")):
            _save(people, template, level, body)
        with people.connect() as conn:
            assert playbooks.stored(conn) == {}


class TestNewTasks:
    def test_the_next_red_task_takes_the_stored_deadline_and_open_tasks_keep_theirs(
        self, people: Engine
    ) -> None:
        before = _open(people, 10, "red")
        assert before.deadline_at == NOW + timedelta(hours=24)
        _save(people, "general", "red", RED)
        later = NOW + timedelta(hours=1)
        after = _open(people, 13, "red", now=later)
        assert after.deadline_at == later + timedelta(hours=6)
        assert after.playbook["actions_zh"] == ["致电决策人"]
        with people.connect() as conn:
            kept = task_repo.open_tasks(conn, [10])[10]
        assert kept.deadline_at == NOW + timedelta(hours=24)
        assert kept.playbook["actions_en"][0].startswith("Director calls")

    def test_a_template_s_own_playbook_wins_over_general_s_stored_one_until_its_own_is_stored(
        self, people: Engine
    ) -> None:
        _save(people, "general", "yellow", {**RED, "role": "owner", "deadline_hours": 30})
        with people.connect() as conn:
            saved = playbooks.stored(conn)
        assert playbooks.in_force(TEMPLATES, saved, "general", "yellow") == (
            saved[("general", "yellow")],
            "stored",
        )
        assert playbooks.in_force(TEMPLATES, saved, "saas", "yellow") == (
            TEMPLATES["saas"].playbooks[0],
            "template",
        )
        _save(people, "saas", "yellow", {**RED, "role": "owner", "deadline_hours": 20})
        with people.connect() as conn:
            saved = playbooks.stored(conn)
        found = playbooks.in_force(TEMPLATES, saved, "saas", "yellow")
        assert found is not None
        assert (found[0].deadline_hours, found[1]) == (20, "stored")

    def test_a_named_team_and_business_hours(self, people: Engine) -> None:
        _save(
            people, "general", "orange", {**RED, "team": "sales", "deadline_hours": 2, "business_hours": True}
        )
        task = _open(people, 10, "orange")  # Monday 08:00 UTC: business hours (UTC, 9-18) start at 09:00
        assert task.team_id == 1
        assert task.deadline_at == NOW + timedelta(hours=3)

    def test_a_missed_deadline_escalates_to_whom_the_playbook_names(self, people: Engine) -> None:
        _save(people, "general", "red", {**RED, "escalate_to": "director"})
        task = _open(people, 10, "red")
        jobs.check_deadlines(people, settings=make_settings(), clock=FrozenClock(NOW + timedelta(hours=7)))
        with people.connect() as conn:
            assert task_repo.open_tasks(conn, [10])[10].escalated_to_id == 1  # dora, not manager mia
        assert task.assignee_id == 3


class TestYaml:
    def test_export_import_round_trip_and_audit(self, people: Engine) -> None:
        _save(people, "general", "red", RED)
        with Session(people) as session:
            text = playbooks.export_yaml(session, None, TEMPLATES)
            session.commit()
        document = yaml.safe_load(text)
        red = next(e for e in document["playbooks"] if (e["template"], e["level"]) == ("general", "red"))
        assert red["deadline_hours"] == 6
        red["deadline_hours"] = 12
        with Session(people) as session:
            count = playbooks.import_yaml(session, None, TEMPLATES, yaml.safe_dump(document), now=NOW)
            session.commit()
        assert count == len(document["playbooks"])
        with people.connect() as conn:
            assert playbooks.stored(conn)[("general", "red")].deadline_hours == 12
            actions = [(a.action, a.entity) for a in conn.execute(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions == [("update", "playbook"), ("export", "playbooks"), ("import", "playbook")]

    def test_one_wrong_entry_refuses_the_document_naming_each(self, people: Engine) -> None:
        document = {
            "playbooks": [
                {"template": "general", "level": "yellow", **RED, "deadline_hours": 8},
                {"template": "general", "level": "red", **RED, "deadline_hours": -1},
                {"template": "general", "level": "orange", **RED, "role": "boss"},
            ]
        }
        with Session(people) as session, pytest.raises(PlaybookError) as caught:
            playbooks.import_yaml(session, None, TEMPLATES, yaml.safe_dump(document), now=NOW)
        assert "playbooks[1].deadline_hours" in str(caught.value)
        assert "playbooks[2].role" in str(caught.value)
        with people.connect() as conn:
            assert playbooks.stored(conn) == {}

    def test_not_yaml_is_located(self, people: Engine) -> None:
        with Session(people) as session, pytest.raises(PlaybookError, match="line 3"):
            playbooks.import_yaml(session, None, TEMPLATES, "playbooks:\n  - [unclosed\n", now=NOW)


def test_notify_widens_who_hears_of_a_new_task(people: Engine) -> None:
    _save(people, "general", "yellow", {**RED, "role": "owner", "notify": ["owner_and_manager"]})
    task = _open(people, 10, "yellow")
    assert task.role == "owner"
    with people.connect() as conn:
        receivers = sorted(r for (r,) in conn.execute(select(OutboxMessage.receiver)))
    assert receivers == ["email:mia@example.com", "email:ray@example.com"]  # the owner and the manager
