"""Stored rules: per template, the rule entries as a template file writes them (overrides may be partial),
and every saved state of each rule (its versions); and the settings documents admins keep whole (routes,
template choices), read by the domains above."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar.db import table_of
from churnradar.models import Rule, RuleVersion, SettingsDocument

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


def rules_stamp(conn: Connection) -> tuple[object, int]:
    """When a stored rule last changed, and how many are stored."""
    latest, count = conn.execute(select(func.max(RULES.c.updated_at), func.count())).one()
    return latest, int(count)


def rule_names(conn: Connection) -> dict[tuple[str, str], tuple[str, str]]:
    """(template, slug) → (English name, Chinese name) of every stored rule that has both names."""
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for template, slug, definition in conn.execute(
        select(RULES.c.template, RULES.c.slug, RULES.c.definition)
    ):
        en, zh = definition.get("name_en"), definition.get("name_zh")
        if en and zh:
            names[(str(template), str(slug))] = (str(en), str(zh))
    return names


VERSIONS = table_of(RuleVersion)


def latest_version(conn: Connection, template: str, slug: str) -> int:
    """The number of the rule's latest stored version, 0 when it has none."""
    found = conn.execute(
        select(func.max(VERSIONS.c.version)).where(VERSIONS.c.template == template, VERSIONS.c.slug == slug)
    ).scalar_one()
    return int(found or 0)


def add_version(
    conn: Connection,
    template: str,
    slug: str,
    definition: Mapping[str, Any] | None,
    *,
    action: str,
    note: str | None,
    at: datetime,
    by: str | None,
) -> int:
    """Append the rule's next version and return its number."""
    number = latest_version(conn, template, slug) + 1
    conn.execute(
        insert(VERSIONS).values(
            template=template,
            slug=slug,
            version=number,
            action=action,
            definition=dict(definition) if definition is not None else None,
            note=note,
            created_at=at,
            created_by=by,
        )
    )
    return number


def versions_of(conn: Connection, template: str, slug: str) -> list[dict[str, Any]]:
    """The rule's versions, newest first, as mappings of the table's columns."""
    rows = conn.execute(
        select(VERSIONS)
        .where(VERSIONS.c.template == template, VERSIONS.c.slug == slug)
        .order_by(VERSIONS.c.version.desc())
    )
    return [dict(row._mapping) for row in rows]


def deleted_rules(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """Rules whose latest version is a deletion, newest first (to restore them)."""
    latest = (
        select(VERSIONS.c.template, VERSIONS.c.slug, func.max(VERSIONS.c.version).label("version"))
        .group_by(VERSIONS.c.template, VERSIONS.c.slug)
        .subquery()
    )
    rows = conn.execute(
        select(VERSIONS)
        .join(
            latest,
            (VERSIONS.c.template == latest.c.template)
            & (VERSIONS.c.slug == latest.c.slug)
            & (VERSIONS.c.version == latest.c.version),
        )
        .where(VERSIONS.c.definition.is_(None))
        .order_by(VERSIONS.c.created_at.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in rows]


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
