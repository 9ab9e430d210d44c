"""REST API for the settings an admin checks from outside: send a test message through a channel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from churnradar.web.deps import AdminToken, SessionDep
from churnradar.web.settings.pages import test_channel

router = APIRouter(tags=["settings"])


@router.post(
    "/channels/{channel_id}/test",
    summary="Send a test message",
    responses={404: {"description": "No channel of that name."}, 403: {"description": "Admins only."}},
)
def send_test(
    request: Request, principal: AdminToken, session: SessionDep, channel_id: str
) -> dict[str, Any]:
    """Send a test message through the channel to the token user's own address now (audited): `ok`, and the
    `error` the channel gave when it failed."""
    return test_channel(request.app.state.settings, session, principal, channel_id)
