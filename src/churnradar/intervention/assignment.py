"""Who gets a new task: strategies from a registry, chosen by slug in settings; None means the queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from churnradar.kit.registry import Registry


@dataclass(frozen=True)
class Person:
    """What assignment needs to know about a user."""

    id: int
    role: str
    team_id: int | None
    manager_id: int | None
    active: bool


@dataclass(frozen=True)
class AssignmentContext:
    """The customer's owner and team, every user, and how many open tasks each holds."""

    owner_id: int | None
    team_id: int | None
    people: Mapping[int, Person]
    open_tasks: Mapping[int, int]


Strategy = Callable[[AssignmentContext], int | None]
strategies: Registry[Strategy] = Registry("assignment strategy")


def _active(context: AssignmentContext, user_id: int | None) -> int | None:
    person = context.people.get(user_id) if user_id is not None else None
    return person.id if person is not None and person.active else None


@strategies.register("owner")
def by_owner(context: AssignmentContext) -> int | None:
    """The customer's owner when active; otherwise the unassigned queue (a manager picks it up)."""
    return _active(context, context.owner_id)


@strategies.register("round_robin")
def round_robin(context: AssignmentContext) -> int | None:
    """The active rep of the customer's team holding the fewest open tasks (lowest id on a tie)."""
    team = context.team_id
    owner = context.people.get(context.owner_id) if context.owner_id is not None else None
    if team is None and owner is not None:
        team = owner.team_id
    reps = [p for p in context.people.values() if p.active and p.team_id == team and p.role == "rep"]
    if team is None or not reps:
        return None
    return min(reps, key=lambda p: (context.open_tasks.get(p.id, 0), p.id)).id


@strategies.register("owner_then_team")
def owner_then_team(context: AssignmentContext) -> int | None:
    """The owner when active, else round-robin in the team, else the queue."""
    return by_owner(context) or round_robin(context)


def manager_of(people: Mapping[int, Person], user_id: int | None) -> int | None:
    """The active manager above `user_id`, skipping inactive ones; None when there is none."""
    seen: set[int] = set()
    current = people.get(user_id) if user_id is not None else None
    while current is not None and current.manager_id is not None and current.manager_id not in seen:
        seen.add(current.manager_id)
        manager = people.get(current.manager_id)
        if manager is not None and manager.active:
            return manager.id
        current = manager
    return None


def escalation_target(
    people: Mapping[int, Person], user_id: int | None, escalate_to: str | None
) -> int | None:
    """Who a task whose deadline passed goes up to, as its playbook says: a director (the active one with the
    lowest id), or by default the assignee's manager."""
    if escalate_to == "director":
        directors = sorted(p.id for p in people.values() if p.active and p.role == "director")
        return directors[0] if directors else manager_of(people, user_id)
    return manager_of(people, user_id)
