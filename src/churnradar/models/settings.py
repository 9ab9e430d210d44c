"""Settings admins keep as whole documents: task routes, notification routes and quiet hours, template
choices. One row per document, replaced whole on each save (an ordered list keeps its order)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class SettingsDocument(Base):
    """One named settings document, as JSON (`{"items": [...]}` for a list)."""

    __tablename__ = "settings_documents"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(200))
