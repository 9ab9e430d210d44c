"""The store's figures that /metrics reports: counts read at scrape time, so the web process reports
what the worker and the command line did too (every process writes the same store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, text
from sqlalchemy.engine import Connection

from churnradar.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    EvaluationRun,
    ImportRun,
    ImportStatus,
    InterventionTask,
    OutboxMessage,
    RunStatus,
    WorkerLease,
)


@dataclass(frozen=True)
class LastEvaluation:
    """The latest finished evaluation: when it finished, how long it took, how many rules data health held."""

    finished_at: datetime
    seconds: float
    held_rules: int


def ping(conn: Connection) -> None:
    """A round trip to the database."""
    conn.execute(text("SELECT 1")).scalar_one()


def evaluation_runs(conn: Connection) -> dict[str, int]:
    """Evaluation runs by status (a `running` one that stays is a crashed run, or one under way)."""
    rows = conn.execute(select(EvaluationRun.status, func.count()).group_by(EvaluationRun.status))
    return {str(status): int(n) for status, n in rows}


def last_evaluation(conn: Connection) -> LastEvaluation | None:
    """The latest succeeded evaluation."""
    row = conn.execute(
        select(EvaluationRun.started_at, EvaluationRun.finished_at, EvaluationRun.summary)
        .where(EvaluationRun.status == RunStatus.SUCCEEDED.value)
        .order_by(EvaluationRun.id.desc())
        .limit(1)
    ).first()
    if row is None or row.finished_at is None:
        return None
    summary: dict[str, Any] = row.summary or {}
    held = (summary.get("data_health") or {}).get("held_rules") or []
    return LastEvaluation(row.finished_at, (row.finished_at - row.started_at).total_seconds(), len(held))


def alert_changes(conn: Connection) -> list[tuple[str, str, int]]:
    """(kind, level, count) of every alert change so far; a resolution counts at the level it left."""
    level = case((AlertEvent.kind == "resolved", AlertEvent.from_level), else_=AlertEvent.to_level)
    rows = conn.execute(
        select(AlertEvent.kind, level.label("level"), func.count()).group_by(AlertEvent.kind, level)
    )
    return [(str(kind), str(lvl or "none"), int(n)) for kind, lvl, n in rows]


def open_alerts(conn: Connection) -> dict[str, int]:
    """Open alerts by level."""
    rows = conn.execute(
        select(Alert.level, func.count()).where(Alert.status == AlertStatus.OPEN.value).group_by(Alert.level)
    )
    return {str(level): int(n) for level, n in rows}


def tasks(conn: Connection, now: datetime) -> tuple[int, int]:
    """Open tasks, and those of them past their deadline at `now`."""
    row = conn.execute(
        select(
            func.count(),
            func.count().filter(InterventionTask.deadline_at < now),
        ).where(InterventionTask.status == "open")
    ).one()
    return int(row[0]), int(row[1])


def outbox(conn: Connection) -> dict[str, int]:
    """Notification outbox messages by status (pending: the backlog; dead: dead letters)."""
    rows = conn.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    return {str(status): int(n) for status, n in rows}


def imports(conn: Connection) -> list[tuple[str, str, int, int, int]]:
    """(kind, status, imports, rows read, rows rejected) over the import log."""
    rows = conn.execute(
        select(
            ImportRun.kind,
            ImportRun.status,
            func.count(),
            func.coalesce(func.sum(ImportRun.rows_read), 0),
            func.coalesce(func.sum(ImportRun.rejected), 0),
        ).group_by(ImportRun.kind, ImportRun.status)
    )
    return [(str(k), str(s), int(n), int(read), int(rej)) for k, s, n, read, rej in rows]


def last_import(conn: Connection) -> dict[str, datetime]:
    """When the latest succeeded import of each kind finished (the age of each feed's data)."""
    rows = conn.execute(
        select(ImportRun.kind, func.max(ImportRun.finished_at))
        .where(ImportRun.status == ImportStatus.SUCCEEDED.value)
        .group_by(ImportRun.kind)
    )
    return {str(kind): at for kind, at in rows if at is not None}


def lease_expiry(conn: Connection, name: str) -> datetime | None:
    """Until when the worker lease is held (in the past: nobody holds it)."""
    found: datetime | None = conn.execute(
        select(WorkerLease.expires_at).where(WorkerLease.name == name)
    ).scalar_one_or_none()
    return found
