"""Stored field and entry type definitions (JSON as the user wrote them, checked by the service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from churnradar.db import table_of
from churnradar.models import CustomField, EntryType

FIELDS = table_of(CustomField)
ENTRY_TYPES = table_of(EntryType)


def field_definitions(conn: Connection) -> list[dict[str, Any]]:
    """Every stored field definition, in the order they were created."""
    rows = conn.execute(select(FIELDS.c.definition).order_by(FIELDS.c.id))
    return [dict(r) for (r,) in rows]


def save_field(
    conn: Connection, entity: str, slug: str, raw: dict[str, Any], *, at: datetime, by: str | None
) -> bool:
    """Insert or replace one field; True when it was new."""
    where = (FIELDS.c.entity == entity) & (FIELDS.c.slug == slug)
    changed = conn.execute(update(FIELDS).where(where).values(definition=raw, updated_at=at, updated_by=by))
    if changed.rowcount:
        return False
    conn.execute(
        insert(FIELDS).values(
            entity=entity, slug=slug, definition=raw, created_at=at, updated_at=at, updated_by=by
        )
    )
    return True


def delete_field(conn: Connection, entity: str, slug: str) -> None:
    """Remove one field definition."""
    conn.execute(delete(FIELDS).where((FIELDS.c.entity == entity) & (FIELDS.c.slug == slug)))


def entry_type_definitions(conn: Connection) -> list[dict[str, Any]]:
    """Every stored entry type definition, in the order they were created."""
    rows = conn.execute(select(ENTRY_TYPES.c.definition).order_by(ENTRY_TYPES.c.id))
    return [dict(r) for (r,) in rows]


def save_entry_type(
    conn: Connection, slug: str, raw: dict[str, Any], *, at: datetime, by: str | None
) -> bool:
    """Insert or replace one entry type; True when it was new."""
    where = ENTRY_TYPES.c.slug == slug
    changed = conn.execute(
        update(ENTRY_TYPES).where(where).values(definition=raw, updated_at=at, updated_by=by)
    )
    if changed.rowcount:
        return False
    conn.execute(
        insert(ENTRY_TYPES).values(slug=slug, definition=raw, created_at=at, updated_at=at, updated_by=by)
    )
    return True


def delete_entry_type(conn: Connection, slug: str) -> None:
    """Remove one entry type (the events its entries became stay)."""
    conn.execute(delete(ENTRY_TYPES).where(ENTRY_TYPES.c.slug == slug))
