"""Industry templates: the shipped YAML files in `templates/`, inheritance from `general`, and their checks.

An industry template lists only what differs from the one it `extends`. A rule with a parent rule's slug
replaces the keys it gives (`{slug: no_login_30d, enabled: false}` switches one off; `escalate` and `scope`
are replaced whole); health parts and bands are taken whole from the industry template when it gives them,
playbooks level by level; everything else comes from the parent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from churnradar import i18n
from churnradar.indicator.registry import default_registry
from churnradar.kit.levels import DEFAULT_LEVELS, level_ranks
from churnradar.rule.exceptions import ReasonError, RuleSyntaxError, TemplateError
from churnradar.rule.fields import customer_fields, rule_fields
from churnradar.rule.language import FieldType, parse_condition
from churnradar.rule.reasons import check_reason
from churnradar.rule.schemas import Playbook, RuleDef, Template, unknown_level

TEMPLATES_DIR = Path(__file__).parent / "templates"
GENERAL = "general"


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError([f"{path.name}: cannot read it as YAML: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise TemplateError([f"{path.name}: expected a mapping with slug, name_en, name_zh, rules, ..."])
    if raw.get("slug") != path.stem:
        raise TemplateError([f"{path.name}: slug {raw.get('slug')!r} must be the file name, {path.stem!r}"])
    for key in ("rules", "health", "bands", "playbooks"):
        items = raw.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise TemplateError([f"{path.name}: {key} must be a list of mappings"])
    slugs = [r.get("slug") for r in raw.get("rules", [])]
    if not all(isinstance(s, str) for s in slugs):
        raise TemplateError([f"{path.name}: every rule needs a slug"])
    twice = sorted({s for s in slugs if slugs.count(s) > 1})
    if twice:
        raise TemplateError([f"{path.name}: rule {s!r} is defined twice" for s in twice])
    return _in_chinese(raw)  # rules stored from these raws keep both languages, as a user's rule set does


def _in_chinese(raw: dict[str, Any]) -> dict[str, Any]:
    """The shipped YAML writes English; each Chinese text is the catalog's translation of it.

    Filled per item before inheritance, so an industry rule that rewords a parent's reason gets the Chinese
    of its own words. A `*_zh` the file does write is kept (a template someone added by hand).
    """

    def filled(item: dict[str, Any], *keys: str) -> dict[str, Any]:
        out = dict(item)
        for key in keys:
            english = item.get(f"{key}_en")
            if f"{key}_zh" not in item and english is not None:
                if isinstance(english, list):
                    out[f"{key}_zh"] = [i18n.translate(str(text), "zh_CN") for text in english]
                else:
                    out[f"{key}_zh"] = i18n.translate(str(english), "zh_CN")
        return out

    out = filled(raw, "name")
    if "rules" in raw:
        out["rules"] = [filled(rule, "name", "reason") for rule in raw["rules"]]
    if "playbooks" in raw:
        out["playbooks"] = [filled(book, "actions") for book in raw["playbooks"]]
    return out


def _merge(raw: dict[str, Any], parent: dict[str, Any]) -> dict[str, Any]:
    rules = {r["slug"]: dict(r) for r in parent.get("rules", [])}
    for own in raw.get("rules", []):
        rules[own["slug"]] = {**rules.get(own["slug"], {}), **own}
    by_level = {p.get("level"): p for p in parent.get("playbooks", [])}
    by_level |= {p.get("level"): p for p in raw.get("playbooks", []) if isinstance(p, dict)}
    merged = {**parent, **raw, "rules": list(rules.values()), "playbooks": list(by_level.values())}
    for key in ("health", "bands"):
        merged[key] = raw.get(key) or parent.get(key, [])
    return merged


def _resolve(slug: str, raws: Mapping[str, dict[str, Any]], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    raw = raws[slug]
    parent = raw.get("extends")
    if parent is None:
        return raw
    if parent not in raws:
        raise TemplateError([f"{slug}.yaml: extends unknown template {parent!r}"])
    if parent in (*seen, slug):
        raise TemplateError(
            [f"{slug}.yaml: templates extend each other: {' -> '.join((*seen, slug, parent))}"]
        )
    return _merge(raw, _resolve(parent, raws, (*seen, slug)))


def _validate(raw: dict[str, Any], source: str) -> Template:
    errors: list[str] = []
    for rule in raw.get("rules", []):
        try:
            RuleDef.model_validate(rule)
        except ValidationError as exc:
            errors += [f"{source}: rule {rule['slug']!r}: {_where(e)}{e['msg']}" for e in exc.errors()]
    if errors:
        raise TemplateError(errors)
    try:
        return Template.model_validate(raw)
    except ValidationError as exc:
        raise TemplateError([f"{source}: {_where(e)}{e['msg']}" for e in exc.errors()]) from exc


def _where(error: Any) -> str:
    loc = ".".join(str(p) for p in error["loc"])
    return f"{loc}: " if loc else ""


def resolve_templates(raws: Mapping[str, dict[str, Any]]) -> dict[str, Template]:
    """Typed, resolved templates from parsed YAML mappings keyed by slug (file name without `.yaml`)."""
    localized = {slug: _in_chinese(raw) for slug, raw in raws.items()}
    return {slug: _validate(_resolve(slug, localized), f"{slug}.yaml") for slug in raws}


def template_raws(extra_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """The template files as parsed YAML by slug: shipped ones, plus or replaced by `extra_dir/*.yaml`."""
    files = {p.stem: p for p in sorted(TEMPLATES_DIR.glob("*.yaml"))}
    if extra_dir is not None:
        files |= {p.stem: p for p in sorted(extra_dir.glob("*.yaml"))}
    return {slug: _read(path) for slug, path in files.items()}


def build_templates(
    raws: Mapping[str, dict[str, Any]], *, fields: Mapping[str, FieldType] | None = None
) -> dict[str, Template]:
    """Resolve raw templates and check them against `fields` (default: built-ins and customer fields)."""
    templates = resolve_templates(raws)
    if GENERAL not in templates:
        raise TemplateError([f"{GENERAL}.yaml: the general template is missing"])
    fields = rule_fields(default_registry()) if fields is None else fields
    errors: list[str] = []
    for slug, template in templates.items():
        try:
            check_template(_own_part(template, raws[slug]), fields, source=f"{slug}.yaml")
        except TemplateError as exc:
            errors += exc.errors
    if errors:
        raise TemplateError(errors)
    return templates


def _depth(slug: str, raws: Mapping[str, dict[str, Any]]) -> int:
    depth, seen, current = 0, {slug}, raws.get(slug, {}).get("extends")
    while isinstance(current, str) and current in raws and current not in seen:
        depth += 1
        seen.add(current)
        current = raws[current].get("extends")
    return depth


def _entry_problems(
    slug: str, entry: Any, raws: Mapping[str, dict[str, Any]], fields: Mapping[str, FieldType]
) -> list[str]:
    """What is wrong with one stored rule entry of template `slug`, judged as the template applies it."""
    if not isinstance(entry, dict) or not isinstance(entry.get("slug"), str):
        return [f"{slug}: a rule entry that is not a mapping with a slug"]
    try:
        merged = _resolve(slug, {**raws, slug: {**raws[slug], "rules": [entry]}})
        rule = RuleDef.model_validate(next(r for r in merged["rules"] if r.get("slug") == entry["slug"]))
    except ValidationError as exc:
        return [f"{slug}: rule {entry['slug'][:100]!r}: {_where(e)}{e['msg']}" for e in exc.errors()]
    except (TemplateError, StopIteration, TypeError, KeyError) as exc:
        return [f"{slug}: rule {entry['slug'][:100]!r}: {exc}"[:500]]
    return [f"{slug}: rule {rule.slug!r}: {e}" for e in _check_rule(rule, fields, DEFAULT_LEVELS)]


def build_templates_leniently(
    raws: Mapping[str, dict[str, Any]], *, fields: Mapping[str, FieldType] | None = None
) -> tuple[dict[str, Template], list[str]]:
    """`build_templates`, leaving out each rule that fails its checks instead of refusing every template.

    For running what is stored: one bad rule (stored before a check existed, or written around the checks)
    must not stop every other rule. A left-out rule of an industry template is switched off there rather
    than dropped, so the parent's version does not take its place unnoticed. Returns the problems too.
    """
    try:
        return build_templates(raws, fields=fields), []
    except TemplateError:
        pass
    fields = rule_fields(default_registry()) if fields is None else fields
    fixed = {slug: dict(raw) for slug, raw in raws.items()}
    problems: list[str] = []
    for slug in sorted(fixed, key=lambda s: (_depth(s, fixed), s)):  # parents first
        parent = fixed[slug].get("extends")
        inherited = {r.get("slug") for r in _resolve(parent, fixed)["rules"]} if parent in fixed else set()
        kept: list[Any] = []
        for entry in fixed[slug].get("rules", []):
            found = _entry_problems(slug, entry, fixed, fields)
            problems += found
            if not found:
                kept.append(entry)
            elif isinstance(entry, dict) and entry.get("slug") in inherited:
                kept.append({"slug": entry["slug"], "enabled": False})
        fixed[slug]["rules"] = kept
    return build_templates(fixed, fields=fields), problems


def with_rules(
    raws: Mapping[str, dict[str, Any]], rules: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """The raw templates with the rule entries of each template `rules` names (stored ones) in place of the
    file's; a template it names that `raws` lacks is a `TemplateError`."""
    merged = {slug: dict(raw) for slug, raw in raws.items()}
    for template, entries in rules.items():
        if template not in merged:
            raise TemplateError(
                [f"rules for unknown template {template!r}; templates are {', '.join(sorted(merged))}"]
            )
        merged[template]["rules"] = [dict(e) for e in entries]
    return merged


def load_templates(
    extra_dir: Path | None = None, *, fields: Mapping[str, FieldType] | None = None
) -> dict[str, Template]:
    """Shipped templates plus or replaced by `extra_dir/*.yaml`, resolved, checked against `fields`."""
    return build_templates(template_raws(extra_dir), fields=fields)


def _own_part(template: Template, raw: Mapping[str, Any]) -> Template:
    # What a file wrote itself, so an inherited mistake is reported once, against the file that made it.
    if raw.get("extends") is None:
        return template
    own_rules = {r["slug"] for r in raw.get("rules", [])}
    own_levels = {p.get("level") for p in raw.get("playbooks", [])}
    return template.model_copy(
        update={
            "rules": [r for r in template.rules if r.slug in own_rules],
            "health": template.health if raw.get("health") else [],
            "bands": template.bands if raw.get("bands") else [],
            "playbooks": [p for p in template.playbooks if p.level in own_levels],
        }
    )


def template_for(industry: str | None, templates: Mapping[str, Template]) -> Template:
    """The template of a customer's industry (case-insensitive); general for an empty or unknown one."""
    key = (industry or "").strip().lower()
    return templates.get(key) or templates[GENERAL]


def _check_rule(rule: RuleDef, fields: Mapping[str, FieldType], levels: Sequence[str]) -> list[str]:
    rank = level_ranks(levels)
    errors: list[str] = []
    level_error = unknown_level(rule.level, tuple(levels))
    if level_error is not None:
        errors.append(level_error)
    try:
        parse_condition(rule.condition, fields)
    except RuleSyntaxError as exc:
        errors.append(f"condition: {exc}")
    for level, condition in rule.escalate.items():
        escalate_error = unknown_level(level, tuple(levels))
        if escalate_error is not None:
            errors.append(f"escalate: {escalate_error}")
        elif rule.level in rank and rank[level] <= rank[rule.level]:
            errors.append(f"escalate: {level} is not higher than the rule's level, {rule.level}")
        try:
            parse_condition(condition, fields)
        except RuleSyntaxError as exc:
            errors.append(f"escalate to {level}: {exc}")
    for attr in ("reason_en", "reason_zh"):
        try:
            check_reason(getattr(rule, attr), fields)
        except ReasonError as exc:
            errors.append(f"{attr}: {exc}")
    return errors


def _check_health(template: Template, indicators: Collection[str], levels: Sequence[str]) -> list[str]:
    rank = level_ranks(levels)
    errors: list[str] = []
    seen: set[str] = set()
    descriptive = customer_fields()
    for part in template.health:
        if part.indicator in descriptive:
            errors.append(f"health part {part.indicator!r}: a customer field, not an indicator")
        elif part.indicator not in indicators:
            errors.append(f"health part {part.indicator!r}: unknown indicator")
        if part.indicator in seen:
            errors.append(f"health part {part.indicator!r}: the indicator is weighted twice")
        seen.add(part.indicator)
    previous = None
    for band in template.bands:
        if band.level not in rank:
            errors.append(
                f"band below {band.below:g}: unknown level {band.level!r}; levels are {', '.join(levels)}"
            )
        elif previous is not None:
            if band.below <= previous.below:
                errors.append(
                    f"bands: list them from the lowest `below` up; {band.below:g} follows {previous.below:g}"
                )
            elif previous.level in rank and rank[band.level] > rank[previous.level]:
                errors.append(
                    f"bands: below {band.below:g} gives {band.level}, more severe than {previous.level} "
                    f"below {previous.below:g}"
                )
        previous = band
    return errors


def _check_playbooks(playbooks: Sequence[Playbook], levels: Sequence[str]) -> list[str]:
    errors: list[str] = []
    seen: set[str] = set()
    for playbook in playbooks:
        if playbook.level not in levels:
            errors.append(f"playbook {playbook.level!r}: unknown level; levels are {', '.join(levels)}")
        if playbook.level in seen:
            errors.append(f"playbook {playbook.level!r}: the level has two playbooks")
        seen.add(playbook.level)
    return errors


def check_template(
    template: Template,
    fields: Mapping[str, FieldType],
    *,
    source: str | None = None,
    levels: Sequence[str] = DEFAULT_LEVELS,
) -> None:
    """Raise `TemplateError` listing every problem: conditions, levels, health parts, bands, reasons."""
    where = source or f"{template.slug}.yaml"
    errors = [
        f"{where}: rule {r.slug!r}: {e}" for r in template.rules for e in _check_rule(r, fields, levels)
    ]
    descriptive = customer_fields()
    indicators = {name for name in fields if name not in descriptive}
    errors += [f"{where}: {e}" for e in _check_health(template, indicators, levels)]
    errors += [f"{where}: {e}" for e in _check_playbooks(template.playbooks, levels)]
    if errors:
        raise TemplateError(errors)
