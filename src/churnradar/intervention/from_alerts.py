"""Tasks from alerts, in the evaluation's transaction: opened for new alerts by playbook and route, upgraded
on escalation, held out for the control group, with their tags and notices."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.engine import Connection

from churnradar import i18n
from churnradar.alert import service as alert_service
from churnradar.alert.lifecycle import HOLDOUT, StepResult
from churnradar.config import Settings
from churnradar.intervention import assignment, control, playbooks, routes, sla
from churnradar.intervention import repository as task_repo
from churnradar.intervention.schemas import (
    TaskStatus,
)
from churnradar.kit.levels import Level, level_rank
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
