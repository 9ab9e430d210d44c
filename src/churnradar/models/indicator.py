"""Indicator snapshots: long and narrow, one value per customer, as-of date and indicator (upserted)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class IndicatorValue(Base):
    """The value of one indicator for one customer as of one date; null when the indicator is undefined."""

    __tablename__ = "indicator_values"
    __table_args__ = (Index("ix_indicator_values_as_of_indicator", "as_of", "indicator"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    as_of: Mapped[date] = mapped_column(primary_key=True)
    indicator: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float | None]
