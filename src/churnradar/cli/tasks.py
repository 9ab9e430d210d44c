"""`churnradar tasks ...`: list intervention tasks, reassign, snooze, close, log follow-ups, tag customers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Connection

from churnradar.cli.common import (
    DbOption,
    JsonOption,
    audit,
    emit_json,
    fail,
    open_engine,
    settings_or_fail,
)
from churnradar.intervention.exceptions import TaskError
from churnradar.intervention.schemas import ContactChannel, Outcome, TaskStatus
from churnradar.kit.clock import SystemClock
from churnradar.store import migrate

tasks_app = typer.Typer(
    help="Intervention tasks: who does what for which customer, by when.", no_args_is_help=True
)
ByOption = Annotated[str, typer.Option("--by", help="Who does this (recorded in the task history).")]


def _status(given: str) -> TaskStatus | None:
    """The task status `--status` names; None for all."""
    if given in ("", "all"):
        return None
    try:
        return TaskStatus(given)
    except ValueError:
        fail(f"--status must be open, closed or all, not {given[:40]!r}")


def _user_id(conn: Connection, login: str) -> int:
    from churnradar.intervention import service as tasks

    found = tasks.user_id(conn, login)
    if found is None:
        fail(f"no user {login!r}")
    return found


def _change(
    ctx: typer.Context,
    db: str | None,
    action: Callable[[Connection, datetime], Any],
    *,
    audited: tuple[str, str, int, dict[str, Any]],
) -> Any:
    """Run a change in one transaction with its audit entry (action, entity, id, details)."""
    engine = open_engine(ctx, db)
    migrate(engine)
    name, entity, entity_id, details = audited
    try:
        with engine.begin() as conn:
            result = action(conn, SystemClock().now())
            audit(conn, name, entity, entity_id, {k: v for k, v in details.items() if v is not None})
            return result
    except TaskError as exc:
        fail(str(exc))


@tasks_app.command("list")
def list_tasks(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="open, closed or all.")] = "open",
    assignee: Annotated[str | None, typer.Option(help="Only this user's tasks (login).")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 200,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Tasks, soonest deadline first."""
    from churnradar.intervention import service as tasks

    engine = open_engine(ctx, db)
    migrate(engine)
    with engine.connect() as conn:
        assignee_id = _user_id(conn, assignee) if assignee else None
        rows = tasks.list_tasks(conn, status=_status(status), assignee_id=assignee_id, limit=limit)
    keys = ["id", "customer_id", "customer_name", "level", "status", "assignee_id", "assignee", "deadline_at"]
    keys.append("outcome")
    items = [{k: getattr(r, k) for k in keys} | {"breached": r.breached_at is not None} for r in rows]
    if as_json:
        emit_json(items)
        return
    for item in items:
        who = item["assignee"] or "queue"
        late = " BREACHED" if item["breached"] else ""
        typer.echo(
            f"#{item['id']} {item['level']:<6} {item['customer_name']} (#{item['customer_id']}) -> {who}, "
            f"due {item['deadline_at']:%Y-%m-%d %H:%M} UTC{late}"
        )
    if not items:
        typer.echo("no tasks")


@tasks_app.command()
def show(
    ctx: typer.Context,
    task_id: int,
    lang: Annotated[str, typer.Option(help="en or zh for the playbook.")] = "en",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One task: its playbook checklist, follow-ups and history."""
    from churnradar.intervention import service as tasks

    engine = open_engine(ctx, db)
    migrate(engine)
    with engine.connect() as conn:
        detail = tasks.task_detail(conn, task_id)
        if detail is None:
            fail(f"no task {task_id}")
        task = detail.task
        follow_ups = [dict(r._mapping) for r in detail.follow_ups]
        history = [dict(r._mapping) for r in detail.history]
        tags = detail.tags
    document = {**dict(task._mapping), "tags": tags, "follow_ups": follow_ups, "history": history}
    if as_json:
        emit_json(document)
        return
    done = {i for f in follow_ups for i in f["actions_done"]}
    typer.echo(f"task #{task.id} customer #{task.customer_id} {task.level} ({task.role}), {task.status}")
    typer.echo(f"due {task.deadline_at:%Y-%m-%d %H:%M} UTC; tags: {', '.join(tags) or '-'}")
    for i, action in enumerate(task.playbook.get("actions_zh" if lang == "zh" else "actions_en", [])):
        typer.echo(f"  [{'x' if i in done else ' '}] {i}. {action}")
    for f in follow_ups:
        typer.echo(
            f"  {f['contacted_on']} {f['channel']}: {f['notes']}"
            + (f" -> {f['next_step']}" * bool(f["next_step"]))
        )
    for event in history:
        typer.echo(f"  {event['at']:%Y-%m-%d %H:%M} {event['kind']} {event['actor'] or ''}".rstrip())


@tasks_app.command()
def reassign(
    ctx: typer.Context,
    task_id: int,
    to: Annotated[str | None, typer.Option("--to", help="Login of the new assignee.")] = None,
    queue: Annotated[bool, typer.Option("--queue", help="Put it back in the unassigned queue.")] = False,
    by: ByOption = "cli",
    db: DbOption = None,
) -> None:
    """Give a task to someone else."""
    from churnradar.intervention import service

    if (to is None) == (not queue):
        fail("give either --to LOGIN or --queue")

    def action(conn: Connection, now: datetime) -> None:
        assignee = _user_id(conn, to) if to else None
        service.reassign(conn, task_id, assignee_id=assignee, by=by, now=now, settings=settings_or_fail())

    _change(ctx, db, action, audited=("reassign", "task", task_id, {"to": to or "queue", "by": by}))
    typer.echo(f"task {task_id} reassigned to {to or 'the queue'}")


@tasks_app.command()
def snooze(
    ctx: typer.Context,
    task_id: int,
    until: Annotated[str, typer.Option(help="UTC date and time (ISO) to snooze until.")],
    reason: Annotated[str, typer.Option(help="Why (required).")],
    by: ByOption = "cli",
    db: DbOption = None,
) -> None:
    """Hold reminders and escalation until a time, with a reason."""
    from churnradar.intervention import service

    try:
        end = datetime.fromisoformat(until)
    except ValueError:
        fail(f"--until {until!r} is not an ISO date-time like 2026-11-25T09:00")
    _change(
        ctx,
        db,
        lambda conn, now: service.snooze(conn, task_id, until=end, reason=reason, by=by, now=now),
        audited=("snooze", "task", task_id, {"until": end.isoformat(), "reason": reason, "by": by}),
    )
    typer.echo(f"task {task_id} snoozed until {end}")


@tasks_app.command()
def close(
    ctx: typer.Context,
    task_id: int,
    outcome: Annotated[Outcome, typer.Option(help="retained, churned, false_alarm or unreachable.")],
    note: Annotated[str | None, typer.Option(help="What happened.")] = None,
    by: ByOption = "cli",
    db: DbOption = None,
) -> None:
    """Close a task with its outcome."""
    from churnradar.intervention import service

    _change(
        ctx,
        db,
        lambda conn, now: service.close(conn, task_id, outcome=outcome, note=note, by=by, now=now),
        audited=("close", "task", task_id, {"outcome": outcome.value, "by": by}),
    )
    typer.echo(f"task {task_id} closed: {outcome.value}")


@tasks_app.command("follow-up")
def follow_up(
    ctx: typer.Context,
    task_id: int,
    channel: Annotated[ContactChannel, typer.Option(help="call, visit, email, chat, meeting or other.")],
    notes: Annotated[str, typer.Option(help="What was said.")],
    on: Annotated[str | None, typer.Option(help="Contact date (ISO, default today).")] = None,
    next_step: Annotated[str | None, typer.Option(help="What comes next.")] = None,
    next_on: Annotated[str | None, typer.Option(help="When the next step is due (ISO date).")] = None,
    done: Annotated[str, typer.Option(help="Playbook actions done, by number from 0: 0,2.")] = "",
    by: ByOption = "cli",
    db: DbOption = None,
) -> None:
    """Log a contact with the customer."""
    from pydantic import ValidationError

    from churnradar.intervention import service
    from churnradar.intervention.schemas import FollowUpCreate

    try:
        follow_up_in = FollowUpCreate(
            contacted_on=date.fromisoformat(on) if on else date.today(),
            channel=channel,
            notes=notes,
            next_step=next_step,
            next_step_on=date.fromisoformat(next_on) if next_on else None,
            actions_done=[int(x) for x in done.split(",") if x.strip()],
        )
    except (ValueError, ValidationError) as exc:
        fail(f"invalid follow-up: {exc}")
    new_id = _change(
        ctx,
        db,
        lambda conn, now: service.log_follow_up(
            conn, task_id, follow_up_in, by=by, now=now, zone=settings_or_fail().zone
        ),
        audited=("follow_up", "task", task_id, {"channel": channel.value, "by": by}),
    )
    typer.echo(f"follow-up {new_id} logged on task {task_id}")


@tasks_app.command()
def tag(
    ctx: typer.Context,
    customer_id: int,
    tags: Annotated[list[str], typer.Argument(help="Tags to add (e.g. 重点跟进).")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove these tags instead.")] = False,
    by: ByOption = "cli",
    db: DbOption = None,
) -> None:
    """Tag a customer by hand (or remove tags)."""
    from churnradar.intervention import service

    audited = ("untag" if remove else "tag", "customer", customer_id, {"tags": tags, "by": by})
    if remove:
        count = _change(ctx, db, lambda conn, now: service.untag(conn, customer_id, tags), audited=audited)
    else:
        count = _change(
            ctx, db, lambda conn, now: service.tag(conn, customer_id, tags, by=by, now=now), audited=audited
        )
    typer.echo(f"{count} tag(s) {'removed' if remove else 'added'}")


def register(app: typer.Typer) -> None:
    """Add `tasks` to the app."""
    app.add_typer(tasks_app, name="tasks")
