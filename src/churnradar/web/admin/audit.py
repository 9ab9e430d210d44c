"""REST API for the audit log: who changed or exported what, when and from where; admins' tokens only."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from churnradar.auth import service as auth_service
from churnradar.web.deps import AdminToken, SessionDep

router = APIRouter(tags=["audit"])
MAX_PER_PAGE = 200


class AuditRead(BaseModel):
    """One audit entry."""

    id: int
    at: datetime
    actor: str
    actor_id: int | None
    action: str
    entity: str
    entity_id: str | None
    source: str | None
    details: dict[str, Any] | None


class AuditPage(BaseModel):
    """A page of audit entries, newest first, and how many match in all."""

    items: list[AuditRead]
    total: int
    page: int
    per_page: int


Text = Annotated[str | None, Query(min_length=1, max_length=200)]


@router.get(
    "/audit",
    response_model=AuditPage,
    responses={403: {"description": "Needs a token with the admin scope, of an admin."}},
    summary="Audit log",
)
def audit(
    _principal: AdminToken,
    session: SessionDep,
    actor: Text = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    entity: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since: Annotated[date | None, Query(description="First day (UTC), inclusive.")] = None,
    until: Annotated[date | None, Query(description="Last day (UTC), inclusive.")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
) -> AuditPage:
    """Entries matching every filter given (actor's login without regard to case, action, entity, days)."""
    rows, total = auth_service.audit_page(
        session,
        actor=actor,
        action=action,
        entity=entity,
        since=datetime.combine(since, time()) if since else None,
        until=datetime.combine(until + timedelta(days=1), time()) if until else None,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    items = [AuditRead.model_validate(row, from_attributes=True) for row in rows]
    return AuditPage(items=items, total=total, page=page, per_page=per_page)
