"""The rules editor: rules as each template applies them, condition checks, flag counts, try-outs and saves.

Rules are stored per template as the template files write them: a template that extends another lists only
its own rules and the keys it overrides. Editing a rule of such a template stores the keys that differ from
the parent's rule; saving goes through `rule.service.import_rules`, so a change is checked with every other
rule of its template exactly as `churnradar rule import` checks a file, with the same messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar import i18n
from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.evaluation import service as evaluation_service
from churnradar.evaluation.assess import RuleBook, assess
from churnradar.evaluation.backtest import run_backtest
from churnradar.evaluation.drafts import default_window, draft_book, plain_draft
from churnradar.evaluation.frames import all_customers, customers_at
from churnradar.indicator import service as indicator_service
from churnradar.kit.levels import Level
from churnradar.rule import service as rule_service
from churnradar.rule.exceptions import RuleSyntaxError, TemplateError
from churnradar.rule.language import FieldType, parse_condition
from churnradar.rule.schemas import FieldChange, RuleDef, RuleVersionRead, Template
from churnradar.rule.versions import diff_definitions
from churnradar.web.rules.schemas import ConditionResult, Origin, RuleChange, RuleRead, rule_id, split_rule_id

# A try-out replays this many weekly dates whose outcome is known (seconds on demo-size data).
TRY_WEEKS = 8
TRY_HORIZON_DAYS = 90
DRAFT_SLUG = "draft"
# Keys a rule may leave out, with their defaults: a template's own rule is stored without them.
_OPTIONAL: dict[str, Any] = {
    name: default.model_dump() if isinstance(default, BaseModel) else default
    for name, field in RuleDef.model_fields.items()
    if not field.is_required()
    for default in [field.get_default(call_default_factory=True)]
}


def _origin(slug: str, own: set[str], parent: Template | None) -> Origin:
    if parent is None or slug not in {r.slug for r in parent.rules}:
        return Origin.OWN
    return Origin.OVERRIDE if slug in own else Origin.INHERITED


def _stored(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as conn:
        return rule_service.stored_rules(conn)


def _views(
    templates: Mapping[str, Template], stored: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[RuleRead]:
    views = []
    for slug in sorted(templates, key=lambda s: (templates[s].extends is not None, s)):
        template = templates[slug]
        parent = templates.get(template.extends) if template.extends else None
        own = {str(e.get("slug")) for e in stored.get(slug, [])}
        views += [
            RuleRead(
                id=rule_id(slug, rule.slug),
                template=slug,
                origin=_origin(rule.slug, own, parent),
                parent=template.extends,
                rule=rule,
            )
            for rule in template.rules
        ]
    return views


def rules_version(engine: Engine) -> tuple[object, int]:
    """When the stored rules last changed, and how many there are: a cache key that moves with every save."""
    return rule_service.rules_version(engine)


def list_rules(engine: Engine, *, at: datetime) -> list[RuleRead]:
    """Every template's rules as it applies them: general first, then the industry templates by name."""
    templates = rule_service.active_templates(engine, at=at)
    return _views(templates, _stored(engine))


def get_rule(engine: Engine, rule: str, *, at: datetime) -> RuleRead | None:
    """One rule by its id (`template.slug`), or None."""
    if split_rule_id(rule) is None:
        return None
    return next((view for view in list_rules(engine, at=at) if view.id == rule), None)


def _entry(candidate: dict[str, Any], parent_rule: RuleDef | None) -> dict[str, Any] | None:
    """What a template stores for `candidate`: the keys that differ from its parent's rule (None: none do)."""
    if parent_rule is None:
        return {k: v for k, v in candidate.items() if k not in _OPTIONAL or v != _OPTIONAL[k]}
    base = parent_rule.model_dump()
    changed = {k: v for k, v in candidate.items() if k != "slug" and base.get(k) != v}
    return {"slug": candidate["slug"], **changed} if changed else None


def save_rule(
    engine: Engine,
    session: Session,
    current: RuleRead,
    values: Mapping[str, Any],
    *,
    actor: Principal,
    at: datetime,
    action: str = "update",
    note: str | None = None,
) -> RuleChange:
    """Store `values` over `current` (checked whole, as an import is) and record the change in the audit log.

    Raises `rule.exceptions.TemplateError` with the same messages as `churnradar rule import`; nothing is
    stored then. The rules and their audit entry are written in the caller's session: its commit stores
    both or neither.
    """
    templates = rule_service.active_templates(engine, at=at)
    template = templates[current.template]
    parent = templates.get(template.extends) if template.extends else None
    parent_rule = next((r for r in parent.rules if r.slug == current.rule.slug), None) if parent else None
    candidate = {**current.rule.model_dump(), **values, "slug": current.rule.slug}
    entries = list(_stored(engine).get(current.template, []))
    position = next((i for i, e in enumerate(entries) if e.get("slug") == current.rule.slug), len(entries))
    entries[position : position + 1] = [e for e in [_entry(candidate, parent_rule)] if e is not None]
    document = yaml.safe_dump({current.template: entries}, allow_unicode=True, sort_keys=False)
    _, saved = rule_service.import_rules_on(
        session.connection(), document, at=at, by=actor.login, action=action, note=note
    )
    after = next((r for r in saved[current.template].rules if r.slug == current.rule.slug), current.rule)
    before_values, after_values = current.rule.model_dump(), after.model_dump()
    changes = {k: [before_values[k], v] for k, v in after_values.items() if before_values[k] != v}
    if changes:
        auth_service.record(session, actor, action, "rule", current.id, changes)
    return RuleChange(current.id, changes)


def _refused(problem: str) -> TemplateError:
    return TemplateError([problem])


def create_rule(
    engine: Engine,
    session: Session,
    template: str,
    values: Mapping[str, Any],
    *,
    actor: Principal,
    at: datetime,
    action: str = "create",
    note: str | None = None,
) -> str:
    """Add a rule to `template` (checked whole with its template, as an import is); audited; returns its id.

    Refused (`TemplateError`) for an unknown template or a slug the template already has, own or inherited.
    """
    templates = rule_service.active_templates(engine, at=at)
    if template not in templates:
        raise _refused(f"unknown template {template[:64]!r}; templates are {', '.join(sorted(templates))}")
    slug = str(values.get("slug", ""))
    if any(r.slug == slug for r in templates[template].rules):
        raise _refused(f"{template}: a rule {slug[:100]!r} already exists; choose another slug")
    entries = [*_stored(engine).get(template, []), _entry(dict(values), None) or {}]
    document = yaml.safe_dump({template: entries}, allow_unicode=True, sort_keys=False)
    rule_service.import_rules_on(
        session.connection(), document, at=at, by=actor.login, action=action, note=note
    )
    new_id = rule_id(template, slug)
    auth_service.record(session, actor, action, "rule", new_id, {"rule": dict(values), "note": note})
    return new_id


def clone_rule(
    engine: Engine,
    session: Session,
    current: RuleRead,
    *,
    template: str,
    slug: str,
    actor: Principal,
    at: datetime,
) -> str:
    """A copy of `current` as rule `slug` of `template`, named as a copy, switched off until reviewed."""
    rule = current.rule
    values = rule.model_dump() | {
        "slug": slug,
        "name_en": i18n.msg("{name} (copy)", name=rule.name_en).render("en"),
        "name_zh": i18n.msg("{name} (copy)", name=rule.name_zh).render("zh_CN"),
        "enabled": False,
    }
    return create_rule(engine, session, template, values, actor=actor, at=at, action="clone", note=current.id)


def delete_rule(
    engine: Engine, session: Session, current: RuleRead, *, actor: Principal, at: datetime
) -> None:
    """Delete a template's own rule, or remove an override (the parent's rule applies again); audited.

    An inherited rule cannot be deleted where it is inherited (switch it off there), nor a rule that other
    templates override (their overrides would be left without a rule): both are refused naming why.
    """
    if current.origin is Origin.INHERITED:
        raise _refused(f"{current.id} is inherited from {current.parent}: switch it off here instead")
    stored = _stored(engine)
    templates = rule_service.active_templates(engine, at=at)
    overriding = sorted(
        slug
        for slug, template in templates.items()
        if template.extends == current.template
        and any(e.get("slug") == current.rule.slug for e in stored.get(slug, []))
    )
    if current.origin is Origin.OWN and overriding:
        raise _refused(f"{', '.join(overriding)} override {current.id}: remove their overrides first")
    entries = [e for e in stored.get(current.template, []) if e.get("slug") != current.rule.slug]
    document = yaml.safe_dump({current.template: entries}, allow_unicode=True, sort_keys=False)
    action = "delete" if current.origin is Origin.OWN else "revert"
    rule_service.import_rules_on(session.connection(), document, at=at, by=actor.login, action=action)
    auth_service.record(session, actor, action, "rule", current.id, {"rule": current.rule.model_dump()})


def history(engine: Engine, template: str, slug: str) -> list[RuleVersionRead]:
    """The rule's versions, newest first."""
    with engine.connect() as conn:
        return rule_service.rule_versions(conn, template, slug)


def deleted(engine: Engine) -> list[RuleVersionRead]:
    """Deleted rules (their deletion versions), newest first."""
    with engine.connect() as conn:
        return rule_service.deleted_rules(conn)


@dataclass(frozen=True)
class VersionDiff:
    """A version against an earlier one (None: against nothing, the first version)."""

    version: RuleVersionRead
    against: RuleVersionRead | None
    changes: list[FieldChange]


def version_diff(
    engine: Engine, template: str, slug: str, number: int, against: int | None = None
) -> VersionDiff | None:
    """What version `number` changed from `against` (default: the version before it); None if either is
    missing."""
    versions = {v.version: v for v in history(engine, template, slug)}
    version = versions.get(number)
    base_number = number - 1 if against is None else against
    base = versions.get(base_number)
    if version is None or (base is None and base_number >= 1):
        return None
    return VersionDiff(version, base, diff_definitions(base.definition if base else None, version.definition))


def restore_version(
    engine: Engine, session: Session, template: str, slug: str, number: int, *, actor: Principal, at: datetime
) -> str:
    """Make version `number` the rule again, as a new version (a deleted rule comes back); audited."""
    version = next((v for v in history(engine, template, slug) if v.version == number), None)
    if version is None:
        raise _refused(f"{rule_id(template, slug)} has no version {number}")
    if version.definition is None:
        raise _refused(
            f"version {number} of {rule_id(template, slug)} is its deletion: restore an earlier one"
        )
    note = str(number)  # restored from this version
    current = get_rule(engine, rule_id(template, slug), at=at)
    if current is None:
        return create_rule(
            engine, session, template, version.definition, actor=actor, at=at, action="restore", note=note
        )
    values = {k: v for k, v in version.definition.items() if k != "slug"}
    save_rule(engine, session, current, values, actor=actor, at=at, action="restore", note=note)
    return current.id


def import_document(
    engine: Engine, session: Session, text: str, *, actor: Principal, at: datetime
) -> dict[str, int]:
    """Replace the rules of the templates a YAML document lists (as `churnradar rule import`), audited in the
    same transaction (the caller's session commits both)."""
    rule_service.active_templates(engine, at=at)  # the shipped rules are stored before anything is replaced
    counts, _ = rule_service.import_rules_on(session.connection(), text, at=at, by=actor.login)
    auth_service.record(session, actor, "import", "rule", None, {"templates": counts})
    return counts


def check_condition(text: str, fields: Mapping[str, FieldType]) -> ConditionResult:
    """Parse and check a condition: valid, or the language's message with its column."""
    try:
        parse_condition(text, fields)
    except RuleSyntaxError as exc:
        return ConditionResult(valid=False, message=str(exc), column=exc.column)
    return ConditionResult(valid=True, message="valid")


def draft_of(current: RuleRead | None, condition: str, level: str | None = None) -> RuleDef:
    """The rule with `condition` (and `level`); without a rule, a plain draft as the CLI makes one."""
    if current is None:
        return RuleDef.model_validate(plain_draft(condition, level or Level.YELLOW.value, slug=DRAFT_SLUG))
    update: dict[str, Any] = {"condition": condition} | ({"level": level} if level else {})
    return current.rule.model_copy(update=update)


def judged_templates(current: RuleRead | None, templates: Mapping[str, Template]) -> list[str]:
    """The templates whose customers a rule judges: its own, and those extending it that take it unchanged."""
    if current is None:
        return sorted(templates)
    # A child takes the rule unchanged, or (a rule not saved yet) will take it once it is saved.
    children = [
        slug
        for slug, template in templates.items()
        if template.extends == current.template
        and (current.rule in template.rules or all(r.slug != current.rule.slug for r in template.rules))
    ]
    return [current.template, *sorted(children)]


@dataclass(frozen=True)
class Snapshot:
    """The indicators stored by the latest evaluation, and every customer: what "flags now" counts on."""

    as_of: date
    wide: pd.DataFrame
    customers: pd.DataFrame


def latest_evaluation(engine: Engine) -> date | None:
    """The as-of date of the latest successful evaluation, whose indicators are stored."""
    with engine.connect() as conn:
        return evaluation_service.latest_run_day(conn)


def needed_indicators(trial: RuleBook) -> frozenset[str] | None:
    """The stored indicators a trial's rules read; None (all of them) when one reads the health score or
    the model's probability, which are computed from every indicator."""
    names = frozenset().union(*(c.names for c in trial.compiled))
    if names & {"health_score", "churn_probability"}:
        return None
    return frozenset(n for n in names if n in trial.indicators)


def snapshot_at(engine: Engine, as_of: date, indicators: frozenset[str] | None) -> Snapshot:
    """The indicators stored for `as_of` (only `indicators` when given, those defined after that run computed
    for it), wide, and every customer."""
    wide = (
        indicator_service.stored_wide(engine, as_of)
        if indicators is None
        else indicator_service.wide_at(engine, as_of, sorted(indicators))
        if indicators != frozenset()
        else pd.DataFrame({"customer_id": pd.Series(dtype="int64")})
    )
    with engine.connect() as conn:
        customers = all_customers(conn)
    return Snapshot(as_of, wide, customers)


def count_flagged(trial: RuleBook, snapshot: Snapshot, templates: Sequence[str]) -> tuple[int, int]:
    """(customers the trial's rules flag, customers judged) as of the snapshot, in `templates`."""
    customers = customers_at(snapshot.customers, snapshot.as_of, trial.templates, trial.choices)
    fired = assess(snapshot.wide, customers, trial).fired
    judged = int(customers["template"].isin(list(templates)).sum())
    return int(fired["customer_id"].nunique()), judged


def try_draft(
    engine: Engine, book: RuleBook, draft: RuleDef, templates: Sequence[str], *, as_of: date, zone: Any
) -> dict[str, Any]:
    """The backtest report (CONTRACT §3) of `draft` alone, over `TRY_WEEKS` weeks whose outcome is known."""
    window = default_window(as_of, TRY_HORIZON_DAYS, TRY_WEEKS)
    return run_backtest(engine, window, draft_book(book, [draft], templates), zone=zone)
