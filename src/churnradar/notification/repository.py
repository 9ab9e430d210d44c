"""Outbox storage: insert once per dedup key, claim due messages, record attempts, list dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar.db import table_of
from churnradar.models import DeliveryAttempt, OutboxMessage, StoredChannel, Team, User, UserPreference
from churnradar.notification.routing import Contact, Directory, Outgoing
from churnradar.notification.schemas import OutboxStatus

OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
ATTEMPTS: Table = DeliveryAttempt.__table__  # type: ignore[assignment]
USERS: Table = User.__table__  # type: ignore[assignment]
TEAMS: Table = Team.__table__  # type: ignore[assignment]
PREFERENCES: Table = UserPreference.__table__  # type: ignore[assignment]


def directory(conn: Connection) -> Directory:
    """Every user (with the interface language they chose) and team, for routing."""
    query = select(PREFERENCES.c.user_id, PREFERENCES.c.locale).where(PREFERENCES.c.locale.is_not(None))
    chosen = {int(i): str(locale) for i, locale in conn.execute(query)}
    people = {
        int(r.id): Contact(
            int(r.id),
            r.display_name or r.login,
            r.email,
            r.role,
            r.team_id,
            r.manager_id,
            bool(r.is_active),
            phone=r.phone,
            language=chosen.get(int(r.id)),
        )
        for r in conn.execute(select(USERS))
    }
    teams = {int(i): str(n) for i, n in conn.execute(select(TEAMS.c.id, TEAMS.c.name))}
    return Directory(people, teams)


def add(conn: Connection, outgoing: Sequence[Outgoing], *, now: datetime) -> int:
    """Insert the messages whose dedup key is new (the stored log is the dedup memory); returns how many."""
    if not outgoing:
        return 0
    keys = [o.message.dedup_key for o in outgoing]
    known = {k for (k,) in conn.execute(select(OUTBOX.c.dedup_key).where(OUTBOX.c.dedup_key.in_(keys)))}
    rows = [
        {
            "dedup_key": o.message.dedup_key,
            "event": o.message.event,
            "channel": o.receiver.channel,
            "receiver": o.receiver.key,
            "address": o.receiver.address,
            "subject": o.message.subject,
            "payload": o.message.as_payload(),
            # A person the channel cannot reach is recorded with the reason, and never sent to.
            "status": (OutboxStatus.SKIPPED if o.receiver.skipped else OutboxStatus.PENDING).value,
            "last_error": o.receiver.skipped,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for o in outgoing
        if o.message.dedup_key not in known
    ]
    if rows:
        conn.execute(insert(OUTBOX), rows)
    return len(rows)


def due(conn: Connection, now: datetime, limit: int) -> list[Row[Any]]:
    """Pending messages whose time has come, oldest first."""
    query = (
        select(OUTBOX)
        .where(OUTBOX.c.status == OutboxStatus.PENDING.value, OUTBOX.c.next_attempt_at <= now)
        .order_by(OUTBOX.c.id)
        .limit(limit)
    )
    return list(conn.execute(query))


def claim(conn: Connection, row: Row[Any], until: datetime) -> bool:
    """Take a message for this process (compare-and-set on its next attempt time); False if another did."""
    result = conn.execute(
        update(OUTBOX)
        .where(
            OUTBOX.c.id == row.id,
            OUTBOX.c.status == OutboxStatus.PENDING.value,
            OUTBOX.c.next_attempt_at == row.next_attempt_at,
        )
        .values(next_attempt_at=until)
    )
    return result.rowcount == 1


def defer(conn: Connection, message_id: int, until: datetime) -> None:
    """Hold a message until later without counting an attempt (quiet hours, rate limit)."""
    conn.execute(update(OUTBOX).where(OUTBOX.c.id == message_id).values(next_attempt_at=until))


def sent_recently(conn: Connection, receiver: str, now: datetime) -> list[datetime]:
    """When the receiver was last sent to, within the hour."""
    query = select(OUTBOX.c.sent_at).where(
        OUTBOX.c.receiver == receiver, OUTBOX.c.sent_at > now - timedelta(hours=1)
    )
    return [t for (t,) in conn.execute(query)]


def record(
    conn: Connection,
    message_id: int,
    *,
    at: datetime,
    ok: bool,
    error: str | None = None,
    retryable: bool | None = None,
    next_attempt_at: datetime | None = None,
    dead: bool = False,
) -> None:
    """Store one attempt and the message's new state, together."""
    conn.execute(
        insert(ATTEMPTS).values(message_id=message_id, at=at, ok=ok, retryable=retryable, error=error)
    )
    values: dict[str, Any] = {"attempts": OUTBOX.c.attempts + 1, "last_error": error}
    if ok:
        values |= {"status": OutboxStatus.SENT.value, "sent_at": at}
    elif dead:
        values |= {"status": OutboxStatus.DEAD.value}
    else:
        values |= {"next_attempt_at": next_attempt_at}
    conn.execute(update(OUTBOX).where(OUTBOX.c.id == message_id).values(values))


def by_status(conn: Connection, status: OutboxStatus, limit: int = 200) -> list[Row[Any]]:
    """Messages in a state, newest first."""
    query = select(OUTBOX).where(OUTBOX.c.status == status.value).order_by(OUTBOX.c.id.desc()).limit(limit)
    return list(conn.execute(query))


def latest(conn: Connection, limit: int) -> list[Row[Any]]:
    """The newest messages in any state, newest first."""
    return list(conn.execute(select(OUTBOX).order_by(OUTBOX.c.id.desc()).limit(limit)))


def dead_ids_after(conn: Connection, after: int, limit: int) -> list[int]:
    """Ids of dead letters above `after`, lowest first: a batch of a walk over all of them."""
    query = (
        select(OUTBOX.c.id)
        .where(OUTBOX.c.status == OutboxStatus.DEAD.value, OUTBOX.c.id > after)
        .order_by(OUTBOX.c.id)
        .limit(limit)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def requeue(conn: Connection, ids: Sequence[int], now: datetime) -> int:
    """Give dead letters another round of attempts."""
    result = conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(ids), OUTBOX.c.status == OutboxStatus.DEAD.value)
        .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now)
    )
    return int(result.rowcount)


def counts(conn: Connection) -> dict[str, int]:
    """Messages by status."""
    query = select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status)
    return {str(s): int(n) for s, n in conn.execute(query)}


def attempts(conn: Connection, message_id: int) -> list[Row[Any]]:
    """Every attempt of a message, in order."""
    return list(
        conn.execute(select(ATTEMPTS).where(ATTEMPTS.c.message_id == message_id).order_by(ATTEMPTS.c.id))
    )


CHANNELS = table_of(StoredChannel)


def stored_channels(conn: Connection | Session) -> list[Row[Any]]:
    """The channels admins stored, by name (secrets still sealed)."""
    return list(conn.execute(select(CHANNELS).order_by(CHANNELS.c.name)))


def save_channel(conn: Connection | Session, values: dict[str, Any]) -> None:
    """Insert or replace one stored channel."""
    conn.execute(delete(CHANNELS).where(CHANNELS.c.name == values["name"]))
    conn.execute(insert(CHANNELS).values(**values))


def remove_channel(conn: Connection | Session, name: str) -> bool:
    """Drop a stored channel; whether there was one."""
    found = conn.execute(
        select(func.count()).select_from(CHANNELS).where(CHANNELS.c.name == name)
    ).scalar_one()
    conn.execute(delete(CHANNELS).where(CHANNELS.c.name == name))
    return bool(found)
