"""Task routes admins keep: who gets a new task and who else is told, by rule, level, segment, tier, industry
or team, instead of only the owner.

Routes are an ordered list stored in the database (YAML export and import as an alternative); the first route
whose every given criterion matches the customer and the alert wins. A route without criteria matches every
task. When no route matches, or the person a route names cannot be found (no director above the owner, an
inactive manager), the assignment strategy of the settings applies (by default the owner).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar import i18n
from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.intervention import repository as task_repo
from churnradar.intervention.assignment import Person, manager_of
from churnradar.intervention.exceptions import RoutingError
from churnradar.kit import yaml_documents
from churnradar.kit.levels import DEFAULT_LEVELS
from churnradar.rule import service as rule_service
from churnradar.rule.template_settings import matches

DOCUMENT = "task_routes"
KEY = "routes"
MAX_ROUTES = 200
# Who a route names, relative to the customer: its owner, the owner's manager, the first director above the
# owner (else the directors' first), or a manager of the customer's team.
Who = Literal["owner", "owner_manager", "owner_director", "team_manager"]
Criterion = list[Annotated[str, Field(min_length=1, max_length=200)]]


class TaskRoute(BaseModel):
    """One route: criteria (each empty one matches anything; values in a list are alternatives), who is
    assigned the task and who else is told of it."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    rules: Criterion = []
    levels: Criterion = []
    segments: Criterion = []
    tiers: Criterion = []
    industries: Criterion = []
    teams: Criterion = []
    assign_to: Who = "owner"
    notify: list[Who] = []

    @field_validator("levels")
    @classmethod
    def _known_levels(cls, value: list[str]) -> list[str]:
        wrong = [level for level in value if level not in DEFAULT_LEVELS]
        if wrong:
            raise ValueError(f"unknown level {wrong[0][:32]!r}; levels are {', '.join(DEFAULT_LEVELS)}")
        return value


@dataclass(frozen=True)
class TaskFacts:
    """What routes match on, for one customer's alert."""

    rule: str
    level: str
    segment: str | None
    tier: str | None
    industry: str | None
    team: str | None


def first_match(routes: Sequence[TaskRoute], facts: TaskFacts) -> TaskRoute | None:
    """The first route whose every criterion holds (text compared without case), or None."""
    for route in routes:
        if (
            matches(route.rules, facts.rule)
            and matches(route.levels, facts.level)
            and matches(route.segments, facts.segment)
            and matches(route.tiers, facts.tier)
            and matches(route.industries, facts.industry)
            and matches(route.teams, facts.team)
        ):
            return route
    return None


def person_for(
    who: str, people: Mapping[int, Person], owner_id: int | None, team_id: int | None
) -> int | None:
    """The active person a route names for a customer, or None when there is none."""
    owner = people.get(owner_id) if owner_id is not None else None
    if who == "owner":
        return owner.id if owner is not None and owner.active else None
    if who == "owner_manager":
        return manager_of(people, owner_id)
    if who == "owner_director":
        seen: set[int] = set()
        current = owner
        while current is not None and current.manager_id is not None and current.manager_id not in seen:
            seen.add(current.manager_id)
            current = people.get(current.manager_id)
            if current is not None and current.active and current.role == "director":
                return current.id
        directors = sorted(p.id for p in people.values() if p.active and p.role == "director")
        return directors[0] if directors else None
    if who == "team_manager":
        team = team_id if team_id is not None else (owner.team_id if owner is not None else None)
        managers = sorted(
            p.id for p in people.values() if p.active and p.role == "manager" and p.team_id == team
        )
        return managers[0] if team is not None and managers else None
    return None


@dataclass(frozen=True)
class Routed:
    """What a route decided: its name, the assignee (None: the strategy decides) and who else is told."""

    route: str
    assignee: int | None
    notify: tuple[int, ...]


def route_task(
    route: TaskRoute, people: Mapping[int, Person], owner_id: int | None, team_id: int | None
) -> Routed:
    """The people a matched route names for one customer; the assignee is not told twice."""
    assignee = person_for(route.assign_to, people, owner_id, team_id)
    told = (person_for(who, people, owner_id, team_id) for who in route.notify)
    notify = tuple(dict.fromkeys(i for i in told if i is not None and i != assignee))
    return Routed(route.name, assignee, notify)


def decide(
    task_routes: Sequence[TaskRoute],
    rule: str,
    level: str,
    customer: Any,
    people: Mapping[int, Person],
    team_names: Mapping[int, str],
) -> Routed | None:
    """What the first matching route decides for a customer's alert (a row with owner_id, team_id, segment,
    tier and industry), or None when no route matches."""
    if not task_routes:
        return None
    team = team_names.get(customer.team_id) if customer.team_id is not None else None
    facts = TaskFacts(rule, level, customer.segment, customer.tier, customer.industry, team)
    route = first_match(task_routes, facts)
    return route_task(route, people, customer.owner_id, customer.team_id) if route else None


def stored(conn: Connection | Session) -> list[TaskRoute]:
    """The routes in their order (none stored: an empty list, so the strategy assigns every task)."""
    body = rule_service.settings_document(conn, DOCUMENT)
    return [TaskRoute.model_validate(item) for item in (body or {}).get("items", [])]


def _joined(problems: Sequence[i18n.Message]) -> i18n.Message:
    """Several refusals as one message, each rendered in the reader's language."""
    joined = problems[-1]
    for problem in reversed(problems[:-1]):
        joined = i18n.msg("{first}; {rest}", first=problem, rest=joined)
    return joined


def check(entries: Sequence[Any], teams: Mapping[str, int], *, key: str = KEY) -> list[TaskRoute]:
    """The routes checked whole, or `RoutingError` naming each wrong one (`routes[1].levels: ...`)."""
    if len(entries) > MAX_ROUTES:
        raise RoutingError(f"{key}: at most {MAX_ROUTES} routes")
    found = yaml_documents.checked(entries, TaskRoute, key, RoutingError)
    errors = [
        i18n.msg("{key}[{i}].teams: unknown team {name}", key=key, i=i, name=repr(team[:100]))
        for i, route in enumerate(found)
        for team in route.teams
        if team not in teams
    ]
    names = [route.name for route in found]
    errors += [
        i18n.msg("{key}[{i}].name: {name} is used twice", key=key, i=i, name=repr(n[:100]))
        for i, n in enumerate(names)
        if n in names[:i]
    ]
    if errors:
        raise RoutingError(_joined(errors[: yaml_documents.MAX_ERRORS]))
    return found


def save(
    session: Session, principal: Principal | None, entries: Sequence[Any], *, now: datetime
) -> list[TaskRoute]:
    """Check the whole list and store it in its order (new tasks follow it); audited; not committed."""
    routes = check(entries, task_repo.team_ids(session))
    body = {"items": [route.model_dump(mode="json") for route in routes]}
    by = principal.login if principal else None
    rule_service.save_settings_document(session, DOCUMENT, body, at=now, by=by)
    details = {"routes": [route.name for route in routes]}
    auth_service.record(session, principal, "update", "task_routes", None, details, at=now)
    return routes


def export_text(task_routes: Sequence[TaskRoute]) -> str:
    """Routes as a YAML `routes:` document (fields left at their defaults left out)."""
    return yaml_documents.dump({KEY: [r.model_dump(mode="json", exclude_defaults=True) for r in task_routes]})


def export_yaml(session: Session, principal: Principal | None) -> str:
    """The stored routes as YAML, audited."""
    auth_service.record_export(session, principal, "task_routes", format="yaml")
    return export_text(stored(session))


def import_yaml(session: Session, principal: Principal | None, text: str, *, now: datetime) -> int:
    """Replace the routes with a YAML document's, checked whole; audited; not committed. How many."""
    document = yaml_documents.read_document(text, RoutingError)
    return len(save(session, principal, yaml_documents.entries_of(document, KEY, RoutingError), now=now))
