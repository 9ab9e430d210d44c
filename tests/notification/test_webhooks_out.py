"""Webhooks out: alert changes reach a real HTTP receiver on 127.0.0.1 as signed JSON, once, with retries on
5xx and dead letters; settings read secrets from the environment; `evaluate` queues them with its changes."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from churnradar.alert import repository as alert_repo
from churnradar.alert.lifecycle import Policy, step
from churnradar.config import Settings, load_notifications
from churnradar.db import create_engine
from churnradar.evaluation.service import evaluate
from churnradar.kit.clock import FrozenClock
from churnradar.models import AlertEvent, OutboxMessage
from churnradar.notification import service as notification_service
from churnradar.notification import webhooks
from churnradar.notification.schemas import OutboxStatus
from tests.conftest import copy_store
from tests.evaluation.conftest import AS_OF, demo_db  # noqa: F401 (the session's simulated customer base)
from tests.intervention.helpers import NOW, make_settings, seed
from tests.notification.receivers import HttpReceiver, Recorded, http_receiver

SECRET = "whsec-0123456789abcdef"
DAY = date(2026, 6, 15)
POLICY = Policy(auto_resolve_after=1, cooldown_days=0, cap_per_owner=None)


def verify(secret: str, body: bytes, timestamp: str, signature: str, *, tolerance: int = 300) -> bool:
    """What a receiver does (docs/webhooks.md): a fresh timestamp and the HMAC of "timestamp.body"."""
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)


def _fired(*rows: tuple[int, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(c, r, "general", level, f"{r} fired", f"{r} 触发", None) for c, r, level in rows],
        columns=["customer_id", "rule", "template", "level", "reason_en", "reason_zh", "values"],
    )


def _step(engine: Engine, fired: pd.DataFrame, as_of: date, settings: Settings, **kw: Any) -> int:
    """What `evaluate` does with a lifecycle step: save it, and queue its webhooks in the same transaction."""
    with engine.begin() as conn:
        before = alert_repo.open_state(conn)
        result = step(before.drop(columns="id"), fired, as_of=as_of, policy=POLICY, **kw)
        alert_repo.save_step(conn, before, result, as_of=as_of, at=NOW)
        return webhooks.queue_alert_changes(conn, result, as_of=as_of, now=NOW, settings=settings)


def _settings(url: str, **extra: Any) -> Settings:
    hook = {"name": "crm", "url": url, "secret": SECRET} | extra.pop("hook", {})
    return make_settings(webhooks_out=[hook], **extra)


def _documents(requests: list[Recorded]) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in requests]


def _outbox(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.fixture
def people(engine: Engine) -> Engine:
    seed(engine)
    return engine


@pytest.fixture
def receiver() -> Any:
    with http_receiver() as found:
        yield found


class TestDelivery:
    def test_changes_arrive_signed_with_ids_levels_and_reasons(
        self, people: Engine, receiver: HttpReceiver
    ) -> None:
        settings = _settings(receiver.url + "/crm/hook")
        clock = FrozenClock(NOW)
        assert (
            _step(
                people, _fired((10, "orders_stopped", "yellow"), (11, "payment_late", "red")), DAY, settings
            )
            == 2
        )
        assert notification_service.deliver(people, settings=settings, clock=clock).sent == 2
        for request in receiver.requests:
            headers = {k.lower(): v for k, v in request.headers.items()}
            assert request.path == "/crm/hook"
            assert headers["content-type"].startswith("application/json")
            stamp, signed = headers["x-churnradar-timestamp"], headers["x-churnradar-signature"]
            assert verify(SECRET, request.body, stamp, signed)
            assert not verify("another-secret-0000", request.body, stamp, signed)
            assert not verify(SECRET, request.body.replace(b"C1", b"C9"), stamp, signed)  # a changed body
            assert not verify(SECRET, request.body, str(int(stamp) + 1), signed)  # a changed timestamp
            assert headers["idempotency-key"].startswith("webhook_out:crm:")
        opened = {d["customer_id"]: d for d in _documents(receiver.requests)}
        assert set(opened) == {"C10", "C11"}
        assert opened["C11"]["event"] == "alert_opened"
        assert (opened["C11"]["level"], opened["C11"]["previous_level"], opened["C11"]["status"]) == (
            "red",
            None,
            "open",
        )
        assert (opened["C11"]["reason_en"], opened["C11"]["reason_zh"]) == (
            "payment_late fired",
            "payment_late 触发",
        )
        assert opened["C11"]["rule"] == "payment_late"
        assert opened["C11"]["time"] == "2026-06-15T08:00:00+00:00"
        assert isinstance(opened["C11"]["alert_id"], int)

        # A week later C10 escalates and C11's condition is gone: escalated (level before given), resolved.
        assert _step(people, _fired((10, "orders_stopped", "red")), DAY + timedelta(days=7), settings) == 2
        assert notification_service.deliver(people, settings=settings, clock=clock).sent == 2
        later = {d["event"]: d for d in _documents(receiver.requests[2:])}
        assert (later["alert_escalated"]["customer_id"], later["alert_escalated"]["level"]) == ("C10", "red")
        assert later["alert_escalated"]["previous_level"] == "yellow"
        assert later["alert_escalated"]["alert_id"] == opened["C10"]["alert_id"]
        assert (later["alert_resolved"]["customer_id"], later["alert_resolved"]["status"]) == (
            "C11",
            "resolved",
        )
        # Sent means sent: another pass sends nothing again.
        assert notification_service.deliver(people, settings=settings, clock=clock).sent == 0
        assert len(receiver.requests) == 4

    def test_a_500_is_retried_with_the_same_body_and_key_then_delivered(
        self, people: Engine, receiver: HttpReceiver
    ) -> None:
        settings = _settings(receiver.url, backoff_seconds=60)
        _step(people, _fired((10, "orders_stopped", "orange")), DAY, settings)
        receiver.status, receiver.answer = 500, b"crm is down"
        clock = FrozenClock(NOW)
        summary = notification_service.deliver(people, settings=settings, clock=clock)
        assert (summary.sent, summary.retrying) == (0, 1)
        (row,) = _outbox(people)
        assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, NOW + timedelta(seconds=60))
        assert "HTTP 500" in row.last_error
        # Not due yet: nothing is sent before the backoff has passed.
        assert notification_service.deliver(people, settings=settings, clock=clock).sent == 0
        receiver.status, receiver.answer = 200, b"ok"
        clock.at = NOW + timedelta(seconds=61)
        assert notification_service.deliver(people, settings=settings, clock=clock).sent == 1
        first, second = receiver.requests
        assert first.body == second.body
        assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
        assert verify(
            SECRET,
            second.body,
            second.headers["X-Churnradar-Timestamp"],
            second.headers["X-Churnradar-Signature"],
        )
        assert _outbox(people)[0].status == OutboxStatus.SENT.value

    def test_a_receiver_that_keeps_failing_ends_in_the_dead_letters(
        self, people: Engine, receiver: HttpReceiver
    ) -> None:
        settings = _settings(receiver.url, max_attempts=2, backoff_seconds=1)
        _step(people, _fired((10, "orders_stopped", "orange")), DAY, settings)
        receiver.status = 503
        clock = FrozenClock(NOW)
        notification_service.deliver(people, settings=settings, clock=clock)
        clock.at = NOW + timedelta(minutes=1)
        assert notification_service.deliver(people, settings=settings, clock=clock).dead == 1
        assert _outbox(people)[0].status == OutboxStatus.DEAD.value
        assert len(receiver.requests) == 2

    def test_quiet_hours_and_rate_limits_do_not_hold_a_crm(
        self, people: Engine, receiver: HttpReceiver
    ) -> None:
        # 08:00 UTC is inside 07:00-09:00 quiet hours; one message an hour would hold the second change.
        settings = _settings(receiver.url, quiet_start="07:00", quiet_end="09:00", rate_limit_per_hour=1)
        _step(people, _fired((10, "a", "red"), (11, "b", "red"), (12, "c", "red")), DAY, settings)
        assert notification_service.deliver(people, settings=settings, clock=FrozenClock(NOW)).sent == 3

    def test_endpoints_get_only_the_events_they_ask_for(self, people: Engine, receiver: HttpReceiver) -> None:
        settings = _settings(receiver.url, hook={"events": ["alert_resolved", "alert_muted"]})
        assert _step(people, _fired((10, "a", "red"), (11, "b", "red")), DAY, settings) == 0
        silences = pd.DataFrame([{"customer_id": 10, "rule": "a"}])
        assert (
            _step(people, _fired((10, "a", "red")), DAY + timedelta(days=7), settings, silences=silences) == 2
        )
        notification_service.deliver(people, settings=settings, clock=FrozenClock(NOW))
        events = {d["event"]: d for d in _documents(receiver.requests)}
        assert set(events) == {"alert_muted", "alert_resolved"}
        assert (events["alert_muted"]["customer_id"], events["alert_muted"]["muted"]) == ("C10", "silenced")

    def test_no_endpoint_no_outbox_rows(self, people: Engine) -> None:
        assert _step(people, _fired((10, "a", "red")), DAY, make_settings()) == 0
        assert _outbox(people) == []


class TestSettings:
    def test_secrets_come_from_the_environment_and_never_print(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CRM_HOOK_URL", "https://crm.example.com/hook?token=TOPSECRET")
        monkeypatch.setenv("CRM_HOOK_SECRET", SECRET)
        path = tmp_path / "notifications.yaml"
        path.write_text(
            "webhooks_out:\n"
            "  - {name: crm, url: 'env:CRM_HOOK_URL', secret: 'env:CRM_HOOK_SECRET',\n"
            "     events: [alert_opened]}\n",
            encoding="utf-8",
        )
        (hook,) = load_notifications(path).webhooks_out
        assert hook.url.get_secret_value().endswith("TOPSECRET")
        assert hook.secret.get_secret_value() == SECRET
        assert "TOPSECRET" not in repr(hook)
        assert SECRET not in repr(hook)

    @pytest.mark.parametrize(
        ("hooks", "problem"),
        [
            ([{"name": "a", "url": "http://x", "secret": "short"}], "secret"),
            ([{"name": "a", "url": "http://x", "secret": SECRET, "events": ["alert_exploded"]}], "events"),
            ([{"name": "a", "url": "http://x", "secret": SECRET}] * 2, "own name"),
            ([{"name": "a b", "url": "http://x", "secret": SECRET}], "name"),
        ],
    )
    def test_bad_endpoints_are_refused_naming_the_field(
        self, hooks: list[dict[str, Any]], problem: str
    ) -> None:
        with pytest.raises(ValueError, match=problem):
            make_settings(webhooks_out=hooks)


def test_evaluate_queues_a_webhook_per_alert_change(demo_db: Path, tmp_path: Path) -> None:  # noqa: F811
    copy = copy_store(demo_db, tmp_path / "copy.db")
    engine = create_engine(f"sqlite:///{copy}")
    settings = _settings("http://127.0.0.1:9/unused")
    summary = evaluate(engine, as_of=AS_OF, settings=settings, clock=FrozenClock(NOW))
    with engine.connect() as conn:
        changes = conn.execute(
            select(func.count())
            .select_from(AlertEvent)
            .where(
                AlertEvent.as_of == AS_OF,
                AlertEvent.kind.in_(["opened", "escalated", "deescalated", "resolved"]),
            )
        ).scalar_one()
        rows = conn.execute(
            select(OutboxMessage.event, OutboxMessage.payload).where(
                OutboxMessage.channel == "webhook_out:crm"
            )
        ).all()
    assert summary.counts["opened"] > 0
    assert len(rows) == changes
    assert {p["document"]["as_of"] for _, p in rows} == {AS_OF.isoformat()}
