"""REST API for rules: list, read and their versions (admins, directors, managers); check, create, change,
clone, delete and restore rules (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal, Scope
from churnradar.kit.clock import SystemClock
from churnradar.models.people import Role
from churnradar.rule import service as rule_service
from churnradar.rule.exceptions import TemplateError
from churnradar.rule.schemas import FieldChange, RuleDef, RuleVersionRead
from churnradar.web.deps import AdminToken, SessionDep, api_principal
from churnradar.web.rules import service
from churnradar.web.rules.drafts import check_with_count
from churnradar.web.rules.schemas import ConditionResult, RuleRead, RulesImport, RulesImported, split_rule_id
from churnradar.web.schemas import Page

router = APIRouter(prefix="/rules", tags=["rules"])
READERS = frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER})
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No rule with this id."}}
REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"description": "The rule fails its checks; `detail` lists every problem, as `rule import` does."},
    **NOT_FOUND,
}


_read_token = api_principal(Scope.READ)


def _refuse_unless(principal: Principal, roles: frozenset[Role]) -> Principal:
    if principal.role not in roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this user's role may not do this")
    return principal


def rule_reader(principal: Annotated[Principal, Depends(_read_token)]) -> Principal:
    """A token with the read scope, of an admin, director or manager."""
    return _refuse_unless(principal, READERS)


RuleReader = Annotated[Principal, Depends(rule_reader)]
RuleAdmin = AdminToken  # a token with the admin scope, of an admin


class ConditionRequest(BaseModel):
    """A condition to check, optionally as a new condition of an existing rule (its scope and templates)."""

    condition: str = Field(max_length=20_000)
    rule_id: str | None = Field(default=None, max_length=200, description="Judge it as this rule would.")


def _now() -> datetime:
    return SystemClock().now()


def _rule(request: Request, rule_id: str) -> RuleRead:
    found = service.get_rule(request.app.state.engine, rule_id, at=_now())
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such rule")
    return found


@router.get("", response_model=Page[RuleRead], summary="List rules")
def list_rules(
    request: Request,
    _principal: RuleReader,
    template: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[RuleRead]:
    """Every template's rules as each template applies them (general first), optionally of one template."""
    rules = [
        r for r in service.list_rules(request.app.state.engine, at=_now()) if template in (None, r.template)
    ]
    start = (page - 1) * per_page
    return Page[RuleRead].of(rules[start : start + per_page], total=len(rules), page=page, per_page=per_page)


@router.get(
    "/export",
    response_class=PlainTextResponse,
    responses={403: {"description": "Admins only."}},
    summary="Export rules as YAML",
)
def export_rules(
    request: Request,
    principal: RuleAdmin,
    session: SessionDep,
    template: Annotated[list[str] | None, Query(max_length=50)] = None,
) -> PlainTextResponse:
    """The stored rules as `churnradar rule export` writes them (`template: [rules]`, optionally only the
    templates named), for `POST /rules/import` elsewhere or a file kept in git; audited."""
    text = rule_service.export_rules(request.app.state.engine, template or ())
    auth_service.record_export(session, principal, "rules", format="yaml")
    session.commit()
    return PlainTextResponse(text, media_type="application/yaml")


@router.get("/{rule_id}", response_model=RuleRead, responses=NOT_FOUND, summary="Get a rule")
def get_rule(request: Request, _principal: RuleReader, rule_id: str) -> RuleRead:
    """One rule by its id, `template.slug`."""
    return _rule(request, rule_id)


@router.put("/{rule_id}", response_model=RuleRead, responses=REFUSED, summary="Change a rule")
def put_rule(
    request: Request, principal: RuleAdmin, session: SessionDep, rule_id: str, rule: RuleDef
) -> RuleRead:
    """Replace a rule with the `rule` object a GET returns, changed (its slug stays).

    Checked with the rest of its template as `churnradar rule import` checks a file (400 lists every problem
    with the same messages), stored, and audited with each changed field's before and after. For a rule an
    industry template inherits, only the keys that differ from the parent's rule are stored in that template.
    """
    current = _rule(request, rule_id)
    if rule.slug != current.rule.slug:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, [f"the slug must stay {current.rule.slug!r}"])
    engine = request.app.state.engine
    try:
        service.save_rule(engine, session, current, rule.model_dump(), actor=principal, at=_now())
        session.commit()
    except TemplateError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, exc.errors) from None
    return _rule(request, rule_id)


@router.post(
    "/import",
    response_model=RulesImported,
    responses={
        422: {"description": "The document fails its checks; `detail` lists each problem, by position."}
    },
    summary="Import rules",
)
def import_rules(
    request: Request, principal: RuleAdmin, session: SessionDep, body: RulesImport
) -> RulesImported:
    """Replace the rules of the templates the YAML document lists, as `churnradar rule import` does: checked
    whole (nothing is stored if any rule fails) and audited."""
    try:
        counts = service.import_document(
            request.app.state.engine, session, body.document, actor=principal, at=_now()
        )
        session.commit()
    except TemplateError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.errors[:50]) from None
    return RulesImported(templates=counts)


@router.post("/validate", response_model=ConditionResult, responses=NOT_FOUND, summary="Check a condition")
def validate(request: Request, _principal: RuleAdmin, body: ConditionRequest) -> ConditionResult:
    """The error with its column, or `valid` with the customers it flags as of the latest evaluation."""
    current = _rule(request, body.rule_id) if body.rule_id else None
    return check_with_count(request, current, body.condition)


class RuleCreate(BaseModel):
    """A new rule of a template."""

    template: str = Field(max_length=64, description="The template's slug, e.g. `general` or `retail`.")
    rule: RuleDef


class RuleClone(BaseModel):
    """Where a copy goes: a template and a slug that is new there."""

    template: str = Field(max_length=64)
    slug: str = Field(max_length=100)


class VersionDiffRead(BaseModel):
    """What a version changed against an earlier one (none: against nothing)."""

    version: RuleVersionRead
    against: RuleVersionRead | None
    changes: list[FieldChange]


def _refused(exc: TemplateError) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, exc.errors[:50])


@router.post("", response_model=RuleRead, status_code=201, responses=REFUSED, summary="Create a rule")
def create_rule(request: Request, principal: RuleAdmin, session: SessionDep, body: RuleCreate) -> RuleRead:
    """Add a rule to a template, checked with the rest of it as `churnradar rule import` checks a file (400
    lists every problem); its first version, audited."""
    try:
        created = service.create_rule(
            request.app.state.engine,
            session,
            body.template,
            body.rule.model_dump(),
            actor=principal,
            at=_now(),
        )
        session.commit()
    except TemplateError as exc:
        raise _refused(exc) from None
    return _rule(request, created)


@router.delete("/{rule_id}", status_code=204, responses=REFUSED, summary="Delete a rule")
def delete_rule(request: Request, principal: RuleAdmin, session: SessionDep, rule_id: str) -> None:
    """Delete a template's own rule (or remove an override, so the parent's rule applies again); its versions
    stay, so a version can be restored. An inherited rule, or one other templates override, is refused."""
    current = _rule(request, rule_id)
    try:
        service.delete_rule(request.app.state.engine, session, current, actor=principal, at=_now())
        session.commit()
    except TemplateError as exc:
        raise _refused(exc) from None


@router.post(
    "/{rule_id}/clone", response_model=RuleRead, status_code=201, responses=REFUSED, summary="Clone a rule"
)
def clone_rule(
    request: Request, principal: RuleAdmin, session: SessionDep, rule_id: str, body: RuleClone
) -> RuleRead:
    """A copy of the rule in a template under a new slug, switched off until someone switches it on."""
    current = _rule(request, rule_id)
    try:
        copy = service.clone_rule(
            request.app.state.engine,
            session,
            current,
            template=body.template,
            slug=body.slug,
            actor=principal,
            at=_now(),
        )
        session.commit()
    except TemplateError as exc:
        raise _refused(exc) from None
    return _rule(request, copy)


def _split(rule_id: str) -> tuple[str, str]:
    parts = split_rule_id(rule_id)
    if parts is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such rule")
    return parts


@router.get("/{rule_id}/versions", response_model=list[RuleVersionRead], summary="A rule's versions")
def versions(request: Request, _principal: RuleReader, rule_id: str) -> list[RuleVersionRead]:
    """Every saved state of the rule, newest first (deleted rules too)."""
    return service.history(request.app.state.engine, *_split(rule_id))


@router.get(
    "/{rule_id}/versions/{number}/diff",
    response_model=VersionDiffRead,
    responses=NOT_FOUND,
    summary="What a version changed",
)
def version_diff(
    request: Request,
    _principal: RuleReader,
    rule_id: str,
    number: int,
    against: Annotated[int | None, Query(ge=0)] = None,
) -> VersionDiffRead:
    """The fields version `number` changed against `against` (default: the version before it)."""
    found = service.version_diff(request.app.state.engine, *_split(rule_id), number, against)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such version")
    return VersionDiffRead(version=found.version, against=found.against, changes=found.changes)


@router.post(
    "/{rule_id}/versions/{number}/restore",
    response_model=RuleRead,
    responses=REFUSED,
    summary="Restore a version",
)
def restore_version(
    request: Request, principal: RuleAdmin, session: SessionDep, rule_id: str, number: int
) -> RuleRead:
    """Make version `number` the rule again, as a new version (a deleted rule comes back); audited."""
    try:
        restored = service.restore_version(
            request.app.state.engine, session, *_split(rule_id), number, actor=principal, at=_now()
        )
        session.commit()
    except TemplateError as exc:
        raise _refused(exc) from None
    return _rule(request, restored)
