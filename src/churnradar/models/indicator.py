"""Custom indicator definitions users store without code (churnradar.indicator.custom)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class CustomIndicator(Base):
    """One user-defined indicator: its slug and its checked definition as the user wrote it (JSON)."""

    __tablename__ = "custom_indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(200))
