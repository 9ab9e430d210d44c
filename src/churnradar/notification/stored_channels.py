"""Channels admins add in the UI or API, stored beside the YAML file's (a stored one wins on the same name).

Secrets are sealed at rest (`kit.secrets`, keyed like a source's: SECRETS__KEY, else SECRET_KEY) and never
returned: a view says which secrets are set, not what they are. Every change is audited without its secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar import i18n
from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.config import ChannelConfig, Settings
from churnradar.kit import secrets, yaml_documents
from churnradar.notification import repository as outbox_repo
from churnradar.notification import stored_routes
from churnradar.notification.channels import build, channels
from churnradar.notification.channels.base import load_plugins
from churnradar.notification.exceptions import ChannelConfigError

PURPOSE = b"churnradar channel secrets v1"
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class ChannelView:
    """A stored channel as admins see it: options, and the names of its secrets (never their values)."""

    name: str
    type: str
    options: dict[str, Any]
    secrets_set: list[str]
    updated_at: datetime
    updated_by: str | None


def _material(settings: Settings) -> str:
    return (settings.secrets.key or settings.secret_key).get_secret_value()


def views(conn: Connection | Session, settings: Settings) -> list[ChannelView]:
    """Every stored channel, secrets as the names that are set."""
    found = []
    for row in outbox_repo.stored_channels(conn):
        try:
            names = sorted(secrets.unseal(row.sealed_secrets, _material(settings), PURPOSE))
        except secrets.UnreadableSecretsError:
            names = []
        found.append(
            ChannelView(row.name, row.type, dict(row.options), names, row.updated_at, row.updated_by)
        )
    return found


def with_stored(conn: Connection | Session, settings: Settings) -> Settings:
    """The settings with the stored channels added to the file's (a stored one replaces one of its name),
    and the stored routes and quiet hours in place of the file's."""
    settings = stored_routes.applied(conn, settings)
    rows = outbox_repo.stored_channels(conn)
    if not rows:
        return settings
    stored = {}
    for row in rows:
        try:
            values = secrets.unseal(row.sealed_secrets, _material(settings), PURPOSE)
        except secrets.UnreadableSecretsError:
            continue  # the key changed: the channel is skipped until its secrets are set again
        stored[row.name] = ChannelConfig(
            type=row.type, options=dict(row.options), secrets={k: SecretStr(v) for k, v in values.items()}
        )
    n = settings.notifications
    return settings.model_copy(
        update={"notifications": n.model_copy(update={"channels": n.channels | stored})}
    )


def names_in_force(conn: Connection | Session, settings: Settings) -> list[str]:
    """The channel names routes may name: the channels in force (the file's and the stored ones), and those
    the routing in force names already (the shipped routes name `email` before any email channel exists), so
    the routing an admin exports imports back unchanged; a route naming an absent channel sends nothing."""
    names = list(with_stored(conn, settings).notifications.channels)
    routing = stored_routes.in_force(settings.notifications, stored_routes.stored(conn))
    return names + sorted({route.channel for route in routing.routes} - set(names))


def save(
    session: Session,
    principal: Principal | None,
    settings: Settings,
    name: str,
    body: Mapping[str, Any],
    *,
    now: datetime,
) -> ChannelView:
    """Check and store a channel (`type`, `options`, `secrets`; secrets left out keep their stored values);
    `ChannelConfigError` naming the field. Audited without secrets; not committed."""
    if not name or len(name) > 64 or not set(name) <= NAME_CHARS:
        raise ChannelConfigError(i18n.msg("name: use 1-64 lower-case letters, digits, '-' or '_'"))
    kind = str(body.get("type", ""))
    if kind not in channels:
        load_plugins()
    if kind not in channels:
        raise ChannelConfigError(
            i18n.msg(
                "type: unknown channel type {name}; types are {types}",
                name=repr(kind[:32]),
                types=", ".join(channels),
            )
        )
    previous = {row.name: row for row in outbox_repo.stored_channels(session)}.get(name)
    try:
        kept = secrets.unseal(previous.sealed_secrets, _material(settings), PURPOSE) if previous else {}
    except secrets.UnreadableSecretsError:
        kept = {}  # sealed under an older key: only what is given now
    given = body.get("secrets") or {}
    if not isinstance(given, dict) or not isinstance(body.get("options", {}), dict):
        raise ChannelConfigError(i18n.msg("options and secrets: expected mappings of names to values"))
    values = kept | {str(k): str(v) for k, v in given.items()}
    try:
        config = ChannelConfig(
            type=kind, options=body.get("options", {}), secrets={k: SecretStr(v) for k, v in values.items()}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ChannelConfigError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}"[:300]) from None
    try:
        build(name, config)
    except ValueError as exc:
        raise ChannelConfigError(str(exc)[:500]) from None
    by = principal.login if principal else None
    sealed = secrets.seal(values, _material(settings), PURPOSE)
    row = {"name": name, "type": kind, "options": dict(config.options), "sealed_secrets": sealed}
    outbox_repo.save_channel(session, row | {"updated_at": now, "updated_by": by})
    details = {"type": kind, "options": sorted(config.options), "secrets": sorted(values)}
    auth_service.record(session, principal, "update", "channel", name, details, at=now)
    return ChannelView(name, kind, dict(config.options), sorted(values), now, by)


def remove(session: Session, principal: Principal | None, name: str, *, now: datetime) -> bool:
    """Drop a stored channel (the file's of that name, if any, applies again); audited; not committed."""
    removed = outbox_repo.remove_channel(session, name)
    if removed:
        auth_service.record(session, principal, "delete", "channel", name, None, at=now)
    return removed


def export_yaml(session: Session, principal: Principal | None, settings: Settings) -> str:
    """The stored channels as YAML (`channels:` entries with name, type, options, and `secrets_set`: the
    names of the secrets set, never their values), audited."""
    auth_service.record_export(session, principal, "channels", format="yaml")
    entries = [
        {"name": v.name, "type": v.type, "options": v.options, "secrets_set": v.secrets_set}
        for v in views(session, settings)
    ]
    return yaml_documents.dump({"channels": entries})


def import_yaml(
    session: Session, principal: Principal | None, settings: Settings, text: str, *, now: datetime
) -> int:
    """Store each `channels:` entry (name, type, options, and `secrets` to set; a stored channel keeps the
    secrets left out; `secrets_set` is ignored), all checked before any is kept: `ChannelConfigError`
    locating each wrong one (`channels[1] (sms): ...`), the session then to be rolled back. Audited per
    channel; not committed. How many."""
    document = yaml_documents.read_document(text, ChannelConfigError)
    entries = yaml_documents.entries_of(document, "channels", ChannelConfigError)
    errors: list[str] = []
    for index, entry in enumerate(entries):
        name = str(entry.get("name", ""))[:64] if isinstance(entry, dict) else ""
        where = f"channels[{index}] ({name})" if name else f"channels[{index}]"
        if not isinstance(entry, dict):
            errors.append(f"{where}: expected a mapping with name, type, options and secrets")
            continue
        unknown = sorted(set(map(str, entry)) - {"name", "type", "options", "secrets", "secrets_set"})
        if unknown:
            errors.append(f"{where}: unknown keys {', '.join(unknown)[:200]}")
            continue
        try:
            save(session, principal, settings, name, entry, now=now)
        except ChannelConfigError as exc:
            errors.append(f"{where}: {exc}")
    if errors:
        raise ChannelConfigError(yaml_documents.joined(errors))
    return len(entries)
