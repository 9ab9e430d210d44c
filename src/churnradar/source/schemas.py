"""A source's definition (as YAML, the API or the CLI give it), how it is shown, and what a sync did."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from churnradar.ingest.schemas import RecordKind, RowError
from churnradar.kit.cron import crontab_trigger

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,59}$"
SHOWN_SECRET = "set"  # noqa: S105 - what a stored secret looks like when a source is shown: never its value


def cron_trigger(expression: str, zone: str = "UTC") -> CronTrigger:
    """The trigger of a five-field cron expression (minute hour day month weekday, 0 or 7 = Sunday)."""
    return crontab_trigger(expression, zone)


class SourceDefinition(BaseModel):
    """One source: its connector kind, schedule, the connector's options and secrets, and the mapping."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    kind: str  # a connector slug: sql, rest, folder
    schedule: str | None = None  # cron, in the configured time zone; None: synced by hand only
    enabled: bool = True
    options: dict[str, Any] = {}
    secrets: dict[str, SecretStr] = {}
    # The same format as `churnradar import --mapping` (columns, values, defaults, formats; or per kind).
    mapping: dict[str, Any] | None = None
    create_missing_customers: bool = False

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            cron_trigger(value)
        except ValueError as exc:
            raise ValueError(f"schedule {value[:100]!r} is not a cron expression: {exc}") from None
        return value


class SourceView(BaseModel):
    """A stored source as the API and the CLI show it: secret names marked "set", never their values."""

    name: str
    kind: str
    schedule: str | None
    enabled: bool
    options: dict[str, Any]
    secrets: dict[str, str]
    mapping: dict[str, Any] | None
    create_missing_customers: bool
    cursors: dict[str, str | None] = {}
    last_sync: datetime | None = None
    last_status: str | None = None


class SyncRun(BaseModel):
    """One row of a source's ledger: a sync, what it read and stored, how long it took, where it got."""

    id: int
    status: str  # running, succeeded, failed
    full: bool
    started_at: datetime
    finished_at: datetime | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    duration_seconds: float | None = None
    cursors: dict[str, Any] | None = None
    error: str | None = None


class KindResult(BaseModel):
    """What one record kind of a sync did: batches committed, rows and the cursor reached."""

    kind: RecordKind
    batches: int = 0
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    cursor: str | None = None
    errors: list[RowError] = []
    error_count: int = 0


class SyncSummary(BaseModel):
    """The result of one sync, as `churnradar sources sync --json` prints it."""

    source: str
    run_id: int
    status: Literal["succeeded", "failed"]
    full: bool
    duration_seconds: float
    kinds: list[KindResult] = []
    error: str | None = None
    owner_changes: int = 0

    @property
    def ok(self) -> bool:
        """True when every batch of every kind was stored."""
        return self.status == "succeeded"

    def totals(self) -> dict[str, int]:
        """Rows summed over the kinds."""
        keys = ("rows", "inserted", "updated", "unchanged", "rejected")
        return {k: sum(int(getattr(r, k)) for r in self.kinds) for k in keys}


class FolderOptions(BaseModel):
    """A watched folder: each new file (by name, size and time) imported once, kind from its name."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    pattern: str = "*"
    kind: RecordKind | None = None  # for folders of one kind whose file names do not say it
    encoding: str | None = None
