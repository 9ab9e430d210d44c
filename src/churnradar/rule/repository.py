"""Stored rules: per template, the rule entries as a template file writes them (overrides may be partial)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from churnradar.db import table_of
from churnradar.models import Rule

RULES = table_of(Rule)


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
