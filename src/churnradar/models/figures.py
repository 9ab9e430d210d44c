"""Figures computed ahead of the pages that show them: whole-store aggregates a page would otherwise compute
on every first visit (the effectiveness report), stored after each evaluation for the day it covers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class StoredFigures(Base):
    """One page's figures as JSON, for one as-of date and one scope ("all" or a viewer's customers)."""

    __tablename__ = "stored_figures"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    as_of: Mapped[date] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    computed_at: Mapped[datetime]
    body: Mapped[dict[str, Any]]
