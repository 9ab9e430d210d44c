"""Task routes: the first matching route picks the assignee and who else is told, the owner (the strategy)
when none matches; routes are checked whole with each wrong one located, stored in order, and audited."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from churnradar.cli.main import app
from churnradar.intervention import repository as task_repo
from churnradar.intervention import routes
from churnradar.intervention import service as intervention_service
from churnradar.intervention.exceptions import RoutingError
from churnradar.models import AuditEntry, Customer, OutboxMessage, TaskEvent, User
from churnradar.rule.templates import load_templates
from tests.intervention.helpers import NOW, make_settings, seed, step_result

TEMPLATES = load_templates()
RED_ENTERPRISE = {
    "name": "red on enterprise",
    "levels": ["red"],
    "segments": ["Enterprise"],
    "assign_to": "owner_director",
    "notify": ["owner"],
}


def _facts(**given: Any) -> routes.TaskFacts:
    values: dict[str, Any] = dict.fromkeys(("segment", "tier", "industry", "team"))
    return routes.TaskFacts(**({"rule": "r1", "level": "red"} | values | given))


class TestMatching:
    ROUTES = (
        routes.TaskRoute.model_validate(RED_ENTERPRISE),
        routes.TaskRoute(
            name="saas orange", levels=["orange"], industries=["saas"], assign_to="team_manager"
        ),
        routes.TaskRoute(name="every red", levels=["red"], assign_to="owner_manager"),
    )

    def test_the_first_route_whose_every_criterion_holds_wins_text_compared_without_case(self) -> None:
        found = routes.first_match(self.ROUTES, _facts(segment=" enterprise "))
        assert found is not None
        assert found.name == "red on enterprise"
        found = routes.first_match(self.ROUTES, _facts(segment="SMB"))
        assert found is not None
        assert found.name == "every red"  # the later, wider route
        assert routes.first_match(self.ROUTES, _facts(level="orange", industry="retail")) is None
        found = routes.first_match(self.ROUTES, _facts(level="orange", industry="SaaS"))
        assert found is not None
        assert found.name == "saas orange"


@pytest.fixture
def people(engine: Engine) -> Engine:
    seed(engine)
    with engine.begin() as conn:  # dora (1) directs mia (2), who manages ray (3) and sam (5)
        conn.execute(update(User).where(User.id == 2).values(manager_id=1))
        conn.execute(update(Customer).where(Customer.id == 10).values(segment="Enterprise"))
    return engine


def _save(engine: Engine, entries: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        routes.save(session, None, entries, now=NOW)
        session.commit()


def _open(engine: Engine, customer_id: int, level: str) -> Any:
    rows = [{"customer_id": customer_id, "rule": "r1", "level": level}]
    with engine.begin() as conn:
        intervention_service.apply(
            conn,
            step_result(rows, [(customer_id, "r1", "opened")]),
            as_of=date(2026, 6, 15),
            now=NOW,
            templates=TEMPLATES,
            settings=make_settings(),
        )
    with engine.connect() as conn:
        return task_repo.open_tasks(conn, [customer_id])[customer_id]


def _told(engine: Engine, customer_id: int) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage.receiver, OutboxMessage.payload))
        return sorted(r for r, payload in rows if f"#{customer_id})" in str(payload["lines"]))


def test_red_on_an_enterprise_customer_goes_to_the_owner_s_director_and_the_owner_is_told(
    people: Engine,
) -> None:
    _save(people, [{**RED_ENTERPRISE, "notify": ["owner"]}])
    task = _open(people, 10, "red")
    assert task.assignee_id == 1  # dora, above ray's manager mia
    assert "email:dora@example.com" in _told(people, 10)
    assert "email:ray@example.com" in _told(people, 10)
    with people.connect() as conn:
        detail = conn.execute(select(TaskEvent.detail).where(TaskEvent.task_id == task.id)).scalar_one()
    assert detail["route"] == "red on enterprise"
    # No route matches an SMB customer: the owner gets it, as without routes.
    assert _open(people, 13, "red").assignee_id == 5


def test_a_route_naming_nobody_falls_back_to_the_owner(people: Engine) -> None:
    _save(people, [{"name": "team lead", "assign_to": "team_manager"}])
    with people.begin() as conn:  # the team's only manager leaves
        conn.execute(update(User).where(User.id == 2).values(is_active=False))
    assert _open(people, 10, "yellow").assignee_id == 3


class TestRefused:
    @pytest.mark.parametrize(
        ("entries", "message"),
        [
            (
                [{**RED_ENTERPRISE, "levels": ["purple"]}],
                "routes[0].levels: Value error, unknown level 'purple'",
            ),
            ([RED_ENTERPRISE, {"name": "x", "teams": ["nobody"]}], "routes[1].teams: unknown team 'nobody'"),
            (
                [RED_ENTERPRISE, {**RED_ENTERPRISE, "segments": []}],
                "routes[1].name: 'red on enterprise' is used",
            ),
            ([{"name": "y", "assign_to": "ceo"}], "routes[0].assign_to: Input should be"),
        ],
    )
    def test_a_wrong_route_is_located_and_nothing_is_stored(
        self, people: Engine, entries: list[dict[str, Any]], message: str
    ) -> None:
        _save(people, [{"name": "kept"}])
        with pytest.raises(RoutingError) as caught:
            _save(people, entries)
        assert message in str(caught.value)
        with people.connect() as conn:
            assert [r.name for r in routes.stored(conn)] == ["kept"]


def test_routes_round_trip_through_yaml_in_order_and_every_change_is_audited(people: Engine) -> None:
    _save(people, [RED_ENTERPRISE, {"name": "every red", "levels": ["red"], "assign_to": "owner_manager"}])
    with Session(people) as session:
        text = routes.export_yaml(session, None)
        session.commit()
    document = yaml.safe_load(text)
    assert [r["name"] for r in document["routes"]] == ["red on enterprise", "every red"]
    document["routes"].reverse()
    with Session(people) as session:
        assert routes.import_yaml(session, None, yaml.safe_dump(document), now=NOW) == 2
        session.commit()
        with pytest.raises(RoutingError, match="line 3"):
            routes.import_yaml(session, None, "routes:\n  - [unclosed\n", now=NOW)
    with people.connect() as conn:
        assert [r.name for r in routes.stored(conn)] == ["every red", "red on enterprise"]
        actions = [(a, e) for a, e in conn.execute(select(AuditEntry.action, AuditEntry.entity))]
    assert actions.count(("update", "task_routes")) == 2
    assert ("export", "task_routes") in actions


def test_playbook_and_route_commands_export_edit_and_import(people: Engine, tmp_path: Path) -> None:
    url = people.url.render_as_string(hide_password=False)

    def run(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(app, [*args, "--db", url])
        assert result.exit_code == code, result.output
        return result.output

    document = yaml.safe_load(run("playbook", "export"))
    red = next(p for p in document["playbooks"] if (p["template"], p["level"]) == ("general", "red"))
    red["deadline_hours"] = 5
    (tmp_path / "books.yaml").write_text(yaml.safe_dump({"playbooks": [red]}), encoding="utf-8")
    assert "1 playbooks stored" in run("playbook", "import", str(tmp_path / "books.yaml"))
    listed = json.loads(run("playbook", "list", "--json"))
    stored = next(p for p in listed if (p["template"], p["level"]) == ("general", "red"))
    assert (stored["deadline_hours"], stored["source"]) == (5, "stored")

    (tmp_path / "routes.yaml").write_text(yaml.safe_dump({"routes": [RED_ENTERPRISE]}), encoding="utf-8")
    assert "1 routes stored" in run("route", "import", str(tmp_path / "routes.yaml"))
    assert yaml.safe_load(run("route", "export"))["routes"][0]["assign_to"] == "owner_director"
    (tmp_path / "bad.yaml").write_text("routes:\n- name: x\n  levels: [purple]\n", encoding="utf-8")
    assert "routes[0].levels" in run("route", "import", str(tmp_path / "bad.yaml"), code=1)
