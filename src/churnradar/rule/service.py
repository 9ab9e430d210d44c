"""Rules as the rest of churnradar uses them: the templates with the rules stored in the database.

The database holds each template's rule entries (seeded from the shipped files on first use); everything
else in a template (health parts, bands, playbooks) comes from its file. Imports are checked whole before
anything is stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy.engine import Connection, Engine

from churnradar.field import service as field_service
from churnradar.field.schemas import FieldKind
from churnradar.rule import repository, template_settings
from churnradar.rule.exceptions import TemplateError
from churnradar.rule.fields import bind_custom_fields
from churnradar.rule.language import FieldType
from churnradar.rule.schemas import RuleVersionRead, Template
from churnradar.rule.templates import build_templates, build_templates_leniently, with_rules
from churnradar.rule.versions import changed_rules

log = logging.getLogger(__name__)


def custom_field_types(engine: Engine) -> dict[str, FieldType]:
    """The store's custom customer fields as rules type them: numbers, else text (a date as ISO text)."""
    kinds = field_service.rule_types(engine)
    return {s: FieldType.NUMBER if k is FieldKind.NUMBER else FieldType.TEXT for s, k in kinds.items()}


def use_store(engine: Engine) -> None:
    """Make `engine`'s custom customer fields names every rule checked or run in this process may read."""
    bind_custom_fields(lambda: custom_field_types(engine))


# The rules as stored, by template (the web's editor reads them through here, never the repository).
stored_rules = repository.stored_rules
# Each stored rule's names in both languages, keyed (template, slug), for showing rules instead of ids.
rule_names = repository.rule_names
# The settings documents admins keep whole (task routes, notification routing, template choices and clones),
# read and replaced by the domains that own what they say.
settings_document = repository.settings_document
save_settings_document = repository.save_settings_document


def rules_version(engine: Engine) -> tuple[object, int]:
    """When the stored rules last changed, and how many there are: a cache key that moves with every save."""
    with engine.connect() as conn:
        return repository.rules_stamp(conn)


def active_templates(engine: Engine, *, at: datetime) -> dict[str, Template]:
    """The templates with their stored rules; the shipped rules are stored on first use."""
    return checked_templates(engine, at=at)[0]


def checked_templates(engine: Engine, *, at: datetime) -> tuple[dict[str, Template], list[str]]:
    """The active templates, and the problems of stored rules left out of them.

    A stored rule that fails today's checks (stored before a check existed, or written around them) is left
    out and reported instead of stopping every other rule.
    """
    with engine.begin() as conn:
        raws = template_settings.all_raws(conn)
        stored = repository.stored_rules(conn)
        if not stored:
            stored = {slug: list(raw.get("rules", [])) for slug, raw in raws.items()}
            repository.replace_rules(conn, stored, at=at, by="templates")
    unknown = sorted(set(stored) - set(raws))
    problems = [f"rules for unknown template {t[:64]!r} left out" for t in unknown]
    known = {t: r for t, r in stored.items() if t in raws}
    templates, left_out = build_templates_leniently(with_rules(raws, known))
    for problem in (*problems, *left_out):
        log.warning("stored rule left out: %s", problem[:500])
    return templates, [p[:500] for p in (*problems, *left_out)]


def export_rules(engine: Engine, templates: Sequence[str] = ()) -> str:
    """The stored rules as YAML (`{template: [rules]}`), for review or to import elsewhere."""
    with engine.connect() as conn:
        stored = repository.stored_rules(conn)
    chosen = {t: r for t, r in stored.items() if not templates or t in templates}
    return yaml.safe_dump(chosen, allow_unicode=True, sort_keys=False)


def import_rules(engine: Engine, text: str, *, at: datetime, by: str | None) -> dict[str, int]:
    """Replace the rules of the templates a YAML document lists, after checking every template whole."""
    with engine.begin() as conn:
        counts, _ = import_rules_on(conn, text, at=at, by=by)
    return counts


def _kind(value: object) -> str:
    if value is None:
        return "nothing (null)"
    return {list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def shape_errors(document: Mapping[Any, Sequence[Any]], limit: int = 20) -> list[str]:
    """Where a rules document is not template slug -> list of rule mappings with a text slug, by position
    (`general[2]`), at most `limit` of them."""
    errors: list[str] = []
    for template, entries in document.items():
        name = str(template)[:64]
        if not isinstance(template, str):
            errors.append(f"{name}: a template slug must be text, not {_kind(template)}")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                errors.append(
                    f"{name}[{index}]: expected a rule (a mapping with slug, condition, level, ...), "
                    f"not {_kind(entry)}"
                )
            elif not isinstance(entry.get("slug"), str):
                errors.append(f"{name}[{index}].slug: every rule needs a slug, as text")
    if len(errors) > limit:
        errors = [*errors[:limit], f"... and {len(errors) - limit} more"]
    return errors


def import_rules_on(
    conn: Connection,
    text: str,
    *,
    at: datetime,
    by: str | None,
    action: str = "import",
    note: str | None = None,
) -> tuple[dict[str, int], dict[str, Template]]:
    """`import_rules` inside the caller's transaction, which commits it with whatever belongs with it (the
    web's audit entry); returns the counts and the templates as they now stand.

    Each rule of the listed templates that the change alters gets a new version (`action`, `note`)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateError([f"cannot read the rules as YAML: {exc}"]) from exc
    if not isinstance(document, dict) or not all(isinstance(v, list) for v in document.values()):
        raise TemplateError(["expected a mapping of template slug to a list of rules"])
    shape = shape_errors(document)
    if shape:
        raise TemplateError(shape)
    raws = template_settings.all_raws(conn)
    stored = repository.stored_rules(conn) or {s: list(r.get("rules", [])) for s, r in raws.items()}
    templates = build_templates(with_rules(raws, {**stored, **document}))  # refuses the import on any error
    before, _ = build_templates_leniently(with_rules(raws, {t: r for t, r in stored.items() if t in raws}))
    repository.replace_rules(conn, document, at=at, by=by)
    # Every template whose rule as applied changed gets a version: those the document lists, and those that
    # inherit the changed rule (noted with the rule the change was made to).
    for template, slug, old, new in changed_rules(before, templates, templates):
        made_in = _changed_in(template, templates, document)
        if old is not None and repository.latest_version(conn, template, slug) == 0:
            # The state before the first recorded change, so that it can be compared and restored.
            repository.add_version(conn, template, slug, old, action="original", note=None, at=at, by=None)
        why = note if made_in == template else f"{made_in}.{slug}"
        repository.add_version(conn, template, slug, new, action=action, note=why, at=at, by=by)
    return {str(t): len(r) for t, r in document.items()}, templates


def _changed_in(template: str, templates: Mapping[str, Template], document: Mapping[str, Any]) -> str:
    """The template a change to `template`'s rules was made in: itself, or its nearest parent `document`
    lists."""
    current: str | None = template
    while current is not None and current not in document and current in templates:
        current = templates[current].extends
    return current if current is not None and current in document else template


def rule_versions(conn: Connection, template: str, slug: str) -> list[RuleVersionRead]:
    """Every saved state of a rule, newest first (empty for a rule never changed since it was shipped)."""
    return [RuleVersionRead.model_validate(row) for row in repository.versions_of(conn, template, slug)]


def deleted_rules(conn: Connection) -> list[RuleVersionRead]:
    """The deletion of each rule whose latest version deletes it, newest first (to restore it)."""
    return [RuleVersionRead.model_validate(row) for row in repository.deleted_rules(conn)]


def rules_using(conn: Connection, names: Sequence[str]) -> list[str]:
    """`template/rule` of every stored rule whose conditions or reasons name any of `names`."""
    if not names:
        return []
    word = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z0-9_])")
    found: list[str] = []
    for template, entries in repository.stored_rules(conn).items():
        for entry in entries:
            texts = [entry.get("condition"), *dict(entry.get("escalate") or {}).values()]
            texts += [entry.get("reason_en"), entry.get("reason_zh")]
            if any(isinstance(t, str) and word.search(t) for t in texts):
                found.append(f"{template}/{entry.get('slug')}")
    return found
