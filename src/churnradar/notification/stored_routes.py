"""Notification routes and quiet hours admins store, over the YAML file's (which stays an alternative).

Stored, they replace the file's routes and quiet hours whole (routes in their order; every route a notice
matches sends it). Removing them lets the file's apply again. Checked whole, each wrong route named by its
position and field; every change, export and import audited.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.config import NotificationSettings, Route, Settings
from churnradar.kit import yaml_documents
from churnradar.notification.exceptions import ChannelConfigError
from churnradar.rule import service as rule_service

DOCUMENT = "notification_routing"


class RoutingDocument(BaseModel):
    """The routes in their order, and the quiet hours (local time; both or neither)."""

    model_config = ConfigDict(extra="forbid")

    routes: list[Route] = Field(max_length=200)
    quiet_start: time | None = None
    quiet_end: time | None = None

    @model_validator(mode="after")
    def _both_quiet_ends(self) -> RoutingDocument:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet_start and quiet_end: give both, or neither for no quiet hours")
        return self


def stored(conn: Connection | Session) -> RoutingDocument | None:
    """The admins' routing, or None when the file's applies."""
    body = rule_service.settings_document(conn, DOCUMENT)
    return RoutingDocument.model_validate(body) if body is not None else None


def in_force(notifications: NotificationSettings, saved: RoutingDocument | None) -> RoutingDocument:
    """The routing that applies: the stored one, else the file's."""
    if saved is not None:
        return saved
    n = notifications
    return RoutingDocument(routes=n.routes, quiet_start=n.quiet_start, quiet_end=n.quiet_end)


def applied(conn: Connection | Session, settings: Settings) -> Settings:
    """The settings with the stored routes and quiet hours in place of the file's (as they are without)."""
    saved = stored(conn)
    if saved is None:
        return settings
    n = settings.notifications
    changes = {"routes": saved.routes, "quiet_start": saved.quiet_start, "quiet_end": saved.quiet_end}
    return settings.model_copy(update={"notifications": n.model_copy(update=changes)})


def check(body: Mapping[str, Any], channels: Collection[str]) -> RoutingDocument:
    """A routing document checked whole, or `ChannelConfigError` naming each wrong place."""
    try:
        document = RoutingDocument.model_validate(body)
    except ValidationError as exc:
        raise ChannelConfigError(yaml_documents.joined(yaml_documents.problems("", exc))) from None
    errors = [
        f"routes[{i}].channel: unknown channel {route.channel[:64]!r}"
        for i, route in enumerate(document.routes)
        if route.channel not in channels
    ]
    if errors:
        raise ChannelConfigError(yaml_documents.joined(errors))
    return document


def save(
    session: Session,
    principal: Principal | None,
    body: Mapping[str, Any],
    channels: Collection[str],
    *,
    now: datetime,
) -> RoutingDocument:
    """Check and store the routes and quiet hours (`channels`: the names configured); audited; not
    committed."""
    document = check(body, channels)
    by = principal.login if principal else None
    rule_service.save_settings_document(session, DOCUMENT, document.model_dump(mode="json"), at=now, by=by)
    details = {"routes": len(document.routes), "quiet": document.quiet_start is not None}
    auth_service.record(session, principal, "update", "notification_routing", None, details, at=now)
    return document


def reset(session: Session, principal: Principal | None, *, now: datetime) -> bool:
    """Drop the stored routing so the file's applies again; audited; not committed. Whether there was one."""
    if stored(session) is None:
        return False
    rule_service.save_settings_document(session, DOCUMENT, None, at=now, by=None)
    auth_service.record(session, principal, "delete", "notification_routing", None, None, at=now)
    return True


def routes_text(notifications: NotificationSettings) -> str:
    """The routes in force as a YAML `routes:` document (the settings page's text box)."""
    routes = [r.model_dump(mode="json", exclude_defaults=True) for r in notifications.routes]
    return yaml_documents.dump({"routes": routes})


def export_yaml(session: Session, principal: Principal | None, notifications: NotificationSettings) -> str:
    """The routing in force as YAML (`routes:`, `quiet_start`, `quiet_end`), audited."""
    auth_service.record_export(session, principal, "notification_routing", format="yaml")
    return yaml_documents.dump(in_force(notifications, stored(session)).model_dump(mode="json"))


def import_yaml(
    session: Session, principal: Principal | None, text: str, channels: Collection[str], *, now: datetime
) -> RoutingDocument:
    """Store a YAML routing document, checked whole; audited; not committed."""
    document = yaml_documents.read_document(text, ChannelConfigError)
    return save(session, principal, document, channels, now=now)
