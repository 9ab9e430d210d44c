"""Events: everything a customer did or that happened to it, long and narrow, stamped in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base, BigIntPK


class Event(Base):
    """One thing that happened: an order, a login, a complaint, ... (CONTRACT §2 core kinds or any word)."""

    __tablename__ = "events"
    __table_args__ = (
        # The source's (kind, event_id), or a content hash when the source gives no id: re-import is a no-op.
        UniqueConstraint("kind", "event_key"),
        Index("ix_events_customer_id_ts", "customer_id", "ts"),
        Index("ix_events_kind_ts", "kind", "ts"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    ts: Mapped[datetime]  # naive UTC
    kind: Mapped[str] = mapped_column(String(64))
    event_key: Mapped[str] = mapped_column(String(200))
    amount: Mapped[float | None]
    value: Mapped[float | None]
    quantity: Mapped[float | None]
    channel: Mapped[str | None] = mapped_column(String(64))
    direction: Mapped[str | None] = mapped_column(String(8))
    text: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any] | None]
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id", ondelete="SET NULL"))
