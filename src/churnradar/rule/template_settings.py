"""Templates admins make and choose: clones of a template, and which template applies by industry or segment.

A clone is a copy of a template (its file's contents and its stored rules) under a new slug, stored in the
database; its rules are then edited like any template's. Template choices are an ordered list: the first
whose industries and segments (each empty one matches anything, text compared without case) hold for a
customer names its template; none matching, the industry's own template applies (general otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.kit import yaml_documents
from churnradar.rule import repository
from churnradar.rule.exceptions import TemplateError, TemplateSettingsError
from churnradar.rule.schemas import SLUG, Template
from churnradar.rule.templates import (
    build_templates,
    build_templates_leniently,
    template_for,
    template_raws,
    with_rules,
)

CLONES = "template_clones"
CHOICES = "template_choices"
MAX_CHOICES = 200
Values = list[Annotated[str, Field(min_length=1, max_length=200)]]


class TemplateChoice(BaseModel):
    """Customers of these industries and segments (empty: any) take `template`."""

    model_config = ConfigDict(extra="forbid")

    industries: Values = []
    segments: Values = []
    template: Annotated[str, Field(min_length=1, max_length=100)]


def matches(values: Sequence[str], fact: str | None) -> bool:
    """Whether a criterion holds: no values match anything, else `fact` equals one (without case)."""
    if not values:
        return True
    return isinstance(fact, str) and fact.strip().casefold() in {v.strip().casefold() for v in values}


def choose(
    industry: str | None,
    segment: str | None,
    templates: Mapping[str, Template],
    choices: Sequence[TemplateChoice],
) -> Template:
    """The template of a customer: the first matching choice's, else its industry's, else general."""
    for choice in choices:
        held = matches(choice.industries, industry) and matches(choice.segments, segment)
        if held and choice.template in templates:
            return templates[choice.template]
    return template_for(industry if isinstance(industry, str) else None, templates)


def template_slugs(
    industries: Sequence[str | None],
    segments: Sequence[str | None],
    templates: Mapping[str, Template],
    choices: Sequence[TemplateChoice],
) -> list[str]:
    """The slug of the template that applies to each customer (by its industry and segment, as `choose`):
    the one answer evaluation, backtests and training share."""
    pairs = list(zip(industries, segments, strict=True))
    slugs = {p: choose(*p, templates, choices).slug for p in set(pairs)}  # a handful of pairs
    return [slugs[p] for p in pairs]


def stored_choices(conn: Connection | Session) -> list[TemplateChoice]:
    """The admins' template choices in order (none: every customer by its industry)."""
    body = repository.settings_document(conn, CHOICES) or {}
    return [TemplateChoice.model_validate(item) for item in body.get("items", [])]


def stored_clones(conn: Connection | Session) -> dict[str, dict[str, Any]]:
    """The cloned templates as raw template mappings, by slug."""
    body = repository.settings_document(conn, CLONES) or {}
    return {str(raw["slug"]): dict(raw) for raw in body.get("items", [])}


def all_raws(conn: Connection | Session) -> dict[str, dict[str, Any]]:
    """The shipped templates' raw mappings with the stored clones."""
    return template_raws() | stored_clones(conn)


def check_choices(
    entries: Sequence[Any], templates: Collection[str], *, key: str = "choices"
) -> list[TemplateChoice]:
    """Choices checked whole, or `TemplateSettingsError` locating each wrong one (`choices[1].template`)."""
    if len(entries) > MAX_CHOICES:
        raise TemplateSettingsError(f"{key}: at most {MAX_CHOICES} choices")
    found = yaml_documents.checked(entries, TemplateChoice, key, TemplateSettingsError)
    known = ", ".join(sorted(templates))
    errors = [
        f"{key}[{i}].template: unknown template {c.template[:100]!r}; templates are {known}"
        for i, c in enumerate(found)
        if c.template not in templates
    ]
    if errors:
        raise TemplateSettingsError(yaml_documents.joined(errors))
    return found


def save_choices(
    session: Session, principal: Principal | None, entries: Sequence[Any], *, now: datetime
) -> list[TemplateChoice]:
    """Check and store the ordered choices (the next evaluation follows them); audited; not committed."""
    choices = check_choices(entries, all_raws(session))
    body = {"items": [c.model_dump(mode="json") for c in choices]}
    by = principal.login if principal else None
    repository.save_settings_document(session, CHOICES, body, at=now, by=by)
    details = {"templates": [c.template for c in choices]}
    auth_service.record(session, principal, "update", "template_choices", None, details, at=now)
    return choices


def clone(
    conn: Connection,
    principal: Principal | None,
    source: str,
    slug: str,
    names: tuple[str, str],
    *,
    now: datetime,
) -> dict[str, Any]:
    """Copy template `source` (its file's contents and stored rules) as `slug`, named (English, Chinese);
    audited; not committed. The raw mapping stored."""
    raws = all_raws(conn)
    if source not in raws:
        raise TemplateSettingsError(f"source: unknown template {source[:100]!r}")
    if not re.fullmatch(SLUG, slug) or len(slug) > 64:
        raise TemplateSettingsError(
            "slug: use 1-64 lower-case letters, digits or '_', starting with a letter"
        )
    if slug in raws:
        raise TemplateSettingsError(f"slug: template {slug!r} exists already")
    name_en, name_zh = (n.strip()[:200] for n in names)
    if not name_en or not name_zh:
        raise TemplateSettingsError("name: give the name in English and in Chinese")
    raw = {**raws[source], "slug": slug, "name_en": name_en, "name_zh": name_zh}
    rules = repository.stored_rules(conn).get(source, raw.get("rules", []))
    raw["rules"] = [dict(r) for r in rules]
    clones = [*stored_clones(conn).values(), raw]
    by = principal.login if principal else None
    repository.save_settings_document(conn, CLONES, {"items": clones}, at=now, by=by)
    repository.replace_rules(conn, {slug: raw["rules"]}, at=now, by=by)
    stored = {s: r for s, r in repository.stored_rules(conn).items() if s in raws or s == slug}
    built, _ = build_templates_leniently(with_rules({**raws, slug: raw}, stored))
    for rule in built[slug].rules if slug in built else []:  # each rule's history starts at the clone
        definition = rule.model_dump(mode="json")
        note = f"{source}.{rule.slug}"
        repository.add_version(conn, slug, rule.slug, definition, action="clone", note=note, at=now, by=by)
    auth_service.record(conn, principal, "clone", "template", slug, {"from": source}, at=now)
    return raw


def remove_clone(conn: Connection, principal: Principal | None, slug: str, *, now: datetime) -> int:
    """Remove a clone with its stored rules; refused for a shipped template and while a choice applies the
    clone (naming the choice's industries and segments). Audited; not committed. How many rules it had."""
    clones = stored_clones(conn)
    if slug not in clones:
        shipped = slug in template_raws()
        raise TemplateSettingsError(
            f"template: {slug[:100]!r} is "
            + ("a shipped template; only clones can be removed" if shipped else "not a clone")
        )
    applied = [
        f"choices[{i}] (industries: {', '.join(c.industries) or 'any'}; "
        f"segments: {', '.join(c.segments) or 'any'})"
        for i, c in enumerate(stored_choices(conn))
        if c.template == slug
    ]
    if applied:
        raise TemplateSettingsError(
            f"template: {slug!r} is applied by {'; '.join(applied)[:600]}; remove those choices first"
        )
    rules = len(repository.stored_rules(conn).get(slug, []))
    by = principal.login if principal else None
    items = [raw for s, raw in clones.items() if s != slug]
    repository.save_settings_document(conn, CLONES, {"items": items}, at=now, by=by)
    repository.replace_rules(conn, {slug: []}, at=now, by=by)
    auth_service.record(conn, principal, "delete", "template", slug, {"rules": rules}, at=now)
    return rules


def export_yaml(session: Session, principal: Principal | None) -> str:
    """The clones and the choices as YAML (`clones:`, `choices:`), audited."""
    auth_service.record_export(session, principal, "templates", format="yaml")
    choices = [c.model_dump(mode="json", exclude_defaults=True) for c in stored_choices(session)]
    return yaml_documents.dump({"clones": list(stored_clones(session).values()), "choices": choices})


def _checked_clones(conn: Connection | Session, entries: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Imported clones checked whole (each a template mapping with a new or cloned slug), by slug."""
    shipped = template_raws()
    clones: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for i, raw in enumerate(entries):
        slug = raw.get("slug") if isinstance(raw, dict) else None
        if not isinstance(slug, str) or not re.fullmatch(SLUG, slug) or len(slug) > 64:
            errors.append(
                f"clones[{i}].slug: a template mapping with a slug of lower-case letters, digits, '_'"
            )
        elif slug in shipped:
            errors.append(f"clones[{i}].slug: {slug!r} is a shipped template; clone it under another slug")
        else:
            clones[slug] = dict(raw)
    if errors:
        raise TemplateSettingsError(yaml_documents.joined(errors))
    try:
        build_templates(shipped | stored_clones(conn) | clones)
    except TemplateError as exc:
        raise TemplateSettingsError(yaml_documents.joined([f"clones: {e}" for e in exc.errors])) from None
    return clones


def import_yaml(session: Session, principal: Principal | None, text: str, *, now: datetime) -> dict[str, int]:
    """Store a YAML document's `clones:` (added, or replacing clones of the same slug, with their rules) and
    `choices:` (replacing the list, when given), all checked before anything is stored; audited; not
    committed. How many of each."""
    document = yaml_documents.read_document(text, TemplateSettingsError)
    conn = session.connection()
    clones = _checked_clones(conn, yaml_documents.entries_of(document, "clones", TemplateSettingsError))
    by = principal.login if principal else None
    if clones:
        kept = {slug: raw for slug, raw in stored_clones(conn).items() if slug not in clones}
        items = [*kept.values(), *clones.values()]
        repository.save_settings_document(conn, CLONES, {"items": items}, at=now, by=by)
        repository.replace_rules(
            conn, {s: list(raw.get("rules", [])) for s, raw in clones.items()}, at=now, by=by
        )
        auth_service.record(conn, principal, "import", "template", None, {"clones": sorted(clones)}, at=now)
    choices = 0
    if "choices" in document:
        entries = yaml_documents.entries_of(document, "choices", TemplateSettingsError)
        choices = len(save_choices(session, principal, entries, now=now))
    return {"clones": len(clones), "choices": choices}
