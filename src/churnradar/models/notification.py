"""The notification outbox (also the log that dedup reads) and every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class OutboxMessage(Base):
    """A message to send, written in the transaction of its cause; `dedup_key` makes a cause send once."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_notification_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(400), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(100))
    receiver: Mapped[str] = mapped_column(String(400))
    address: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | dead | skipped
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class DeliveryAttempt(Base):
    """One try to send one message, its outcome, and whether a failure was worth retrying."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("notification_outbox.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    ok: Mapped[bool]
    retryable: Mapped[bool | None]
    error: Mapped[str | None] = mapped_column(Text)


class StoredChannel(Base):
    """A channel an admin added in the UI or API, beside the YAML file's; its secrets sealed (kit.secrets)."""

    __tablename__ = "notification_channels"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    options: Mapped[dict[str, Any]]
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(200))
