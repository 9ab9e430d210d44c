"""Tasks from alerts (in the evaluation's transaction), deadline checks, and what people do to tasks."""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Row
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar import i18n
from churnradar.alert import service as alert_service
from churnradar.alert.lifecycle import HOLDOUT, StepResult
from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.intervention import assignment, control, playbooks, routes, sla
from churnradar.intervention import repository as task_repo
from churnradar.intervention.exceptions import TaskError
from churnradar.intervention.schemas import (
    DueBounds,
    FollowUpCreate,
    Outcome,
    TaskFilter,
    TaskRow,
    TaskStatus,
)
from churnradar.kit.levels import Level, level_rank
from churnradar.models import FollowUp, User
from churnradar.notification import service as notification_service
from churnradar.notification.schemas import Notice
from churnradar.rule.schemas import Playbook, RoleOnDuty, Template

UTC_ZONE = ZoneInfo("UTC")
# Roles on duty from the fewest told to the most (RoleOnDuty's order); `notify` widens a notice to the widest.
DUTY_REACH = [role.value for role in RoleOnDuty]
FALLBACK_ACTION = i18n.msg("Contact the customer and log what you learn")


def fallback_playbook(level: Level) -> Playbook:
    """The minimal playbook when no template has one for the level (steps in both languages, as stored)."""
    return Playbook(
        level=level.value,
        deadline_hours=48,
        actions_en=[FALLBACK_ACTION.render("en")],
        actions_zh=[FALLBACK_ACTION.render("zh_CN")],
    )


@dataclass
class ApplySummary:
    """What one evaluation did to tasks, tags and the outbox."""

    created: int = 0
    upgraded: int = 0
    tagged: int = 0
    untagged: int = 0
    notifications: int = 0
    held_out: int = 0  # customers drawn into the control group: no task, no notice
    notices: list[Notice] = field(default_factory=list)


def calendar(settings: Settings, *, enabled: bool | None = None) -> sla.BusinessCalendar | None:
    """The business calendar deadlines count in, or None for plain hours (`enabled` over the settings)."""
    hours = settings.interventions.business_hours
    if not (hours.enabled if enabled is None else enabled):
        return None
    return sla.BusinessCalendar(
        settings.zone, hours.start, hours.end, frozenset(hours.weekdays), frozenset(hours.holidays)
    )


def playbook_for(
    templates: Mapping[str, Template], template: str, level: Level, saved: playbooks.Stored | None = None
) -> Playbook:
    """The admins' stored playbook, else the template's for the level, else general's, else a minimal one."""
    found = playbooks.in_force(templates, saved or {}, template, level)
    return found[0] if found else fallback_playbook(level)


def local_text(at: datetime, settings: Settings) -> str:
    """A stored UTC time as local wall time for messages."""
    return at.replace(tzinfo=UTC).astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")


def task_notice(
    event: str,
    task: Mapping[str, Any],
    name: str,
    settings: Settings,
    *,
    cause: str,
    reason: i18n.Message | None = None,
) -> Notice:
    """A notice about a task, as a message rendered in each receiver's language.

    `reason` says why (the alert's reason, in the rule's own two languages, when not given).
    """
    due = local_text(task["deadline_at"], settings)
    if event == "deadline_reminder":
        what = i18n.msg("due {due}", due=due)
    elif event == "deadline_missed":
        what = i18n.msg("deadline {due} missed", due=due)
    else:
        why = reason or i18n.Localized(task.get("reason_en") or "", task.get("reason_zh") or "")
        what = i18n.msg("{reason}; act by {due}", reason=why, due=due)
    return Notice(
        event=event,
        cause=cause,
        level=task["level"],
        customer_id=int(task["customer_id"]),
        assignee_id=task["assignee_id"],
        team_id=task["team_id"],
        line=i18n.msg(
            "{customer} (#{customer_id}) [{level}]: {what}",
            customer=name,
            customer_id=task["customer_id"],
            level=task["level"],
            what=what,
        ),
        role=task.get("role"),
    )


def _rule_tags(templates: Mapping[str, Template], template: str, rule: str) -> tuple[list[str], list[str]]:
    found = templates.get(template)
    for definition in found.rules if found else []:
        if definition.slug == rule:
            return definition.tags_add, definition.tags_remove
    return [], []


def _changed_alerts(result: StepResult) -> pd.DataFrame:
    """Unmuted alerts that opened or escalated in this step, with their state columns."""
    events = result.events
    if events.empty:
        return pd.DataFrame(
            columns=["customer_id", "rule", "kind", "level", "template", "muted", "opened_on"]
        )
    changed = events[events["kind"].isin(["opened", "escalated"])][["customer_id", "rule", "kind"]]
    columns = ["customer_id", "rule", "level", "template", "muted", "opened_on", "reason_en", "reason_zh"]
    state = result.state.reindex(columns=columns)  # a state without opening dates reads as opened today
    merged = changed.merge(state, on=["customer_id", "rule"], how="inner")
    return merged[merged["muted"].isna()]


def _hold_out(
    conn: Connection,
    result: StepResult,
    worst: pd.DataFrame,
    existing: Mapping[int, Any],
    customers: Mapping[int, Any],
    *,
    day: date,
    now: datetime,
    settings: Settings,
) -> set[int]:
    """Customers whose new task is drawn into the control group; their open alerts are muted `holdout`."""
    share = settings.interventions.control_share
    if share <= 0:
        return set()
    key = settings.secret_key.get_secret_value().encode()
    held = {
        int(customer_id)
        for customer_id, rule, opened_on in worst[["customer_id", "rule", "opened_on"]].itertuples(
            index=False
        )
        if int(customer_id) not in existing
        and control.held_out(
            key,
            share,
            customer=str(customers[int(customer_id)].external_id),
            rule=str(rule),
            opened_on=day if pd.isna(opened_on) else pd.Timestamp(opened_on).date(),
        )
    }
    if held:
        alert_service.hold_out(conn, held, as_of=day, at=now, cause=control.DRAW_CAUSE)
        result.state.loc[result.state["customer_id"].isin(held), "muted"] = HOLDOUT
    return held


def apply(
    conn: Connection,
    result: StepResult,
    *,
    as_of: Any,
    now: datetime,
    templates: Mapping[str, Template],
    settings: Settings,
) -> ApplySummary:
    """Create or upgrade the task of every customer whose alert opened or escalated; tag; notify.

    With a control group, a customer that would get a new task may be held out instead: its alerts are
    muted `holdout` (also in `result.state`), and it gets no task, tag or notification.
    """
    summary = ApplySummary()
    changed = _changed_alerts(result)
    if changed.empty:
        return summary
    worst = (
        changed.assign(_rank=changed["level"].map(level_rank))
        .sort_values(["customer_id", "_rank", "rule"], ascending=[True, False, True])
        .drop_duplicates("customer_id")
    )
    ids = [int(c) for c in worst["customer_id"]]
    existing = task_repo.open_tasks(conn, ids)
    customers = task_repo.customers(conn, ids)
    day = pd.Timestamp(as_of).date()
    held = _hold_out(conn, result, worst, existing, customers, day=day, now=now, settings=settings)
    summary.held_out = len(held)
    changed = changed[~changed["customer_id"].isin(held)]
    worst = worst[~worst["customer_id"].isin(held)]
    tag_add: list[tuple[int, str]] = []
    tag_sources: list[str] = []
    tag_remove: list[tuple[int, str]] = []
    for customer_id, rule, template in changed[["customer_id", "rule", "template"]].itertuples(index=False):
        adds, removes = _rule_tags(templates, str(template), str(rule))
        tag_add += [(int(customer_id), t) for t in adds]
        tag_sources += [f"rule:{rule}"] * len(adds)
        tag_remove += [(int(customer_id), t) for t in removes]
    summary.untagged = task_repo.remove_tags(conn, tag_remove)
    summary.tagged = task_repo.add_tags(conn, tag_add, source=tag_sources, at=now)
    alert_ids = alert_service.open_alert_ids(conn, ids)
    people = task_repo.people(conn)
    counts = task_repo.open_counts(conn)
    strategy = assignment.strategies.get(settings.interventions.assignment)
    saved = playbooks.stored(conn)
    task_routes = routes.stored(conn)
    teams = task_repo.team_ids(conn) if task_routes or any(b.team for b in saved.values()) else {}
    team_names = {i: name for name, i in teams.items()}
    # New tasks are inserted together after the loop (one executemany, not a statement per task: 7,000 new
    # tasks on a first evaluation of 100k customers); `pending` keeps each notice's place until ids exist.
    new_tasks: list[dict[str, Any]] = []
    new_logs: list[dict[str, Any]] = []
    pending: list[tuple[int | None, str, dict[str, Any], dict[Hashable, Any], str, Level]] = []
    for row in worst.to_dict("records"):
        customer_id, level = int(row["customer_id"]), Level(row["level"])
        customer = customers[customer_id]
        book = playbook_for(templates, str(row["template"]), level, saved)
        values: dict[str, Any] = {
            "alert_id": alert_ids.get((customer_id, str(row["rule"]))),
            "rule": str(row["rule"]),
            "level": level.value,
            "role": book.role.value,
            "playbook": book.model_dump(mode="json"),
            "deadline_at": sla.add_hours(
                now, book.deadline_hours, calendar(settings, enabled=book.business_hours)
            ),
            "next_follow_up_at": (
                now + timedelta(hours=book.follow_up_every_hours) if book.follow_up_every_hours else None
            ),
            "reminded_at": None,
            # A new deadline can be missed again; earlier breaches stay in the task's history.
            "breached_at": None,
        }
        task = existing.get(customer_id)
        routed = routes.decide(task_routes, str(row["rule"]), level.value, customer, people, team_names)
        task_id: int | None
        if task is None:
            context = assignment.AssignmentContext(customer.owner_id, customer.team_id, people, counts)
            assignee = routed.assignee if routed and routed.assignee is not None else strategy(context)
            if assignee is not None:
                counts[assignee] = counts.get(assignee, 0) + 1
            values |= {
                "customer_id": customer_id,
                "status": TaskStatus.OPEN.value,
                "assignee_id": assignee,
                "team_id": teams.get(book.team, customer.team_id) if book.team else customer.team_id,
                "opened_at": now,
            }
            new_tasks.append(values)
            detail = {"level": level.value, "rule": row["rule"], "assignee_id": assignee}
            if routed is not None:
                detail |= {"route": routed.route, "notify": list(routed.notify)}
            if settings.interventions.control_share > 0:  # drawn to be worked: the control group's peer
                detail |= {"arm": control.INTERVENED, "as_of": day.isoformat()}
            new_logs.append({"kind": "created", "at": now, "actor": None, "detail": detail})
            task_id, event = None, "alert_opened"
            summary.created += 1
        elif level_rank(level) > level_rank(str(task.level)):
            task_id = int(task.id)
            task_repo.change(conn, task_id, values)
            detail = {"from_level": task.level, "to_level": level.value, "rule": row["rule"]}
            task_repo.log(conn, task_id, "upgraded", at=now, actor=None, detail=detail)
            values |= {"customer_id": customer_id, "assignee_id": task.assignee_id, "team_id": task.team_id}
            event = "alert_escalated"
            summary.upgraded += 1
        else:
            continue  # the open task already asks for as much
        row["also"] = routed.notify if routed is not None else ()  # told beside those on duty
        pending.append((task_id, event, values, row, str(customer.name or customer_id), level))
    ids = task_repo.create_many(conn, new_tasks)
    task_repo.log_many(conn, [log | {"task_id": i} for log, i in zip(new_logs, ids, strict=True)])
    fresh = iter(ids)
    for known_id, event, values, row, name, level in pending:
        task_id = next(fresh) if known_id is None else known_id
        notice_row = {**values, "reason_en": row["reason_en"], "reason_zh": row["reason_zh"]}
        notice_row["role"] = max(
            [values["role"], *values["playbook"].get("notify", [])], key=DUTY_REACH.index
        )
        cause = f"task:{task_id}:{event}:{level}:{as_of}"
        notice = task_notice(event, notice_row, name, settings, cause=cause)
        summary.notices.append(replace(notice, also=row["also"]))
    summary.notifications = notification_service.notify(conn, summary.notices, settings=settings, now=now)
    return summary


def _open_task(conn: Connection, task_id: int) -> Any:
    task = task_repo.get(conn, task_id)
    if task is None:
        raise TaskError(f"no task {task_id}")
    if task.status != TaskStatus.OPEN:
        raise TaskError(f"task {task_id} is closed ({task.outcome})")
    return task


def list_tasks(
    conn: Connection, *, status: TaskStatus | None, assignee_id: int | None, limit: int
) -> list[Row[Any]]:
    """Tasks with their customer's name and assignee's login, soonest deadline first."""
    return task_repo.list_tasks(conn, status=status, assignee_id=assignee_id, limit=limit)


@dataclass(frozen=True)
class TaskDetail:
    """One task with its follow-ups (in order), its history and its customer's tags."""

    task: Row[Any]
    follow_ups: list[Row[Any]]
    history: list[Row[Any]]
    tags: list[str]


def task_detail(conn: Connection, task_id: int) -> TaskDetail | None:
    """A task and what is recorded about it, or None when there is no such task."""
    task = task_repo.get(conn, task_id)
    if task is None:
        return None
    return TaskDetail(
        task,
        task_repo.follow_ups(conn, task_id),
        task_repo.history(conn, task_id),
        task_repo.tags(conn, task.customer_id),
    )


def display_names(session: Session, logins: Collection[str]) -> dict[str, str]:
    """People's display names by login (the login where none is set), for histories and follow-ups."""
    return task_repo.display_names(session.connection(), logins)


def list_visible_tasks(
    session: Session, principal: Principal, flt: TaskFilter, bounds: DueBounds
) -> tuple[list[TaskRow], int]:
    """One page of the tasks the principal may see (soonest deadline first; closed ones latest first)."""
    return task_repo.list_visible_tasks(session, principal, flt, bounds)


def visible_task(session: Session, principal: Principal, task_id: int) -> TaskRow | None:
    """One task with its customer and assignee, or None when it does not exist or the principal may not
    see it (its customer is out of scope and it is not assigned to them)."""
    return task_repo.get_visible_task(session, principal, task_id)


def customer_tasks(session: Session, customer_id: int) -> list[TaskRow]:
    """Every task of a customer the caller has checked is visible: open first, newest first."""
    return task_repo.customer_task_rows(session, customer_id)


def follow_up_records(
    session: Session, *, task_id: int | None = None, customer_id: int | None = None
) -> list[FollowUp]:
    """Follow-ups of one task (oldest first) or of one customer (newest first)."""
    return task_repo.follow_up_records(session, task_id=task_id, customer_id=customer_id)


def assignable(session: Session, principal: Principal) -> Sequence[User]:
    """Active people the principal may give tasks to (none for a rep)."""
    return task_repo.assignable(session, principal)


def user_id(session: Session | Connection, login: str) -> int | None:
    """The id of the user with exactly this login, if there is one."""
    return task_repo.user_id(session, login)


def reassign(
    conn: Connection,
    task_id: int,
    *,
    assignee_id: int | None,
    by: str,
    now: datetime,
    settings: Settings | None = None,
) -> None:
    """Give the task to another active user (None: back to the queue); with settings, tell the new one."""
    task = _open_task(conn, task_id)
    people = task_repo.people(conn)
    if assignee_id is not None and (assignee_id not in people or not people[assignee_id].active):
        raise TaskError(f"user {assignee_id} does not exist or is inactive")
    task_repo.change(conn, task_id, {"assignee_id": assignee_id})
    detail = {"from": task.assignee_id, "to": assignee_id}
    task_repo.log(conn, task_id, "reassigned", at=now, actor=by, detail=detail)
    if settings is not None and assignee_id is not None:
        customer = task_repo.customers(conn, [task.customer_id])[task.customer_id]
        row = {**dict(task._mapping), "assignee_id": assignee_id}
        cause = f"task:{task_id}:assigned:{assignee_id}:{now.isoformat()}"
        why = i18n.msg("assigned to you by {by}", by=by)
        notice = task_notice(
            "task_assigned", row, customer.name or str(task.customer_id), settings, cause=cause, reason=why
        )
        notification_service.notify(conn, [notice], settings=settings, now=now)


def snooze(conn: Connection, task_id: int, *, until: datetime, reason: str, by: str, now: datetime) -> None:
    """Hold reminders and breaches until `until`; the deadline moves there if it was earlier."""
    if until <= now:
        raise TaskError("a snooze must end in the future")
    if not reason.strip():
        raise TaskError("a snooze needs a reason")
    task = _open_task(conn, task_id)
    values = {
        "snoozed_until": until,
        "snooze_reason": reason,
        "deadline_at": max(task.deadline_at, until),
        "reminded_at": None,
    }
    task_repo.change(conn, task_id, values)
    detail = {"until": until.isoformat(), "reason": reason}
    task_repo.log(conn, task_id, "snoozed", at=now, actor=by, detail=detail)


def close(
    conn: Connection, task_id: int, *, outcome: Outcome, note: str | None, by: str, now: datetime
) -> None:
    """Close the task with its outcome; the customer may get a new task from the next warning."""
    _open_task(conn, task_id)
    values = {"status": TaskStatus.CLOSED.value, "closed_at": now, "outcome": outcome.value}
    task_repo.change(conn, task_id, values | {"closed_by": by, "close_note": note})
    task_repo.log(conn, task_id, "closed", at=now, actor=by, detail={"outcome": outcome.value, "note": note})


def log_follow_up(
    conn: Connection,
    task_id: int,
    follow_up_in: FollowUpCreate,
    *,
    by: str,
    now: datetime,
    zone: ZoneInfo = UTC_ZONE,
) -> int:
    """Record a contact; a next-step date becomes the task's next follow-up (09:00 local that day)."""
    task = _open_task(conn, task_id)
    actions = len((task.playbook or {}).get("actions_en", []))
    wrong = [i for i in follow_up_in.actions_done if i >= actions]
    if wrong:
        raise TaskError(f"the playbook has {actions} actions; no action number {wrong[0]}")
    values = follow_up_in.model_dump()
    follow_up_id = task_repo.add_follow_up(
        conn,
        values | {"task_id": task_id, "customer_id": task.customer_id, "created_at": now, "created_by": by},
    )
    if follow_up_in.next_step_on is not None:
        local = datetime.combine(follow_up_in.next_step_on, time(9), tzinfo=zone)
        task_repo.change(conn, task_id, {"next_follow_up_at": local.astimezone(UTC).replace(tzinfo=None)})
    task_repo.log(conn, task_id, "follow_up", at=now, actor=by, detail={"follow_up_id": follow_up_id})
    return follow_up_id


def tag(conn: Connection, customer_id: int, tags: list[str], *, by: str, now: datetime) -> int:
    """Tag a customer by hand."""
    return task_repo.add_tags(conn, [(customer_id, t) for t in tags], source=f"user:{by}", at=now)


def untag(conn: Connection, customer_id: int, tags: list[str]) -> int:
    """Remove tags from a customer."""
    return task_repo.remove_tags(conn, [(customer_id, t) for t in tags])


def note(conn: Connection, task_id: int, text: str, *, by: str, now: datetime) -> None:
    """Keep a note (about the task's customer) in the task's history."""
    task_repo.log(conn, task_id, "note", at=now, actor=by, detail={"text": text})


T = TypeVar("T")


def commit_or_rollback(session: Session, work: Callable[[], T]) -> T:
    """Run a person's change `work` and commit, or roll back a refusal (TaskError) so it changes nothing."""
    try:
        result = work()
    except TaskError:
        session.rollback()
        raise
    session.commit()
    return result
