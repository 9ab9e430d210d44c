"""A request id for every request: taken from the proxy's `X-Request-ID` when it is a plain token, else
made; sent back in the response, on every log line logged while serving it, and in one access line."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from churnradar.kit.logs import request_id

log = logging.getLogger("churnradar.web")
_TOKEN = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RequestIds:
    """Pure ASGI middleware (no buffering of streamed exports)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _TOKEN.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.monotonic()
        answered = {"status": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # The path only: a query string may carry a customer's name or a search.
            log.info(
                "%s %s %s %.0f ms",
                scope.get("method", "-"),
                scope.get("path", "-")[:200],
                answered["status"] or "-",
                (time.monotonic() - started) * 1000,
            )
            request_id.reset(token)
