"""The settings documents admins keep whole (playbooks, task routes, notification routing, template choices,
...) exported and imported as YAML over the API, the same way for every kind: the kind's own module renders
or checks and stores the document, audited in the request's session; these commit it and answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

T = TypeVar("T")


def exported(session: Session, export: Callable[[], str]) -> PlainTextResponse:
    """The document `export` renders, as YAML; its audit entry committed first."""
    text = export()
    session.commit()
    return PlainTextResponse(text, media_type="application/yaml")


async def imported(request: Request, session: Session, load: Callable[[str], T]) -> T:
    """What `load` returns for the request's YAML body, which it checks whole and stores (audited), committed.
    A refused document raises from `load` and nothing is committed."""
    text = (await request.body()).decode("utf-8", errors="replace")
    result = load(text)
    session.commit()
    return result
