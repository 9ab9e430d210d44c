"""My tasks (by due date, filters, follow-up, snooze, close, reassign); the customer 360 section."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.customer import service as customer_service
from churnradar.intervention.exceptions import TaskError
from churnradar.intervention.schemas import (
    ContactChannel,
    DueGroup,
    FollowUpCreate,
    Outcome,
    TaskFilter,
    TaskStatus,
)
from churnradar.kit.clock import SystemClock
from churnradar.kit.levels import DEFAULT_LEVELS
from churnradar.models import Customer
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import PrincipalDep, SessionDep
from churnradar.web.i18n import LEVEL_LABELS, N_, translations
from churnradar.web.nav import CustomerSection, NavItem, customer_sections, nav_items
from churnradar.web.risk import service as risk_service
from churnradar.web.tasks import service
from churnradar.web.tasks.schemas import CloseIn
from churnradar.web.templating import render, request_locale

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)
nav_items.add("tasks", NavItem("tasks", N_("My tasks"), "/tasks", order=30))
clock = SystemClock()

# Stored values shown translated.
LABELS = {
    DueGroup.OVERDUE.value: N_("Overdue"),
    DueGroup.TODAY.value: N_("Due today"),
    DueGroup.UPCOMING.value: N_("Upcoming"),
    TaskStatus.CLOSED.value: N_("Closed"),
    TaskStatus.OPEN.value: N_("open"),
    **{level.value: label for level, label in LEVEL_LABELS.items()},
    Outcome.RETAINED.value: N_("retained"),
    Outcome.CHURNED.value: N_("churned"),
    Outcome.FALSE_ALARM.value: N_("false alarm"),
    Outcome.UNREACHABLE.value: N_("unreachable"),
    ContactChannel.CALL.value: N_("call"),
    ContactChannel.VISIT.value: N_("visit"),
    ContactChannel.EMAIL.value: N_("email"),
    ContactChannel.CHAT.value: N_("chat"),
    ContactChannel.MEETING.value: N_("meeting"),
    ContactChannel.OTHER.value: N_("other"),
}


# A task's history, as its events are stored.
HISTORY = {
    "created": N_("Task opened"),
    "upgraded": N_("Raised to a higher level"),
    "assigned": N_("Assigned"),
    "reassigned": N_("Reassigned"),
    "snoozed": N_("Snoozed"),
    "reminded": N_("Reminder sent"),
    "breached": N_("Deadline passed"),
    "closed": N_("Closed"),
    "follow_up": N_("Follow-up logged"),
    "note": N_("Note added"),
}
# What the page says after each change.
DONE = {
    "follow_up": N_("Follow-up saved."),
    "snooze": N_("Task snoozed."),
    "close": N_("Task closed."),
    "reassign": N_("Task reassigned."),
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _common(request: Request, session: Session, principal: Principal) -> dict[str, Any]:
    return {
        "labels": LABELS,
        "levels": DEFAULT_LEVELS,
        "outcomes": [o.value for o in Outcome],
        "channels": [c.value for c in ContactChannel],
        "assignable": service.assignable_choices(session, principal),
        "rule_names": risk_service.rule_names(session),
        "today": service.local_today(clock.now(), _settings(request).zone),
    }


@router.get("/tasks", name="tasks")
def task_list(
    request: Request, principal: PrincipalDep, session: SessionDep, flt: Annotated[TaskFilter, Query()]
) -> Response:
    """The tasks the user works (a manager: the team's), overdue first; htmx asks for the list alone."""
    bounds = service.due_bounds(clock.now(), _settings(request).zone)
    tasks, total = service.list_tasks(session, principal, flt, bounds)
    context = {
        **_common(request, session, principal),
        "flt": flt,
        "groups": service.grouped(tasks),
        "total": total,
        "pages": max(1, -(-total // flt.per_page)),
    }
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "task-list":
        return render(request, "tasks/_list.html", context, principal=principal)
    return render(request, "tasks/page.html", context, principal=principal)


def _detail_context(
    request: Request, session: Session, principal: Principal, task_id: int, **extra: Any
) -> dict[str, Any]:
    """What the task page shows; TaskNotFoundError when the principal may not see the task."""
    bounds = service.due_bounds(clock.now(), _settings(request).zone)
    detail = service.detail(session, principal, task_id, bounds)
    return {
        **_common(request, session, principal),
        "task": detail,
        "follow_ups": list(reversed(detail.follow_ups)),
        "authors": service.author_names(session, detail.follow_ups),
        "history": service.history(session, task_id),
        "history_labels": HISTORY,
        "done": None,
        "error": None,
        "saved_follow_up": None,
        **extra,
    }


@router.get("/tasks/{task_id}", name="task")
def task_page(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    task_id: int,
    done: Annotated[str | None, Query(max_length=20)] = None,
    saved: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """One task: customer, reason, playbook steps, history, follow-ups and the forms (404 out of scope)."""
    try:
        context = _detail_context(request, session, principal, task_id, saved_follow_up=saved)
    except service.TaskNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND) from None
    catalog = translations(request_locale(request))
    context["done"] = catalog.gettext(DONE[done]) if done in DONE else None
    return render(request, "tasks/detail.html", context, principal=principal)


def _after_task_change(
    request: Request,
    session: Session,
    principal: Principal,
    task_id: int,
    action: str,
    *,
    error: str | None = None,
    saved: int | None = None,
) -> Response:
    """A plain form goes to the task page with what was done; htmx gets the page's body again."""
    htmx = request.headers.get("hx-request") == "true"
    if not htmx:
        if error is None:
            params = {"done": action} | ({"saved": str(saved)} if saved else {})
            target = request.url_for("task", task_id=task_id).include_query_params(**params)
            anchor = f"#follow-up-{saved}" if saved else ""
            return RedirectResponse(
                f"{target.path}?{target.query}{anchor}", status_code=status.HTTP_303_SEE_OTHER
            )
        context = {"error": error, "task_id": task_id}
        return render(request, "tasks/refused.html", context, principal=principal, status_code=422)
    catalog = translations(request_locale(request))
    done = None if error else catalog.gettext(DONE[action])
    context = _detail_context(
        request, session, principal, task_id, done=done, error=error, saved_follow_up=saved
    )
    return render(request, "tasks/_detail.html", context, principal=principal)


def _run(
    request: Request, session: Session, principal: Principal, task_id: int, action: str, change: Any
) -> Response:
    try:
        saved = change()
    except service.TaskNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND) from None
    except service.NotAllowedError:
        raise HTTPException(status.HTTP_403_FORBIDDEN) from None
    except TaskError as exc:
        return _after_task_change(request, session, principal, task_id, action, error=str(exc))
    return _after_task_change(
        request, session, principal, task_id, action, saved=saved if isinstance(saved, int) else None
    )


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors())


@router.post("/tasks/{task_id}/follow-up", name="task_follow_up")
def follow_up(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    task_id: int,
    channel: Annotated[str, Form(max_length=32)] = "",
    notes: Annotated[str, Form(max_length=10_000)] = "",
    contacted_on: Annotated[str, Form(max_length=10)] = "",
    next_step: Annotated[str, Form(max_length=2_000)] = "",
    next_step_on: Annotated[str, Form(max_length=10)] = "",
    actions_done: Annotated[list[int] | None, Form()] = None,
) -> Response:
    """Log a contact: channel, what was said, the next step and its date."""
    zone = _settings(request).zone

    def change() -> int:
        try:
            follow_up_in = FollowUpCreate(
                contacted_on=contacted_on or service.local_today(clock.now(), zone),
                channel=channel,
                notes=notes.strip(),
                next_step=next_step.strip() or None,
                next_step_on=next_step_on or None,
                actions_done=actions_done or [],
            )
        except ValidationError as exc:
            raise TaskError(_problems(exc)) from None
        return service.log_follow_up(session, principal, task_id, follow_up_in, now=clock.now(), zone=zone)

    return _run(request, session, principal, task_id, "follow_up", change)


@router.post("/tasks/{task_id}/snooze", name="task_snooze")
def snooze(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    task_id: int,
    until: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    """Hold reminders until a day (09:00 local time)."""
    zone = _settings(request).zone

    def change() -> None:
        try:
            day = date.fromisoformat(until)
        except ValueError:
            raise TaskError("until: give the day the snooze ends (YYYY-MM-DD)") from None
        service.snooze(session, principal, task_id, until=day, reason=reason, now=clock.now(), zone=zone)

    return _run(request, session, principal, task_id, "snooze", change)


@router.post("/tasks/{task_id}/close", name="task_close")
def close(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    task_id: int,
    outcome: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Close with one of the domain's outcomes (required) and an optional note."""

    def change() -> None:
        try:
            close_in = CloseIn(outcome=outcome, note=note or None)
        except ValidationError:
            choices = ", ".join(o.value for o in Outcome)
            raise TaskError(f"outcome: choose one of {choices}") from None
        service.close(session, principal, task_id, close_in, now=clock.now())

    return _run(request, session, principal, task_id, "close", change)


@router.post("/tasks/{task_id}/reassign", name="task_reassign")
def reassign(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    task_id: int,
    assignee: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Give the task to someone else (managers and up); empty puts it back in the team's queue."""
    settings = _settings(request)

    def change() -> None:
        if assignee and not assignee.isdigit():
            raise TaskError("assignee: choose a person from the list")
        target = int(assignee) if assignee else None
        service.reassign(session, principal, task_id, target, now=clock.now(), settings=settings)

    return _run(request, session, principal, task_id, "reassign", change)


def _customer_section(session: Session, principal: Principal, customer: Customer) -> dict[str, Any]:
    bounds = service.due_bounds(clock.now(), service.UTC_ZONE)  # only "overdue" is shown, zone-free
    return {**service.customer_context(session, customer, bounds), "labels": LABELS}


customer_sections.add("tasks", CustomerSection("tasks", "tasks/_customer.html", _customer_section, order=40))


def _customer_change(
    request: Request, session: Session, principal: Principal, customer_id: int, change: Any
) -> Response:
    customer = customer_service.visible(session, principal, customer_id)
    error = None
    try:
        change(customer)
    except TaskError as exc:
        error = str(exc)
    if request.headers.get("hx-request") != "true":
        if error is not None:
            return render(
                request, "tasks/refused.html", {"error": error}, principal=principal, status_code=422
            )
        target = request.url_for("customer", customer_id=customer.id).path
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    data = _customer_section(session, principal, customer) | {"error": error}
    return render(request, "tasks/_customer.html", {"d": data}, principal=principal)


CustomerIdForm = Annotated[int, Form(ge=1, le=2**62)]
TextForm = Annotated[str, Form(max_length=20_000)]
CustomerChange = Callable[..., None]


def _customer_route(path: str, name: str, change: CustomerChange, summary: str) -> None:
    """A form post that changes a customer the user may see: `customer_id` and `text` (a tag or a note)."""

    def route(
        request: Request,
        principal: PrincipalDep,
        session: SessionDep,
        customer_id: CustomerIdForm,
        text: TextForm = "",
    ) -> Response:
        return _customer_change(
            request,
            session,
            principal,
            customer_id,
            lambda customer: change(session, principal, customer, text, now=clock.now()),
        )

    route.__doc__ = summary
    router.post(path, name=name)(route)


_customer_route("/tags", "customer_tag", customer_service.tag, "Tag a customer the user may see.")
_customer_route("/tags/remove", "customer_untag", customer_service.untag, "Remove a tag from a customer.")
_customer_route(
    "/notes", "customer_note", customer_service.add_note, "Leave a note on a customer the user may see."
)
