"""/api/v1/indicators: custom indicators users define without code.

Any signed-in token reads them (GET); only an admin's admin token creates, replaces, removes, exports and
imports them. Every change is audited by the indicator service; the same checks as the CLI's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request, Response, status

from churnradar.indicator import service as indicator_service
from churnradar.indicator.custom import CustomDefinition
from churnradar.rule import service as rule_service
from churnradar.rule.fields import customer_fields
from churnradar.web.deps import AdminToken, ReadPrincipal
from churnradar.web.i18n import negotiate
from churnradar.web.indicators.schemas import IndicatorView

router = APIRouter(prefix="/indicators", tags=["indicators"])
YAML_BODY = {
    "requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}, "required": True}
}


def _locale(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


@router.get("", response_model=list[IndicatorView], summary="List custom indicators")
def list_indicators(_principal: ReadPrincipal, request: Request) -> Any:
    """Every stored custom indicator, its name in the reader's language (Accept-Language)."""
    locale = _locale(request)
    return [IndicatorView.of(d, locale) for d in indicator_service.list_custom(request.app.state.engine)]


@router.get("/export", summary="Export custom indicators as YAML (admins)")
def export_indicators(principal: AdminToken, request: Request) -> Response:
    """Every stored definition as one YAML document, which `POST /indicators/import` takes back."""
    text = indicator_service.export_custom(request.app.state.engine, actor=principal)
    return Response(text, media_type="application/yaml")


@router.get("/{name}", response_model=IndicatorView, summary="One custom indicator")
def get_indicator(name: str, _principal: ReadPrincipal, request: Request) -> Any:
    """The stored definition `name`."""
    return IndicatorView.of(indicator_service.get_custom(request.app.state.engine, name), _locale(request))


def _save(request: Request, principal: Any, definitions: list[CustomDefinition]) -> dict[str, int]:
    return indicator_service.save_custom(
        request.app.state.engine,
        definitions,
        actor=principal,
        reserved=tuple(customer_fields()),
        rules_using=rule_service.rules_using,
    )


@router.post("", response_model=IndicatorView, status_code=status.HTTP_201_CREATED, summary="Create one")
def create_indicator(body: CustomDefinition, principal: AdminToken, request: Request) -> Any:
    """Store a new custom indicator; 409 when the name is taken, 422 naming the key that is wrong."""
    names = {d.name for d in indicator_service.list_custom(request.app.state.engine)}
    if body.name in names:
        raise HTTPException(status.HTTP_409_CONFLICT, f"indicator {body.name!r} exists; PUT replaces it")
    _save(request, principal, [body])
    return IndicatorView.of(body, _locale(request))


@router.put("/{name}", response_model=IndicatorView, summary="Create or replace one")
def put_indicator(name: str, body: CustomDefinition, principal: AdminToken, request: Request) -> Any:
    """Create or replace the custom indicator `name`; rules reading it use the new definition at once."""
    if body.name != name:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the body's name differs from the path's")
    _save(request, principal, [body])
    return IndicatorView.of(body, _locale(request))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove one")
def delete_indicator(name: str, principal: AdminToken, request: Request) -> Response:
    """Remove a custom indicator; 409 naming the rules while any rule reads it."""
    indicator_service.remove_custom(
        request.app.state.engine, name, actor=principal, rules_using=rule_service.rules_using
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/import", summary="Import custom indicators from YAML (admins)", openapi_extra=YAML_BODY)
def import_indicators(
    principal: AdminToken, request: Request, text: str = Body(media_type="application/yaml")
) -> Any:
    """Create or replace every definition of a YAML document, checked whole first (nothing stored if bad)."""
    definitions = indicator_service.parse_custom_yaml(text, "body")
    return _save(request, principal, definitions)
