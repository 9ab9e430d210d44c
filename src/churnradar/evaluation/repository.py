"""Evaluation runs: one row per evaluation started, its status, and the summary it finished with."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from churnradar.db import inserted_id, table_of
from churnradar.evaluation.schemas import RunSummary
from churnradar.models import EvaluationRun, RunStatus

RUNS = table_of(EvaluationRun)


def latest_succeeded(conn: Connection, column: Any) -> Any:
    """The greatest `column` (a column of `RUNS`) among the succeeded runs, or None before the first."""
    return conn.execute(
        select(func.max(column)).where(RUNS.c.status == RunStatus.SUCCEEDED.value)
    ).scalar_one()


def run_summaries(conn: Connection, since: date) -> list[tuple[date, RunSummary]]:
    """Each succeeded run since `since`, oldest first: its as-of date and summary."""
    query = (
        select(RUNS.c.as_of, RUNS.c.summary)
        .where(RUNS.c.status == RunStatus.SUCCEEDED.value, RUNS.c.as_of >= since)
        .order_by(RUNS.c.as_of, RUNS.c.id)
    )
    # The column holds the JSON `EvaluationSummary.as_dict` wrote (NULL for none).
    return [(as_of, cast(RunSummary, summary or {})) for as_of, summary in conn.execute(query)]


def start_run(conn: Connection, as_of: date, started: datetime) -> int:
    """Record a run as started; its id."""
    inserted = conn.execute(
        insert(RUNS).values(as_of=as_of, started_at=started, status=RunStatus.RUNNING.value)
    )
    return inserted_id(inserted)


def finish_run(conn: Connection, run_id: int, finished: datetime, summary: RunSummary) -> None:
    """Mark a run succeeded with its summary."""
    conn.execute(
        update(RUNS)
        .where(RUNS.c.id == run_id)
        .values(status=RunStatus.SUCCEEDED.value, finished_at=finished, summary=summary)
    )
