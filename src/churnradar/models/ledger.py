"""Contracts: the account side of a customer (expiry). Invoices live in the lake (lake.invoices)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class Contract(Base):
    """A contract with a start and an end; an end without renewal is contractual churn."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    value: Mapped[float | None]
    status: Mapped[str | None] = mapped_column(String(64))
    auto_renew: Mapped[bool | None]
    attributes: Mapped[dict[str, Any] | None]
