"""The rule editor's pages beyond one rule's form: new rules, the condition builder, the field list, clone,
delete, and the version history with its diffs and restores. Admins change; managers and directors read.

Registered before `pages` (its `/rules/{rule_id}` routes would take `/rules/new` and `/rules/check`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from churnradar.auth.schemas import Principal
from churnradar.kit.levels import Level
from churnradar.rule.builder import Group, edited, text_of
from churnradar.rule.catalog import search
from churnradar.rule.exceptions import TemplateError
from churnradar.rule.schemas import RuleDef, Scope
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import AdminDep, SessionDep
from churnradar.web.i18n import N_
from churnradar.web.rules import service
from churnradar.web.rules.drafts import builder_state, check_with_count, field_list, rulebook
from churnradar.web.rules.forms import FormDep, rule_values, tree_from_form
from churnradar.web.rules.pages import ReaderDep, _edit_page, _now, _rule_or_404, catalog_texts, try_page
from churnradar.web.rules.schemas import Origin, RuleRead, rule_id, split_rule_id
from churnradar.web.templating import render, request_locale

router = APIRouter(prefix="/rules", dependencies=[Depends(require_csrf)], include_in_schema=False)
NEW_SLUG = "new_rule"
ACTIONS = {
    "create": N_("created"),
    "update": N_("changed"),
    "clone": N_("cloned"),
    "delete": N_("deleted"),
    "revert": N_("override removed"),
    "restore": N_("restored"),
    "import": N_("imported"),
    "original": N_("as shipped"),
}


def new_view(request: Request, template: str) -> RuleRead:
    """A blank rule of `template`, for the new-rule form and its checks (not validated: it is empty)."""
    templates = rulebook(request).templates
    if template not in templates:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    blank = RuleDef.model_construct(
        slug=NEW_SLUG,
        name_en="",
        name_zh="",
        condition="",
        level=Level.YELLOW.value,
        escalate={},
        scope=Scope(),
        reason_en="",
        reason_zh="",
        enabled=True,
        tags_add=[],
        tags_remove=[],
    )
    return RuleRead(
        id=rule_id(template, NEW_SLUG),
        template=template,
        origin=Origin.OWN,
        parent=templates[template].extends,
        rule=blank,
    )


def _posted_view(request: Request, form: FormData) -> RuleRead:
    """The rule a form is about: its `rule_id`, else a new rule of its `template`."""
    posted = form.get("rule_id")
    if isinstance(posted, str) and posted and not posted.endswith(f".{NEW_SLUG}"):
        return _rule_or_404(request, posted)
    template = form.get("template")
    return new_view(request, template if isinstance(template, str) else "general")


@router.get("/new", name="rule_new")
def new_rule(
    request: Request, principal: AdminDep, template: Annotated[str, Query(max_length=64)] = "general"
) -> Response:
    """The form for a new rule of `template`, with the builder."""
    view = new_view(request, template)
    return _edit_page(request, principal, view, new=True)


@router.post("/new", name="rule_create")
def create(request: Request, principal: AdminDep, session: SessionDep, form: FormDep) -> Response:
    """Create the rule the form describes (checked whole with its template); audited; its first version."""
    view = _posted_view(request, form)
    slug = form.get("slug")
    values: dict[str, Any] = {"slug": slug if isinstance(slug, str) else ""}
    try:
        values |= rule_values(form)
        created = service.create_rule(
            request.app.state.engine, session, view.template, values, actor=principal, at=_now()
        )
        session.commit()
    except TemplateError as exc:
        page = view.rule.model_dump() | values
        return _edit_page(request, principal, view, form=page, errors=exc.errors, code=400, new=True)
    return RedirectResponse(f"/rules/{created}?saved=1", status_code=status.HTTP_303_SEE_OTHER)


def _builder_response(request: Request, principal: Principal, view: RuleRead, tree: Group) -> Response:
    fields = rulebook(request).fields
    problem: str | None = None
    try:
        text = text_of(tree, fields)
    except ValueError as exc:
        text, problem = "", str(exc)
    check = check_with_count(request, view, text) if text else None
    context: dict[str, Any] = {
        "tree": tree,
        "catalog": catalog_texts(request),
        "condition": text,
        "check": check,
        "builder_note": problem,
        "view": view,
    }
    return render(request, "rules/_builder_response.html", context, principal=principal)


@router.post("/builder", name="rule_builder")
def builder(request: Request, principal: AdminDep, form: FormDep) -> Response:
    """The builder after one edit (`action` = `<edit>:<path>[:<field>]`), with the condition it writes and
    that condition's check: the builder's tree is read and printed in Python, never in the browser."""
    view = _posted_view(request, form)
    tree = tree_from_form(form) or Group()
    action = form.get("action")
    if isinstance(action, str) and action:
        edit, _, rest = action.partition(":")
        path, _, value = rest.partition(":")
        tree = edited(tree, edit, path, value)
    return _builder_response(request, principal, view, tree)


@router.get("/fields", name="rule_fields")
def fields(
    request: Request,
    principal: ReaderDep,
    q: Annotated[str, Query(max_length=100)] = "",
    path: Annotated[str, Query(max_length=100, pattern=r"^r(\.\d{1,3}){0,24}$")] = "r.0",
) -> Response:
    """Fields and indicators matching `q`, each a button that puts it into the builder's clause `path`."""
    found = search(field_list(request), q, request_locale(request))
    context = {"found": found, "path": path, "catalog": catalog_texts(request), "query": q}
    return render(request, "rules/_fields.html", context, principal=principal)


@router.post("/check", name="rule_check")
def check(
    request: Request,
    principal: AdminDep,
    form: FormDep,
    field: Annotated[str, Query(pattern=r"^(condition|escalate_[a-z]+)$")] = "condition",
    rebuild: bool = True,
) -> Response:
    """The inline check of one condition of the form: the error with its position, or how many customers it
    flags now; for the rule's condition also the builder, rebuilt from the text."""
    view = _posted_view(request, form)
    text = form.get(field)
    text = text if isinstance(text, str) else ""
    result = check_with_count(request, view, text)
    context: dict[str, Any] = {"check": result, "view": view, "catalog": catalog_texts(request)}
    if field == "condition" and rebuild:
        tree, note = builder_state(text, rulebook(request).fields)
        context |= {"tree": tree if note is None else None, "builder_note": note}
    return render(request, "rules/_check_response.html", context, principal=principal)


@router.post("/try", name="rule_try")
def try_form(request: Request, principal: AdminDep, form: FormDep) -> Response:
    """The form's condition and level replayed over recent weeks (the history replay), new rule or not."""
    condition, level = form.get("condition"), form.get("level")
    return try_page(
        request,
        principal,
        _posted_view(request, form),
        condition[:20_000] if isinstance(condition, str) else "",
        level[:32] if isinstance(level, str) else "",
    )


@router.post("/{rule_id}/clone", name="rule_clone")
def clone(
    request: Request, principal: AdminDep, session: SessionDep, rule_id: str, form: FormDep
) -> Response:
    """Copy the rule into a template under a new slug (switched off), then open the copy."""
    current = _rule_or_404(request, rule_id)
    template, slug = form.get("template"), form.get("slug")
    try:
        copy = service.clone_rule(
            request.app.state.engine,
            session,
            current,
            template=template if isinstance(template, str) else current.template,
            slug=slug if isinstance(slug, str) else "",
            actor=principal,
            at=_now(),
        )
        session.commit()
    except TemplateError as exc:
        return _edit_page(request, principal, current, errors=exc.errors, code=400)
    return RedirectResponse(f"/rules/{copy}?saved=1", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/{rule_id}/delete", name="rule_delete")
def delete(request: Request, principal: AdminDep, session: SessionDep, rule_id: str) -> Response:
    """Delete the rule (or remove an override); its history stays, so it can be restored."""
    current = _rule_or_404(request, rule_id)
    try:
        service.delete_rule(request.app.state.engine, session, current, actor=principal, at=_now())
        session.commit()
    except TemplateError as exc:
        return _edit_page(request, principal, current, errors=exc.errors, code=400)
    return RedirectResponse(f"/rules/{current.id}/history", status_code=status.HTTP_303_SEE_OTHER)


def _split_or_404(value: str) -> tuple[str, str]:
    parts = split_rule_id(value)
    if parts is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    return parts


@router.get("/{rule_id}/history", name="rule_history")
def history(request: Request, principal: ReaderDep, rule_id: str) -> Response:
    """Every saved version of the rule, newest first, each with what it changed and a restore button."""
    template, slug = _split_or_404(rule_id)
    engine = request.app.state.engine
    versions = service.history(engine, template, slug)
    current = service.get_rule(engine, rule_id, at=_now())
    if not versions and current is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    diffs = {v.version: service.version_diff(engine, template, slug, v.version) for v in versions}
    context = {
        "rule_id": rule_id,
        "current": current,
        "versions": versions,
        "diffs": diffs,
        "actions": ACTIONS,
        "editable": principal.role.value == "admin",
    }
    return render(request, "rules/history.html", context, principal=principal)


@router.get("/{rule_id}/history/{number}", name="rule_diff")
def diff(
    request: Request,
    principal: ReaderDep,
    rule_id: str,
    number: int,
    against: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """What version `number` changed against `against` (default: the version before it)."""
    template, slug = _split_or_404(rule_id)
    found = service.version_diff(request.app.state.engine, template, slug, number, against)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    context = {
        "rule_id": rule_id,
        "diff": found,
        "actions": ACTIONS,
        "editable": principal.role.value == "admin",
    }
    return render(request, "rules/diff.html", context, principal=principal)


@router.post("/{rule_id}/history/{number}/restore", name="rule_restore")
def restore(
    request: Request, principal: AdminDep, session: SessionDep, rule_id: str, number: int
) -> Response:
    """Make version `number` the rule again, as a new version; audited."""
    template, slug = _split_or_404(rule_id)
    try:
        restored = service.restore_version(
            request.app.state.engine, session, template, slug, number, actor=principal, at=_now()
        )
        session.commit()
    except TemplateError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "; ".join(exc.errors)[:2_000]) from None
    return RedirectResponse(f"/rules/{restored}?restored={number}", status_code=status.HTTP_303_SEE_OTHER)
