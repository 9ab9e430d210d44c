"""Custom fields and manual entry forms: stored, checked whole, audited; values parsed and permission-checked.

Customer field values live in the customer's `attributes` under the field's slug (an import's extra column of
that name fills it); event attributes in the event's. Rules read customer fields through `rule_types`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.field import repository
from churnradar.field.exceptions import (
    FieldDefinitionError,
    FieldInUseError,
    FieldNotFoundError,
    FieldPermissionError,
    FieldValueError,
)
from churnradar.field.schemas import (
    Configuration,
    Entity,
    EntryTypeDef,
    FieldDef,
    FieldKind,
    FieldValue,
    Value,
)
from churnradar.kit.clock import Clock, SystemClock
from churnradar.models.people import Role

log = logging.getLogger(__name__)
# `template/rule` of every stored rule naming any of the given names (rule.service.rules_using).
RulesUsing = Callable[[Connection, Sequence[str]], list[str]]


def _checked(raws: list[dict[str, Any]], model: type[Any], what: str) -> list[Any]:
    out = []
    for raw in raws:
        try:
            out.append(model.model_validate(raw))
        except ValidationError as exc:  # stored before a check existed: left out, said once per read
            log.warning("%s %r left out: %s", what, raw.get("slug"), str(exc)[:300])
    return out


def fields_on(conn: Connection, entity: Entity | None = None) -> list[FieldDef]:
    """The stored fields (of `entity`, else all), in the order they were created."""
    found: list[FieldDef] = _checked(repository.field_definitions(conn), FieldDef, "field")
    return [f for f in found if entity is None or f.entity is entity]


def list_fields(engine: Engine, entity: Entity | None = None) -> list[FieldDef]:
    """`fields_on` over a connection of its own."""
    with engine.connect() as conn:
        return fields_on(conn, entity)


def get_field(engine: Engine, slug: str, entity: Entity = Entity.CUSTOMER) -> FieldDef:
    """One stored field, or FieldNotFoundError."""
    for found in list_fields(engine, entity):
        if found.slug == slug:
            return found
    raise FieldNotFoundError(f"no {entity.value} field {slug[:64]!r}")


def entry_types_on(conn: Connection) -> list[EntryTypeDef]:
    """The stored entry forms, in the order they were created."""
    found: list[EntryTypeDef] = _checked(repository.entry_type_definitions(conn), EntryTypeDef, "entry type")
    return found


def list_entry_types(engine: Engine) -> list[EntryTypeDef]:
    """`entry_types_on` over a connection of its own."""
    with engine.connect() as conn:
        return entry_types_on(conn)


def get_entry_type(conn: Connection, slug: str) -> EntryTypeDef:
    """One stored entry form, or FieldNotFoundError."""
    for found in entry_types_on(conn):
        if found.slug == slug:
            return found
    raise FieldNotFoundError(f"no entry type {slug[:64]!r}")


def rule_types(engine: Engine) -> dict[str, FieldKind]:
    """Each customer field's slug and kind, for the rules (none before the table exists)."""
    try:
        return {f.slug: f.type for f in list_fields(engine, Entity.CUSTOMER)}
    except (OperationalError, ProgrammingError) as exc:  # a store not migrated yet holds none
        log.debug("no custom fields read: %s", str(exc)[:200])
        return {}


def _check_fields(
    conn: Connection,
    fields: Sequence[FieldDef],
    previous: Mapping[tuple[Entity, str], FieldDef],
    *,
    reserved: Collection[str],
    rules_using: RulesUsing | None,
) -> None:
    seen: set[tuple[Entity, str]] = set()
    for index, f in enumerate(fields):
        where = f"fields[{index}] ({f.slug})"
        if (f.entity, f.slug) in seen:
            raise FieldDefinitionError(f"{where}: the {f.entity.value} field is defined twice")
        seen.add((f.entity, f.slug))
        if f.entity is Entity.CUSTOMER and f.slug in reserved:
            raise FieldDefinitionError(f"{where}: {f.slug!r} is a built-in field's or an indicator's name")
        before = previous.get((f.entity, f.slug))
        retyped = before is not None and (
            before.type is not f.type or not set(before.choices) <= set(f.choices)
        )
        if retyped and f.entity is Entity.CUSTOMER and rules_using is not None:
            using = rules_using(conn, [f.slug])
            if using:
                raise FieldInUseError(f.slug, using)


def _check_entry_types(entry_types: Sequence[EntryTypeDef], customer_fields: Mapping[str, FieldDef]) -> None:
    seen: set[str] = set()
    for index, entry in enumerate(entry_types):
        where = f"entry_types[{index}] ({entry.slug})"
        if entry.slug in seen:
            raise FieldDefinitionError(f"{where}: the entry type is defined twice")
        seen.add(entry.slug)
        for position, question in enumerate(entry.fields):
            if question.sets_field is None:
                continue
            target = customer_fields.get(question.sets_field)
            at = f"{where}.fields[{position}] ({question.slug}).sets_field"
            if target is None:
                raise FieldDefinitionError(f"{at}: no customer field {question.sets_field!r}")
            if target.type is not question.type or not set(question.choices) <= set(target.choices):
                raise FieldDefinitionError(
                    f"{at}: the answer must have the type (and the choices) of field {target.slug!r}"
                )


def _store(
    conn: Connection,
    config: Configuration,
    *,
    actor: Principal | None,
    reserved: Collection[str],
    rules_using: RulesUsing | None,
    at: datetime,
) -> dict[str, int]:
    previous = {(f.entity, f.slug): f for f in fields_on(conn)}
    _check_fields(conn, config.fields, previous, reserved=reserved, rules_using=rules_using)
    customer = {s: f for (e, s), f in previous.items() if e is Entity.CUSTOMER}
    customer |= {f.slug: f for f in config.fields if f.entity is Entity.CUSTOMER}
    _check_entry_types(config.entry_types, customer)
    by = actor.login if actor else "cli"
    counts = {"created": 0, "updated": 0}
    for f in config.fields:
        raw = f.model_dump(mode="json")
        created = repository.save_field(conn, f.entity.value, f.slug, raw, at=at, by=by)
        counts["created" if created else "updated"] += 1
        action = "create" if created else "update"
        auth_service.record(
            conn, actor, action, "field", f"{f.entity.value}.{f.slug}", {"definition": raw}, at=at
        )
    for e in config.entry_types:
        raw = e.model_dump(mode="json")
        created = repository.save_entry_type(conn, e.slug, raw, at=at, by=by)
        counts["created" if created else "updated"] += 1
        action = "create" if created else "update"
        auth_service.record(conn, actor, action, "entry_type", e.slug, {"definition": raw}, at=at)
    return counts


def save(
    engine: Engine,
    config: Configuration,
    *,
    actor: Principal | None,
    reserved: Collection[str] = (),
    rules_using: RulesUsing | None = None,
    clock: Clock | None = None,
) -> dict[str, int]:
    """Create or replace fields and entry forms in one transaction, checked whole, each change audited.

    `reserved` are names a customer field may not take (the built-in fields, the indicators); retyping a
    customer field that rules read is refused, naming the rules."""
    at = (clock or SystemClock()).now()
    try:
        with engine.begin() as conn:
            return _store(conn, config, actor=actor, reserved=reserved, rules_using=rules_using, at=at)
    except IntegrityError as exc:  # another writer stored the same name in between
        raise FieldDefinitionError("a definition of the same name was stored meanwhile; try again") from exc


def remove_field(
    engine: Engine,
    slug: str,
    *,
    entity: Entity = Entity.CUSTOMER,
    actor: Principal | None,
    rules_using: RulesUsing,
    clock: Clock | None = None,
) -> None:
    """Remove a field, refused while a rule (or an entry form) reads it, naming them; audited.

    The values customers hold under its name stay in their attributes."""
    get_field(engine, slug, entity)
    with engine.begin() as conn:
        using = rules_using(conn, [slug]) if entity is Entity.CUSTOMER else []
        forms = [
            f"entry type {e.slug}"
            for e in entry_types_on(conn)
            if entity is Entity.CUSTOMER and any(q.sets_field == slug for q in e.fields)
        ]
        if using or forms:
            raise FieldInUseError(slug, [*using, *forms])
        repository.delete_field(conn, entity.value, slug)
        at = (clock or SystemClock()).now()
        auth_service.record(conn, actor, "delete", "field", f"{entity.value}.{slug}", None, at=at)


def remove_entry_type(
    engine: Engine, slug: str, *, actor: Principal | None, clock: Clock | None = None
) -> None:
    """Remove an entry form (the events recorded with it stay); audited."""
    with engine.begin() as conn:
        get_entry_type(conn, slug)
        repository.delete_entry_type(conn, slug)
        at = (clock or SystemClock()).now()
        auth_service.record(conn, actor, "delete", "entry_type", slug, None, at=at)


def export_yaml(engine: Engine, *, actor: Principal | None) -> str:
    """Every field and entry form as one YAML document (the import takes it back); the export is audited."""
    with engine.begin() as conn:
        config = Configuration(fields=fields_on(conn), entry_types=entry_types_on(conn))
        auth_service.record_export(conn, actor, "fields", format="yaml")
    return yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True, sort_keys=False)


def _where(error: Any) -> str:
    return ".".join(str(p) for p in error["loc"])


def parse_yaml(text: str, source: str = "<yaml>") -> Configuration:
    """Checked definitions from YAML text (`fields:` and `entry_types:` lists), every problem located."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FieldDefinitionError(f"{source}: not YAML: {str(exc)[:300]}") from exc
    if not isinstance(raw, dict):
        raise FieldDefinitionError(f"{source}: expected a mapping with fields and entry_types lists")
    try:
        return Configuration.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{source}: {_where(e)}: {e['msg']}" for e in exc.errors()[:20]]
        raise FieldDefinitionError("; ".join(problems)[:2000]) from exc


def import_yaml(
    engine: Engine,
    text: str,
    *,
    actor: Principal | None,
    reserved: Collection[str] = (),
    rules_using: RulesUsing | None = None,
    clock: Clock | None = None,
) -> dict[str, int]:
    """Create or replace what a YAML document defines, checked whole first (nothing stored if bad)."""
    config = parse_yaml(text, "import")
    return save(engine, config, actor=actor, reserved=reserved, rules_using=rules_using, clock=clock)


def visible_values(
    fields: Sequence[FieldDef], attributes: Mapping[str, Any] | None, role: Role
) -> list[FieldValue]:
    """The customer fields a user of `role` sees, with the customer's values and whether they may edit."""
    values = attributes or {}
    return [
        FieldValue(field=f, value=values.get(f.slug), editable=f.editable(role))
        for f in fields
        if f.entity is Entity.CUSTOMER and f.visible(role)
    ]


def hidden_slugs(fields: Sequence[FieldDef]) -> frozenset[str]:
    """The slugs of every customer field: not shown among a customer's plain attributes (they have roles)."""
    return frozenset(f.slug for f in fields if f.entity is Entity.CUSTOMER)


def checked_changes(fields: Sequence[FieldDef], changes: Mapping[str, Any], role: Role) -> dict[str, Value]:
    """`changes` (slug -> raw value) parsed, when every field exists and `role` may edit it."""
    known = {f.slug: f for f in fields if f.entity is Entity.CUSTOMER}
    out: dict[str, Value] = {}
    for slug, raw in changes.items():
        found = known.get(slug)
        if found is None or not found.visible(role):
            raise FieldValueError(str(slug)[:64], "no such customer field")
        if not found.editable(role):
            raise FieldPermissionError(f"{slug}: your role may not change this field")
        out[slug] = found.parse(raw)
    return out
