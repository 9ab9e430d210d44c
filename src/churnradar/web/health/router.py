"""`GET /healthz` (the process answers), `GET /readyz` (it can serve: database, lake, migrations) and
`GET /metrics` (Prometheus), outside sign-in; /metrics only for the token or the allowed addresses."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from churnradar.config import Settings
from churnradar.web.client import client_address, parse_networks
from churnradar.web.health.service import CONTENT_TYPE, metrics_text, readiness

router = APIRouter(tags=["health"], include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """200 when the database answers, its migrations are current and its lake is its own; 503 otherwise."""
    checks = readiness(request.app.state.engine)
    ready = all(state == "ok" for state in checks.values())
    code = status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status_code=code)


def metrics_refusal(request: Request, settings: Settings) -> int | None:
    """Why this request may not read /metrics (an HTTP status), or None when it may."""
    ops = settings.ops
    if ops.metrics_token is None and not ops.metrics_allow:
        return status.HTTP_404_NOT_FOUND  # not switched on
    if ops.metrics_allow:
        try:
            address = ipaddress.ip_address(client_address(request))
        except ValueError:
            address = None
        if address is not None and any(address in block for block in parse_networks(ops.metrics_allow)):
            return None
    if ops.metrics_token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = ops.metrics_token.get_secret_value()
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode()):
            return None
        return status.HTTP_401_UNAUTHORIZED
    return status.HTTP_403_FORBIDDEN


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """The store's figures in the Prometheus text format."""
    refused = metrics_refusal(request, request.app.state.settings)
    if refused is not None:
        headers = {"WWW-Authenticate": "Bearer"} if refused == status.HTTP_401_UNAUTHORIZED else None
        return Response(status_code=refused, headers=headers)
    now = request.app.state.clock.now()
    return Response(metrics_text(request.app.state.engine, now), media_type=CONTENT_TYPE)
