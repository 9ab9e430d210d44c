"""The rules editor: admins edit, managers and directors read; inline checks, try-outs, YAML export/import."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.kit.clock import SystemClock
from churnradar.kit.levels import DEFAULT_LEVELS
from churnradar.models.people import Role
from churnradar.rule import service as rule_service
from churnradar.rule.exceptions import TemplateError
from churnradar.rule.schemas import unknown_level
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import AdminDep, SessionDep, require_roles
from churnradar.web.i18n import N_
from churnradar.web.nav import NavItem, nav_items
from churnradar.web.rules import service
from churnradar.web.rules.drafts import builder_state, check_with_count, field_list, rulebook
from churnradar.web.rules.forms import ESCALATION_LEVELS, FormDep, rule_values
from churnradar.web.rules.schemas import MAX_IMPORT_BYTES, RuleRead
from churnradar.web.templating import names_by_slug, render, request_locale
from churnradar.worker import service as worker_service

router = APIRouter(prefix="/rules", dependencies=[Depends(require_csrf)], include_in_schema=False)
READERS = frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER})
nav_items.add("rules", NavItem("rules", N_("Rules"), "/rules", order=70, roles=READERS))
ReaderDep = Annotated[Principal, Depends(require_roles(*READERS))]
Condition = Annotated[str, Form(max_length=20_000)]
Text = Annotated[str, Form(max_length=2_000)]
# Origins of a rule, shown translated.
ORIGINS = {
    "own": N_("own rule"),
    "override": N_("overrides the parent's rule"),
    "inherited": N_("inherited"),
}


def _now() -> datetime:
    return SystemClock().now()


def _rule_or_404(request: Request, rule_id: str) -> RuleRead:
    found = service.get_rule(request.app.state.engine, rule_id, at=_now())
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    return found


# What an admin's "Evaluate now" did, shown after the redirect (a fixed word in the link, never its text).
EVALUATION_NOTICES = {
    "started": N_(
        "The evaluation started. It runs in the background: reload this page to see when it finished."
    ),
    "busy": N_("An evaluation started by hand is still running; nothing else was started."),
}


def _evaluation(request: Request) -> dict[str, Any]:
    """Since when an evaluation started by hand runs, when the latest finished (local time), and the notice
    of the link."""
    state = worker_service.evaluation_state(request.app.state.engine)
    zone = request.app.state.settings.zone

    def local(moment: datetime | None) -> str | None:
        return (
            None if moment is None else moment.replace(tzinfo=UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")
        )

    notice = EVALUATION_NOTICES.get(request.query_params.get("evaluation", ""))
    return {
        "running_since": local(state.running_since),
        "finished": local(state.last_finished),
        "notice": notice,
    }


def _grouped(rules: list[RuleRead]) -> dict[str, list[RuleRead]]:
    grouped: dict[str, list[RuleRead]] = {}
    for view in rules:
        grouped.setdefault(view.template, []).append(view)
    return grouped


@router.get("", name="rules")
def rule_list(request: Request, principal: ReaderDep) -> Response:
    """Every template's rules with level, condition, enabled flag and reasons."""
    rules = service.list_rules(request.app.state.engine, at=_now())
    deleted = service.deleted(request.app.state.engine)
    context = {
        "templates": _grouped(rules),
        "template_labels": names_by_slug(request, rulebook(request).templates),
        "origins": ORIGINS,
        "errors": [],
        "imported": None,
        "deleted": deleted,
        "evaluation": _evaluation(request),
    }
    return render(request, "rules/list.html", context, principal=principal)


@router.post("/evaluate-now", name="rules_evaluate_now")
def evaluate_now(request: Request, principal: AdminDep) -> Response:
    """Start the worker's evaluation in the background (audited), unless one started by hand still runs."""
    started = worker_service.start_evaluation(
        request.app.state.engine, request.app.state.settings, actor=principal
    )
    notice = "started" if started is not None else "busy"
    return RedirectResponse(f"/rules?evaluation={notice}#evaluate-now", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/export.yaml", name="rules_export")
def export(request: Request, principal: ReaderDep, session: SessionDep) -> Response:
    """The stored rules as YAML, as `churnradar rule export` prints them; audited."""
    auth_service.record_export(session, principal, "rules", format="yaml")
    session.commit()
    engine = request.app.state.engine
    rule_service.active_templates(engine, at=_now())
    return Response(
        rule_service.export_rules(engine),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="rules.yaml"'},
    )


@router.post("/import", name="rules_import")
def import_(request: Request, principal: AdminDep, session: SessionDep, document: UploadFile) -> Response:
    """Replace the rules of the templates a YAML file lists; nothing is stored if any rule fails."""
    raw = document.file.read(MAX_IMPORT_BYTES + 1)  # a plain def: the import runs in the thread pool
    errors: list[str] = []
    counts: dict[str, int] | None = None
    if len(raw) > MAX_IMPORT_BYTES:
        errors = [f"the file is larger than {MAX_IMPORT_BYTES:,} bytes"]
    else:
        try:
            counts = service.import_document(
                request.app.state.engine, session, raw.decode("utf-8"), actor=principal, at=_now()
            )
            session.commit()
        except UnicodeDecodeError:
            errors = ["the file is not UTF-8 text"]
        except TemplateError as exc:
            errors = exc.errors
    rules = service.list_rules(request.app.state.engine, at=_now())
    context = {
        "templates": _grouped(rules),
        "template_labels": names_by_slug(request, rulebook(request).templates),
        "origins": ORIGINS,
        "errors": errors,
        "imported": counts,
        "deleted": service.deleted(request.app.state.engine),
        "evaluation": _evaluation(request),
    }
    code = status.HTTP_400_BAD_REQUEST if errors else status.HTTP_200_OK
    return render(request, "rules/list.html", context, principal=principal, status_code=code)


def catalog_texts(request: Request) -> dict[str, dict[str, str]]:
    """Each field's and indicator's shown texts in the reader's language, by name."""
    locale = request_locale(request)
    return {info.name: info.texts(locale) for info in field_list(request)}


def _edit_page(
    request: Request,
    principal: Principal,
    current: RuleRead,
    *,
    form: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    code: int = 200,
    new: bool = False,
) -> Response:
    form = form or current.rule.model_dump()
    book = rulebook(request)
    tree, note = builder_state(str(form.get("condition", "")), book.fields)
    context = {
        "view": current,
        "form": form,
        "levels": DEFAULT_LEVELS,
        "escalation_levels": ESCALATION_LEVELS,
        "origins": ORIGINS,
        "errors": errors or [],
        "editable": principal.role is Role.ADMIN,
        "check": None,
        "new": new,
        "tree": tree,
        "builder_note": note,
        "catalog": catalog_texts(request),
        "template_names": sorted(book.templates),
        "template_labels": names_by_slug(request, book.templates),
    }
    return render(request, "rules/edit.html", context, principal=principal, status_code=code)


def _store(
    request: Request, principal: Principal, session: Session, current: RuleRead, form: Mapping[str, Any]
) -> Response | None:
    """Save the form's values over the rule; None when saved, else the edit page saying why it was refused."""
    values: dict[str, Any] = {}
    try:
        values = rule_values(form)
        service.save_rule(request.app.state.engine, session, current, values, actor=principal, at=_now())
        session.commit()
    except TemplateError as exc:
        page = current.rule.model_dump() | values
        return _edit_page(
            request, principal, current, form=page, errors=exc.errors, code=status.HTTP_400_BAD_REQUEST
        )
    return None


@router.get("/{rule_id}", name="rule")
def rule_page(request: Request, principal: ReaderDep, rule_id: str) -> Response:
    """One rule: the editor for admins, a read-only view for managers and directors."""
    return _edit_page(request, principal, _rule_or_404(request, rule_id))


@router.post("/{rule_id}", name="rule_save")
def save(request: Request, principal: AdminDep, session: SessionDep, rule_id: str, form: FormDep) -> Response:
    """Save the rule after checking it with the rest of its template; a new version, audited with before and
    after. Fields the form leaves out stay as they were."""
    current = _rule_or_404(request, rule_id)
    refused = _store(request, principal, session, current, form)
    return refused or RedirectResponse(f"/rules/{current.id}?saved=1", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/{rule_id}/enabled", name="rule_enable")
def set_enabled(
    request: Request,
    principal: AdminDep,
    session: SessionDep,
    rule_id: str,
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    """Switch a rule on or off (audited)."""
    current = _rule_or_404(request, rule_id)
    refused = _store(request, principal, session, current, {"enabled": enabled})
    return refused or RedirectResponse(f"/rules#{current.id}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/{rule_id}/validate", name="rule_validate")
def validate(request: Request, principal: AdminDep, rule_id: str, condition: Condition) -> Response:
    """The inline check while typing: the error with its column, or how many customers it flags now."""
    current = _rule_or_404(request, rule_id)
    check = check_with_count(request, current, condition)
    return render(request, "rules/_check.html", {"check": check}, principal=principal)


def try_page(
    request: Request, principal: Principal, current: RuleRead, condition: str, level: str
) -> Response:
    """The draft's backtest over recent weeks whose outcome is known: precision, recall, lead, alerts/week."""
    check = check_with_count(request, current, condition)
    context: dict[str, Any] = {"check": check, "report": None, "level_error": None}
    if unknown_level(level) is not None:
        context["level_error"] = unknown_level(level)
    elif check.valid:
        book = rulebook(request)
        as_of = datetime.fromisoformat(check.as_of).date() if check.as_of else _now().date()
        context["report"] = service.try_draft(
            request.app.state.engine,
            book,
            service.draft_of(current, condition, level),
            service.judged_templates(current, book.templates),
            as_of=as_of,
            zone=request.app.state.settings.zone,
        )
    return render(request, "rules/_try.html", context, principal=principal)


@router.post("/{rule_id}/test", name="rule_test")
def try_out(
    request: Request,
    principal: AdminDep,
    rule_id: str,
    condition: Condition,
    level: Annotated[str, Form(max_length=32)],
) -> Response:
    """The draft's backtest over recent weeks whose outcome is known: precision, recall, lead, alerts/week."""
    return try_page(request, principal, _rule_or_404(request, rule_id), condition, level)
