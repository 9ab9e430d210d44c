"""Facts about the store itself: its identity, which the lake beside it records (lake.pairing)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base

STORE_ID = "store_id"  # a random id given when the table was created (migration 0012)


class StoreMeta(Base):
    """One fact about the store, by name."""

    __tablename__ = "store_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
