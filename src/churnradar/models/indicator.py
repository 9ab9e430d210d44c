"""Indicator snapshots: long and narrow, one value per customer, as-of date and indicator (upserted).

The key leads with the as-of date, then the indicator: each evaluation writes one new date, which lands at the
end of the key's B-tree in key order (an append, not millions of inserts spread through the table), and the
readers that matter most read one date: the rules editor's flag count and "change since last time" one
indicator of it. There is no second index to maintain; a customer's history is read date by date
(`indicator.repository.customer_history`). SQLite keeps the rows in the key's own B-tree (WITHOUT ROWID).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class IndicatorValue(Base):
    """The value of one indicator for one customer as of one date; null when the indicator is undefined."""

    __tablename__ = "indicator_values"
    __table_args__ = (
        PrimaryKeyConstraint("as_of", "indicator", "customer_id"),
        {"sqlite_with_rowid": False},
    )

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    as_of: Mapped[date]
    indicator: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None]
