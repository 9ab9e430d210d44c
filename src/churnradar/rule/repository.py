"""Stored rules: per template, the rule entries as a template file writes them (overrides may be partial);
and the settings documents admins keep whole (routes, template choices), read by the domains above."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar.db import table_of
from churnradar.models import Rule, SettingsDocument

RULES = table_of(Rule)
DOCUMENTS = table_of(SettingsDocument)


def stored_rules(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Rule entries by template, in the order they were stored."""
    rows = conn.execute(select(RULES.c.template, RULES.c.definition).order_by(RULES.c.template, RULES.c.id))
    out: dict[str, list[dict[str, Any]]] = {}
    for template, definition in rows:
        out.setdefault(str(template), []).append(dict(definition))
    return out


def replace_rules(
    conn: Connection, rules: Mapping[str, Sequence[Mapping[str, Any]]], *, at: datetime, by: str | None
) -> None:
    """Store `rules` for each template given, replacing what that template had; other templates stay."""
    for template, entries in rules.items():
        conn.execute(delete(RULES).where(RULES.c.template == template))
        rows = [
            {
                "template": template,
                "slug": e["slug"],
                "level": str(e.get("level", "")),
                "enabled": bool(e.get("enabled", True)),
                "definition": dict(e),
                "updated_at": at,
                "updated_by": by,
            }
            for e in entries
        ]
        if rows:
            conn.execute(insert(RULES), rows)


def settings_document(conn: Connection | Session, name: str) -> dict[str, Any] | None:
    """A stored settings document's JSON, or None when admins never stored it."""
    row = conn.execute(select(DOCUMENTS.c.body).where(DOCUMENTS.c.name == name)).first()
    return dict(row.body) if row is not None else None


def save_settings_document(
    conn: Connection | Session, name: str, body: dict[str, Any] | None, *, at: datetime, by: str | None
) -> None:
    """Replace a settings document whole; None removes it (the files' settings apply again)."""
    conn.execute(delete(DOCUMENTS).where(DOCUMENTS.c.name == name))
    if body is not None:
        conn.execute(insert(DOCUMENTS).values(name=name, body=body, updated_at=at, updated_by=by))
