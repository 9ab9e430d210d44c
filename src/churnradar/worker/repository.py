"""The worker's lease in the store: one row per lease name, taken over only once it has expired.

Each step is one short transaction whose UPDATE names the condition it needs (ours, or expired), so two
workers racing for one lease cannot both win, on SQLite (one writer at a time) and PostgreSQL (the row
lock makes the second UPDATE re-read the row the first one wrote) alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from churnradar.models import WorkerLease


def acquire(engine: Engine, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease `name` for `holder` until now + ttl; False while another holds it."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(WorkerLease)
            .where(
                WorkerLease.name == name,
                or_(WorkerLease.holder == holder, WorkerLease.expires_at <= now),
            )
            .values(
                holder=holder,
                expires_at=now + ttl,
                # a renewal keeps when the holder took the lease; a takeover starts anew
                acquired_at=case((WorkerLease.holder == holder, WorkerLease.acquired_at), else_=now),
            )
        ).rowcount
    if taken:
        return True
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(WorkerLease).values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
            )
    except IntegrityError:  # the row exists and another live holder has it
        return False
    return True


def release(engine: Engine, name: str, holder: str) -> None:
    """Give the lease up at once (a clean stop), if `holder` still has it."""
    with engine.begin() as conn:
        conn.execute(delete(WorkerLease).where(WorkerLease.name == name, WorkerLease.holder == holder))


def holder_of(engine: Engine, name: str, *, now: datetime) -> str | None:
    """Who holds the lease now, or None when nobody does (absent or expired)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(WorkerLease.holder).where(WorkerLease.name == name, WorkerLease.expires_at > now)
        ).scalar_one_or_none()
    return None if row is None else str(row)


def held_since(engine: Engine, name: str, *, now: datetime) -> datetime | None:
    """When the live holder of the lease `name` took it, or None when nobody holds it."""
    with engine.connect() as conn:
        found: datetime | None = conn.execute(
            select(WorkerLease.acquired_at).where(WorkerLease.name == name, WorkerLease.expires_at > now)
        ).scalar_one_or_none()
    return found
