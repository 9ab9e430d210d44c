"""Webhooks out: each alert change becomes a signed JSON POST to every CRM endpoint that asks for it.

Documents are queued in the outbox in the evaluation's transaction, so a change and its webhooks commit
together or not at all; the normal delivery pass sends them with retries, backoff and dead letters, and the
outbox key travels as `Idempotency-Key` so a receiver can drop a repeat. Quiet hours and the per-person rate
limit do not apply: a CRM is a machine. See docs/webhooks.md for the document and how to verify it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Table, and_, or_, select
from sqlalchemy.engine import Connection

from churnradar.alert.lifecycle import StepResult
from churnradar.config import Settings, WebhookOut
from churnradar.models import Alert, AlertStatus, Customer
from churnradar.notification import repository as outbox_repo
from churnradar.notification.channels.base import Channel, ChannelSettings
from churnradar.notification.channels.http import check_status, dumps, post, signature
from churnradar.notification.exceptions import DeliveryError
from churnradar.notification.routing import Outgoing, Receiver
from churnradar.notification.schemas import Message

CHANNEL_PREFIX = "webhook_out:"
DOCUMENT_VERSION = 1
# Lifecycle event kinds -> the event names endpoints subscribe to.
EVENTS = {
    "opened": "alert_opened",
    "escalated": "alert_escalated",
    "deescalated": "alert_deescalated",
    "resolved": "alert_resolved",
    "muted": "alert_muted",
}
ALERTS: Table = Alert.__table__  # type: ignore[assignment]
CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]


def channel_name(endpoint: str) -> str:
    """The outbox channel of an endpoint."""
    return CHANNEL_PREFIX + endpoint


def is_webhook_out(channel: str) -> bool:
    """Whether an outbox channel is a CRM endpoint (no quiet hours, no rate limit)."""
    return channel.startswith(CHANNEL_PREFIX)


def _plain(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def alert_documents(
    conn: Connection, events: pd.DataFrame, *, as_of: date, at: datetime
) -> list[dict[str, Any]]:
    """One document per change of a step, with the stored alert's id, customer id, level and reasons."""
    if events.empty:
        return []
    query = (
        select(ALERTS, CUSTOMERS.c.external_id)
        .join(CUSTOMERS, CUSTOMERS.c.id == ALERTS.c.customer_id)
        .where(
            ALERTS.c.last_evaluated_on == as_of,
            or_(
                ALERTS.c.status == AlertStatus.OPEN.value,
                and_(ALERTS.c.status == AlertStatus.RESOLVED.value, ALERTS.c.resolved_on == as_of),
            ),
            ALERTS.c.customer_id.in_({int(c) for c in events["customer_id"]}),
        )
    )
    alerts = {(int(r.customer_id), str(r.rule)): r for r in conn.execute(query)}
    documents = []
    for change in events.to_dict("records"):
        alert = alerts.get((int(change["customer_id"]), str(change["rule"])))
        event = EVENTS.get(str(change["kind"]))
        if alert is None or event is None:
            continue
        moved = change["kind"] in ("escalated", "deescalated")
        documents.append(
            {
                "version": DOCUMENT_VERSION,
                "event": event,
                "alert_id": int(alert.id),
                "customer_id": alert.external_id,
                "rule": alert.rule,
                "template": alert.template,
                "level": alert.level,
                "previous_level": _plain(change["from_level"]) if moved else None,
                "status": alert.status,
                "muted": alert.muted,
                "reason_en": alert.reason_en,
                "reason_zh": alert.reason_zh,
                "cause": _plain(change["cause"]),
                "as_of": as_of.isoformat(),
                "time": at.replace(tzinfo=UTC).isoformat(),
            }
        )
    return documents


def outgoing(documents: Sequence[dict[str, Any]], endpoints: Sequence[WebhookOut]) -> list[Outgoing]:
    """One outbox message per (endpoint, document) the endpoint subscribes to; keyed so each is sent once."""
    out = []
    for endpoint in endpoints:
        for document in documents:
            if document["event"] not in endpoint.events:
                continue
            event, alert_id = document["event"], document["alert_id"]
            message = Message(
                subject=f"{event} {document['customer_id']} {document['rule']}",
                event=event,
                dedup_key=f"{CHANNEL_PREFIX}{endpoint.name}:{alert_id}:{event}:{document['as_of']}",
                document=document,
            )
            out.append(Outgoing(Receiver(channel_name(endpoint.name), ""), message))
    return out


def queue_alert_changes(
    conn: Connection, result: StepResult, *, as_of: date, now: datetime, settings: Settings
) -> int:
    """Queue the step's alert changes for every configured endpoint, in the caller's transaction."""
    endpoints = settings.notifications.webhooks_out
    if not endpoints or result.events.empty:
        return 0
    documents = alert_documents(conn, result.events, as_of=as_of, at=now)
    return outbox_repo.add(conn, outgoing(documents, endpoints), now=now)


class CrmWebhookChannel(Channel):
    """POSTs the document as compact UTF-8 JSON, signed with `X-Churnradar-Signature: sha256=<HMAC>`."""

    settings_model = ChannelSettings  # built from a WebhookOut, not from a channels: entry

    def send(self, message: Message, address: str) -> None:
        """POST the document with timestamp, signature, event and idempotency key headers."""
        endpoint: WebhookOut = self.settings
        if message.document is None:
            raise DeliveryError("the message carries no document", retryable=False)
        body = dumps(message.document)
        timestamp = str(int(self.now()))
        headers = {
            "X-Churnradar-Event": message.event,
            "X-Churnradar-Timestamp": timestamp,
            "X-Churnradar-Signature": signature(endpoint.secret.get_secret_value(), timestamp, body),
            "Idempotency-Key": message.dedup_key,
        }
        check_status(*post(endpoint.url.get_secret_value(), body, headers, self.timeout))


def channels(settings: Settings) -> dict[str, Channel]:
    """A channel per configured endpoint, by outbox channel name."""
    n = settings.notifications
    return {channel_name(e.name): CrmWebhookChannel(e, timeout=n.timeout_seconds) for e in n.webhooks_out}
