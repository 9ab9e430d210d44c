"""Definitions admins store: customer fields, named event attributes, manual entry forms; value parsing."""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from churnradar.field.exceptions import FieldValueError
from churnradar.models.people import Role

SLUG_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
MAX_TEXT_CHARS = 1_000
MAX_CHOICES = 100
# Entry fields with these names fill the event's own column (indicators filter and aggregate them);
# any other name becomes an attribute of the event.
EVENT_COLUMNS = ("value", "amount", "quantity", "text", "channel", "direction")
# What every entry's event sets itself: no question may take these names.
ENTRY_RESERVED = ("customer_id", "ts", "kind", "event_id", "author", "user")
ALL_ROLES = tuple(Role)


class FieldKind(StrEnum):
    """What a field holds."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"


class Entity(StrEnum):
    """What a custom field describes: a customer (a profile field) or an event (a named attribute)."""

    CUSTOMER = "customer"
    EVENT = "event"


Value = str | float | None


def parse_value(field: str, kind: FieldKind, choices: list[str], raw: Any) -> Value:
    """`raw` (text from a form, or JSON) as the field stores it; empty is None; else FieldValueError."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if kind is FieldKind.NUMBER:
        try:
            number = float(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError):
            raise FieldValueError(field, f"{str(raw)[:40]!r} is not a number") from None
        if isinstance(raw, bool) or not math.isfinite(number):
            raise FieldValueError(field, f"{str(raw)[:40]!r} is not a number")
        return number
    text = str(raw).strip()
    if kind is FieldKind.DATE:
        try:
            return date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            raise FieldValueError(field, f"{text[:40]!r} is not a date like 2024-03-01") from None
    if kind is FieldKind.CHOICE and text not in choices:
        raise FieldValueError(field, f"{text[:40]!r} is not one of {', '.join(choices)[:300]}")
    if len(text) > MAX_TEXT_CHARS:
        raise FieldValueError(field, f"the text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")
    return text


class _Typed(BaseModel):
    """A named, typed, labelled input (a field, or one question of an entry form)."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN, description="Stable name: rules, imports and the API use it.")
    type: FieldKind
    label_en: str = Field(min_length=1, max_length=200)
    label_zh: str = Field(default="", max_length=200)
    choices: list[str] = Field(default_factory=list, max_length=MAX_CHOICES)

    @field_validator("choices")
    @classmethod
    def _clean_choices(cls, value: list[str]) -> list[str]:
        cleaned = [c.strip() for c in value]
        if any(not c or len(c) > 200 for c in cleaned):
            raise ValueError("a choice is empty or longer than 200 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("a choice is listed twice")
        return cleaned

    @model_validator(mode="after")
    def _choices_for_choice(self) -> _Typed:
        if self.type is FieldKind.CHOICE and not self.choices:
            raise ValueError("a choice field needs its choices")
        if self.type is not FieldKind.CHOICE and self.choices:
            raise ValueError(f"only a choice field has choices, not a {self.type.value} field")
        return self

    def label(self, locale: str) -> str:
        """The label in `locale` (the English one where no Chinese was given)."""
        return self.label_zh if locale.startswith("zh") and self.label_zh else self.label_en

    def parse(self, raw: Any) -> Value:
        """A value of this field as stored, or FieldValueError naming the field."""
        return parse_value(self.slug, self.type, self.choices, raw)


class FieldDef(_Typed):
    """A customer field (or a named event attribute) and which roles may see and edit it."""

    entity: Entity = Entity.CUSTOMER
    visible_to: list[Role] = Field(default_factory=lambda: list(ALL_ROLES))
    editable_by: list[Role] = Field(default_factory=lambda: [Role.ADMIN])

    @model_validator(mode="after")
    def _admins_always(self) -> FieldDef:
        # Admins define the field: they always see and edit it; whoever edits a field also sees it.
        self.editable_by = [r for r in ALL_ROLES if r in {*self.editable_by, Role.ADMIN}]
        self.visible_to = [r for r in ALL_ROLES if r in {*self.visible_to, *self.editable_by}]
        return self

    def visible(self, role: Role) -> bool:
        """Whether a user of `role` sees this field's values."""
        return role in self.visible_to

    def editable(self, role: Role) -> bool:
        """Whether a user of `role` may change this field's values."""
        return role in self.editable_by


class EntryFieldDef(_Typed):
    """One question of an entry form; `sets_field` copies the answer into that customer field."""

    required: bool = False
    sets_field: str | None = Field(default=None, pattern=SLUG_PATTERN)


class EntryTypeDef(BaseModel):
    """A manual entry form: each entry recorded becomes an event of kind `slug`, with its author."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN, description="The kind of the events its entries become.")
    label_en: str = Field(min_length=1, max_length=200)
    label_zh: str = Field(default="", max_length=200)
    channel: str | None = Field(
        default=None, max_length=64, description="The events' channel (visit, phone)."
    )
    fields: list[EntryFieldDef] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _unique_questions(self) -> EntryTypeDef:
        slugs = [f.slug for f in self.fields]
        twice = sorted({s for s in slugs if slugs.count(s) > 1})
        if twice:
            raise ValueError(f"field {twice[0]!r} is asked twice")
        taken = sorted(set(slugs) & set(ENTRY_RESERVED))
        if taken:
            raise ValueError(f"field {taken[0]!r} is set by every entry itself; choose another name")
        if self.channel is not None and "channel" in slugs:
            raise ValueError("the form asks for the channel and also fixes it")
        for f in self.fields:
            if f.slug == "direction" and (f.type is not FieldKind.CHOICE or set(f.choices) - {"in", "out"}):
                raise ValueError("field 'direction' must be a choice of in and out")
            if f.slug in ("value", "amount", "quantity") and f.type is not FieldKind.NUMBER:
                raise ValueError(f"field {f.slug!r} fills the event's {f.slug}: it must be a number")
        return self

    def label(self, locale: str) -> str:
        """The form's name in `locale`."""
        return self.label_zh if locale.startswith("zh") and self.label_zh else self.label_en


class FieldValue(BaseModel):
    """A customer field as one user sees it: its definition, its value, and whether they may change it."""

    field: FieldDef
    value: Value
    editable: bool


class Configuration(BaseModel):
    """Every field and entry form, as the YAML export writes them and the import takes them back."""

    model_config = ConfigDict(extra="forbid")

    fields: list[FieldDef] = Field(default_factory=list)
    entry_types: list[EntryTypeDef] = Field(default_factory=list)
