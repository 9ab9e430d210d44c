"""Notify and deliver: notices become outbox rows in the caller's transaction; a pass sends what is due.

Delivery claims a message before sending it and records the outcome after, each in its own short
transaction, so a crash before the send leaves the message to the next pass (after the claim's lease), and a
message recorded as sent is never sent again. Receivers may also dedup on the key sent with each message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from churnradar import i18n
from churnradar.config import Settings
from churnradar.kit.clock import Clock, SystemClock
from churnradar.notification import policy, routing, stored_channels, webhooks
from churnradar.notification import repository as outbox_repo
from churnradar.notification.channels import Channel, build
from churnradar.notification.exceptions import DeliveryError
from churnradar.notification.schemas import Message, Notice, OutboxStatus

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=5)


def notify(
    conn: Connection,
    notices: Iterable[Notice],
    *,
    settings: Settings,
    now: datetime,
    scope: str | None = None,
) -> int:
    """Route, group and add `notices` to the outbox in the caller's transaction; returns rows added."""
    notices = list(notices)
    if not notices:
        return 0
    settings = stored_channels.with_stored(conn, settings)
    grouped = routing.group(notices, outbox_repo.directory(conn), settings.notifications, scope=scope)
    return outbox_repo.add(conn, grouped, now=now)


def configured_channels(settings: Settings) -> dict[str, Channel]:
    """Every channel in the settings, built and checked."""
    n = settings.notifications
    built = {name: build(name, config, timeout=n.timeout_seconds) for name, config in n.channels.items()}
    return built | webhooks.channels(settings)


def send_test(settings: Settings, channel_name: str, *, address: str, sent_by: str, now: datetime) -> None:
    """Send a test message through one channel now, bypassing the outbox; DeliveryError if it fails."""
    n = settings.notifications
    if channel_name not in n.channels:
        raise DeliveryError(f"channel {channel_name!r} is not configured", retryable=False)
    channel = build(channel_name, n.channels[channel_name], timeout=n.timeout_seconds)
    stamp = now.strftime("%Y-%m-%d %H:%M UTC")
    subject = i18n.msg("churnradar test message").render(n.language)
    line = i18n.msg(
        "Sent by {sent_by} from the settings page at {stamp}; no action needed.", sent_by=sent_by, stamp=stamp
    ).render(n.language)
    message = Message(subject, [line], n.language, "test", f"test:{channel_name}:{now.isoformat()}")
    channel.send(message, address)


REQUEUE_BATCH = 500


def dead_letters(engine: Engine, *, limit: int = 200) -> list[Any]:
    """The newest `limit` dead letters, with their last error."""
    with engine.connect() as conn:
        return outbox_repo.by_status(conn, OutboxStatus.DEAD, limit)


def outbox_preview(engine: Engine, *, limit: int = 10) -> tuple[dict[str, int], list[Any]]:
    """Messages per state and the newest `limit` messages: what is (or would be) sent."""
    with engine.connect() as conn:
        return outbox_repo.counts(conn), outbox_repo.latest(conn, limit)


def requeue_dead_letters(engine: Engine, *, now: datetime, batch: int = REQUEUE_BATCH) -> int:
    """Give every dead letter a new round, in batches of `batch` (one transaction each); returns how many."""
    requeued, after = 0, 0
    while True:
        with engine.begin() as conn:
            ids = outbox_repo.dead_ids_after(conn, after, batch)
            if not ids:
                return requeued
            requeued += outbox_repo.requeue(conn, ids, now)
        after = ids[-1]


@dataclass
class DeliverySummary:
    """What one delivery pass did."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"sent": self.sent, "retrying": self.retrying, "dead": self.dead, "deferred": self.deferred}


def _hold(conn: Connection, row: Any, settings: Settings, now: datetime) -> datetime | None:
    if webhooks.is_webhook_out(row.channel):
        return None  # a CRM is a machine: no quiet hours, no per-person rate limit
    n = settings.notifications
    quiet = policy.quiet_until(now, settings.zone, n.quiet_start, n.quiet_end)
    if quiet is not None:
        return quiet
    recent = outbox_repo.sent_recently(conn, row.receiver, now)
    return policy.rate_limited_until(now, recent, n.rate_limit_per_hour)


def deliver(
    engine: Engine,
    *,
    settings: Settings,
    clock: Clock | None = None,
    channels: Mapping[str, Channel] | None = None,
    limit: int = 500,
) -> DeliverySummary:
    """One pass: send every due message once, retry passing failures with backoff, dead-letter the rest."""
    clock = clock or SystemClock()
    with engine.connect() as conn:
        settings = stored_channels.with_stored(conn, settings)
    n = settings.notifications
    channels = channels if channels is not None else configured_channels(settings)
    summary = DeliverySummary()
    with engine.connect() as conn:
        rows = outbox_repo.due(conn, clock.now(), limit)
    for row in rows:
        now = clock.now()
        with engine.begin() as conn:
            hold = _hold(conn, row, settings, now)
            if hold is not None:
                outbox_repo.defer(conn, row.id, hold)
                summary.deferred += 1
                continue
            if not outbox_repo.claim(conn, row, now + CLAIM_LEASE):
                continue  # another worker has it
        channel = channels.get(row.channel)
        message = Message.from_payload(row.payload, row.dedup_key)
        try:
            if channel is None:
                raise DeliveryError(f"channel {row.channel!r} is not configured", retryable=False)
            channel.send(message, row.address)
        except DeliveryError as exc:
            attempts = row.attempts + 1
            dead = not exc.retryable or attempts >= n.max_attempts
            wait = policy.backoff(attempts, base_seconds=n.backoff_seconds, max_seconds=n.backoff_max_seconds)
            with engine.begin() as conn:
                outbox_repo.record(
                    conn,
                    row.id,
                    at=clock.now(),
                    ok=False,
                    error=str(exc),
                    retryable=exc.retryable,
                    next_attempt_at=clock.now() + wait,
                    dead=dead,
                )
            log.warning("notification %s via %s failed: %s", row.id, row.channel, exc)
            summary.errors.append(f"{row.id} {row.channel}: {exc}")
            if dead:
                summary.dead += 1
            else:
                summary.retrying += 1
            continue
        with engine.begin() as conn:
            outbox_repo.record(conn, row.id, at=clock.now(), ok=True)
        summary.sent += 1
    return summary
