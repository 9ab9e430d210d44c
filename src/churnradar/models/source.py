"""Connected sources (a CRM database, a REST API, a watched folder), their sync runs and committed batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class Source(Base):
    """One source churnradar pulls from on a schedule; secrets are stored encrypted (source.secrets)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # a slug of churnradar.source.connectors.CONNECTORS
    schedule: Mapped[str | None] = mapped_column(String(100))  # a cron expression; None: by hand only
    enabled: Mapped[bool] = mapped_column(default=True)
    config: Mapped[dict[str, Any]]
    secrets: Mapped[str | None] = mapped_column(Text)  # Fernet token of a JSON object; never shown again
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SourceRun(Base):
    """One sync of one source: what it read and stored, how long it took and the cursors it reached."""

    __tablename__ = "source_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # running, succeeded, failed
    full: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    rows_read: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    duration_seconds: Mapped[float | None]
    cursors: Mapped[dict[str, Any] | None]  # per record kind, the cursor reached
    error: Mapped[str | None] = mapped_column(Text)


class SourceBatch(Base):
    """A batch of a sync handed to the import, written with its import run (in the run's own transaction).

    A source's cursor for a kind is the `cursor` of its newest batch whose import run succeeded, so the
    cursor moves exactly when the batch's rows are committed, and a crash between the two cannot part them.
    """

    __tablename__ = "source_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    source_run_id: Mapped[int | None] = mapped_column(ForeignKey("source_runs.id", ondelete="SET NULL"))
    import_run_id: Mapped[int] = mapped_column(ForeignKey("import_runs.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    cursor: Mapped[str | None] = mapped_column(Text)  # encoded (source.cursor); a folder: the file's key
