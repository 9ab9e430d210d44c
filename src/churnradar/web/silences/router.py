"""REST API for silences: list (read scope), add and end (write scope); every change audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status

from churnradar.alert import service as alert_service
from churnradar.alert.exceptions import SilenceEndedError, SilenceError
from churnradar.auth.schemas import Principal, Scope
from churnradar.web.deps import ReadPrincipal, SessionDep, api_principal, clock_of
from churnradar.web.silences.schemas import SilenceCreate, SilenceRead

router = APIRouter(prefix="/silences", tags=["silences"])
WritePrincipal = Annotated[Principal, Depends(api_principal(Scope.WRITE))]
REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"description": "Refused; `detail` names the field at fault (`loc`) and why. Nothing was stored."}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such silence, or not one this token's user may change."},
    409: {"description": "The silence has ended already."},
}


def _now(request: Request) -> datetime:
    now: datetime = clock_of(request).now()
    return now


def _utc(value: datetime) -> datetime:
    """Naive UTC, as silences are stored."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _read(silence: alert_service.SilenceRead) -> SilenceRead:
    return SilenceRead(**silence.as_dict())


def _refused(exc: SilenceError) -> HTTPException:
    """A refusal located like FastAPI's own validation errors."""
    loc = ["body", exc.field] if exc.field else ["body"]
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": loc, "msg": str(exc), "type": "value_error"}]
    )


@router.get("", response_model=list[SilenceRead], summary="List silences")
def list_silences(
    request: Request,
    principal: ReadPrincipal,
    session: SessionDep,
    include_ended: Annotated[bool, Query(alias="all", description="Ended silences too.")] = False,
) -> list[SilenceRead]:
    """Silences in force or to come (`?all=true`: ended ones too), newest first: those of customers the
    token's user may see, and rule-wide ones."""
    rows = alert_service.list_silences(
        session, now=_now(request), include_ended=include_ended, principal=principal
    )
    return [_read(r) for r in rows[:1000]]


@router.post(
    "", response_model=SilenceRead, status_code=status.HTTP_201_CREATED, responses=REFUSED, summary="Add"
)
def add_silence(
    request: Request, principal: WritePrincipal, session: SessionDep, body: SilenceCreate
) -> SilenceRead:
    """Mute a customer's alerts, a rule's alerts, or one rule for one customer, as `churnradar silence add`
    does (same checks). It applies to every evaluation of a day it is in force at any moment of, today's
    rerun included. A rule for every customer may be silenced only by admins and directors."""
    now = _now(request)
    try:
        created = alert_service.create_silence(
            session,
            customer=body.customer,
            rule=body.rule,
            starts_at=_utc(body.starts_at) if body.starts_at else now,
            ends_at=_utc(body.ends_at),
            reason=body.reason,
            now=now,
            principal=principal,
        )
        session.commit()
    except SilenceError as exc:
        session.rollback()
        raise _refused(exc) from None
    return _read(created)


@router.post("/{silence_id}/end", response_model=SilenceRead, responses=NOT_FOUND, summary="End a silence")
def end_silence(
    request: Request,
    principal: WritePrincipal,
    session: SessionDep,
    silence_id: Annotated[int, Path(ge=1, le=2**62)],
) -> SilenceRead:
    """Set the silence's end to now (audited): from the next day's evaluation on, it mutes nothing."""
    try:
        ended = alert_service.end_silence(session, silence_id, now=_now(request), principal=principal)
        session.commit()
    except SilenceEndedError as exc:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if ended is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such silence")
    return _read(ended)
