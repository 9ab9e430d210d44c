"""The extra columns of an import that admins typed: custom customer fields and named event attributes, read
from the field domain and checked like the built-in columns."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from churnradar.field import service as field_service
from churnradar.field.schemas import MAX_TEXT_CHARS, Entity, FieldKind
from churnradar.ingest.schemas import ColumnSpec, RecordKind, ValueType

_ENTITIES = {RecordKind.CUSTOMERS: Entity.CUSTOMER, RecordKind.EVENTS: Entity.EVENT}
_VALUE_TYPES = {
    FieldKind.TEXT: ValueType.TEXT,
    FieldKind.CHOICE: ValueType.TEXT,
    FieldKind.NUMBER: ValueType.NUMBER,
    FieldKind.DATE: ValueType.DATE,
}


def typed_extras(engine: Engine, kind: RecordKind) -> dict[str, ColumnSpec]:
    """The extra columns of `kind` that admins typed (custom customer fields, named event attributes)."""
    entity = _ENTITIES.get(kind)
    if entity is None:
        return {}
    try:
        fields = field_service.list_fields(engine, entity)
    except (OperationalError, ProgrammingError):  # a store not migrated yet types none
        return {}
    return {
        f.slug: ColumnSpec(f.slug, _VALUE_TYPES[f.type], max_length=MAX_TEXT_CHARS, choices=tuple(f.choices))
        for f in fields
    }
