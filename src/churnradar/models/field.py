"""Custom fields and manual entry types admins define without code (churnradar.field)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class CustomField(Base):
    """A customer field or a named event attribute: its slug, entity and checked definition (JSON)."""

    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("entity", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(20))
    slug: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(200))


class EntryType(Base):
    """A manual entry form (visit feedback, renewal intent, ...): its slug, the event kind, and its fields."""

    __tablename__ = "entry_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(200))
