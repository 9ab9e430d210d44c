"""The import log: one row per file or API batch, accepted or rejected, with counts and first errors."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class ImportStatus(StrEnum):
    """How an import ended, or that it has not yet."""

    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    # An events import between its start and the lake commit; a crash leaves it so until it is settled.
    RUNNING = "running"
    FAILED = "failed"  # settled after a crash: its commit is not in the lake


class ImportRun(Base):
    """One import of one file (or API batch) of one kind."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    rows_read: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    # Per event kind: rows and latest ts, so data-health checks can learn each feed's cadence and volume.
    kinds: Mapped[dict[str, Any] | None]
    latest_event_at: Mapped[datetime | None]
    errors: Mapped[dict[str, Any] | None]
