"""Playbooks admins edit: per template and level, stored in the database over the templates' own.

A stored playbook replaces the template's for tasks opened (or upgraded) after it is saved; open tasks keep
the copy they were given. Every save, removal, export and import is audited; an import is checked whole and
stores nothing when any entry is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar import i18n
from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.intervention import repository as task_repo
from churnradar.intervention.exceptions import PlaybookError
from churnradar.kit import yaml_documents
from churnradar.kit.levels import DEFAULT_LEVELS
from churnradar.rule.schemas import Playbook, Template

MAX_IMPORT_CHARS = 200_000

Stored = Mapping[tuple[str, str], Playbook]


@dataclass(frozen=True)
class PlaybookView:
    """The playbook in force for one template and level, and where it comes from."""

    template: str
    level: str
    playbook: Playbook
    source: str  # stored | template | general | fallback


def stored(conn: Connection | Session) -> dict[tuple[str, str], Playbook]:
    """The admins' playbooks by (template, level)."""
    return {key: Playbook.model_validate(body) for key, body in task_repo.stored_playbooks(conn).items()}


def in_force(
    templates: Mapping[str, Template], saved: Stored, template: str, level: str
) -> tuple[Playbook, str] | None:
    """The playbook for a template and level: stored, then the template's, then general's."""
    for slug in dict.fromkeys((template, "general")):
        if (slug, level) in saved:
            return saved[(slug, level)], "stored"
        found = templates.get(slug)
        for book in found.playbooks if found else []:
            if book.level == level:
                return book, "template" if slug == template else "general"
    return None


def views(templates: Mapping[str, Template], saved: Stored) -> list[PlaybookView]:
    """Every template's playbook per level (most severe first), general first."""
    order = sorted(templates, key=lambda slug: (slug != "general", slug))
    found = []
    for slug in order:
        for level in reversed(DEFAULT_LEVELS):
            book = in_force(templates, saved, slug, level)
            if book is not None:
                found.append(PlaybookView(slug, level, book[0], book[1]))
    return found


def _problem(where: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "playbook"
    return f"{where}{field}: {first['msg']}"[:300]


def check(
    templates: Mapping[str, Template],
    teams: Mapping[str, int],
    template: str,
    level: str,
    body: Mapping[str, Any],
    *,
    where: str = "",
) -> Playbook:
    """A playbook checked whole, or `PlaybookError` naming the field (prefixed by `where`, e.g. an entry)."""
    if template not in templates:
        raise PlaybookError(
            i18n.msg("{where}template: unknown template {name}", where=where, name=repr(template[:64]))
        )
    if level not in DEFAULT_LEVELS:
        raise PlaybookError(
            i18n.msg(
                "{where}level: unknown level {name}; levels are {levels}",
                where=where,
                name=repr(level[:32]),
                levels=", ".join(DEFAULT_LEVELS),
            )
        )
    try:
        book = Playbook.model_validate({**body, "level": level})
    except ValidationError as exc:
        raise PlaybookError(_problem(where, exc)) from None
    if book.team is not None and book.team not in teams:
        raise PlaybookError(
            i18n.msg("{where}team: unknown team {name}", where=where, name=repr(book.team[:100]))
        )
    return book


def save(
    session: Session,
    principal: Principal | None,
    templates: Mapping[str, Template],
    template: str,
    level: str,
    body: Mapping[str, Any],
    *,
    now: datetime,
) -> Playbook:
    """Check and store one playbook (new tasks take it), audited with the deadline's change; not committed."""
    book = check(templates, task_repo.team_ids(session), template, level, body)
    before = in_force(templates, stored(session), template, level)
    by = principal.login if principal else None
    task_repo.save_playbook(session, template, level, book.model_dump(mode="json"), at=now, by=by)
    old = before[0].deadline_hours if before else None
    details = {"deadline_hours": [old, book.deadline_hours], "role": book.role.value, "team": book.team}
    auth_service.record(session, principal, "update", "playbook", f"{template}/{level}", details, at=now)
    return book


def reset(session: Session, principal: Principal | None, template: str, level: str, *, now: datetime) -> bool:
    """Drop a stored playbook so the template's own applies again to new tasks; audited; not committed."""
    removed = task_repo.remove_playbook(session, template, level)
    if removed:
        auth_service.record(session, principal, "delete", "playbook", f"{template}/{level}", None, at=now)
    return removed


def copy_stored(session: Session, source: str, target: str, *, now: datetime, by: str | None) -> int:
    """Give template `target` (a clone) the playbooks admins stored for `source`; not committed. How many."""
    saved = task_repo.stored_playbooks(session)
    copied = {level: body for (template, level), body in saved.items() if template == source}
    for level, body in copied.items():
        task_repo.save_playbook(session, target, level, body, at=now, by=by)
    return len(copied)


def drop_stored(session: Session, template: str) -> int:
    """Drop every playbook admins stored for `template` (a clone being removed); not committed. How many."""
    levels = [level for (slug, level) in task_repo.stored_playbooks(session) if slug == template]
    return sum(task_repo.remove_playbook(session, template, level) for level in levels)


def export_yaml(session: Session, principal: Principal | None, templates: Mapping[str, Template]) -> str:
    """Every playbook in force as YAML (`playbooks:` entries with template and level), audited."""
    entries = [
        {
            "template": v.template,
            **v.playbook.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
        }
        | {"level": v.level, "role": v.playbook.role.value, "deadline_hours": v.playbook.deadline_hours}
        for v in views(templates, stored(session))
    ]
    auth_service.record_export(session, principal, "playbooks", format="yaml")
    return yaml_documents.dump({"playbooks": entries})


def import_yaml(
    session: Session,
    principal: Principal | None,
    templates: Mapping[str, Template],
    text: str,
    *,
    now: datetime,
) -> int:
    """Store every playbook of a YAML document, checked whole first: any wrong entry refuses them all, the
    message locating each (`playbooks[2].deadline_hours: ...`). Audited; not committed. How many stored."""
    document = yaml_documents.read_document(text, PlaybookError, max_chars=MAX_IMPORT_CHARS)
    entries = document.get("playbooks")
    if not isinstance(entries, list):
        raise PlaybookError(i18n.msg("playbooks: expected a list of playbooks"))
    teams = task_repo.team_ids(session)
    books: dict[tuple[str, str], Playbook] = {}
    errors: list[str] = []
    for i, entry in enumerate(entries):
        where = f"playbooks[{i}]."
        if not isinstance(entry, dict):
            errors.append(f"playbooks[{i}]: expected a mapping")
            continue
        body = {k: v for k, v in entry.items() if k != "template"}
        key = (str(entry.get("template", "")), str(entry.get("level", "")))
        try:
            books[key] = check(templates, teams, key[0], key[1], body, where=where)
        except PlaybookError as exc:
            errors.append(str(exc))
    if errors:
        raise PlaybookError(yaml_documents.joined(errors))
    by = principal.login if principal else None
    for (template, level), book in books.items():
        task_repo.save_playbook(session, template, level, book.model_dump(mode="json"), at=now, by=by)
    auth_service.record(session, principal, "import", "playbook", None, {"count": len(books)}, at=now)
    return len(books)
