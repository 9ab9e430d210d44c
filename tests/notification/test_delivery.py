"""Delivery: retries with backoff then dead letter (seen from the CLI), once-only after a crash, quiet hours,
rate limits, dedup, and a digest that reaches a local SMTP server."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import textwrap
from datetime import date, datetime, time, timedelta
from email.header import decode_header, make_header
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from churnradar.cli.main import app
from churnradar.config import Settings
from churnradar.intervention import jobs
from churnradar.kit.clock import FrozenClock
from churnradar.models import DeliveryAttempt, OutboxMessage, UserPreference
from churnradar.notification import policy, stored_channels, stored_routes
from churnradar.notification import repository as outbox_repo
from churnradar.notification import service as notification_service
from churnradar.notification.routing import Outgoing, Receiver
from churnradar.notification.schemas import Message
from tests.intervention.helpers import NOW, make_settings, seed
from tests.intervention.test_tasks import _apply
from tests.notification.receivers import free_port, http_receiver, smtp_receiver


def _queue(engine: Engine, key: str = "alert_opened:x:hook:", channel: str = "hook") -> None:
    message = Message(subject="s", lines=["a"], event="alert_opened", dedup_key=key)
    with engine.begin() as conn:
        outbox_repo.add(conn, [Outgoing(Receiver(channel, ""), message)], now=NOW)


def _hook(url: str, **extra: object) -> dict[str, object]:
    return {"channels": {"hook": {"type": "webhook", "secrets": {"url": url, "secret": "s3cr3t"}}}, **extra}


def _rows(engine: Engine) -> list[OutboxMessage]:
    with engine.connect() as conn:
        return list(conn.execute(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


class TestRetries:
    def test_down_receiver_retries_with_backoff_then_dead_letter(self, engine: Engine) -> None:
        url = f"http://127.0.0.1:{free_port()}/hook?token=TOPSECRET"
        settings = make_settings(**_hook(url, max_attempts=3, backoff_seconds=60))
        _queue(engine)
        clock = FrozenClock(NOW)
        waits = []
        for _ in range(3):
            summary = notification_service.deliver(engine, settings=settings, clock=clock)
            (row,) = _rows(engine)
            waits.append(row.next_attempt_at - clock.now())
            assert (
                notification_service.deliver(engine, settings=settings, clock=clock).as_dict()["retrying"]
                == 0
            )
            clock.at = row.next_attempt_at
        assert summary.dead == 1
        assert waits[:2] == [timedelta(seconds=60), timedelta(seconds=120)]
        (row,) = _rows(engine)
        assert (row.status, row.attempts) == ("dead", 3)
        with engine.connect() as conn:
            attempts = list(conn.execute(select(DeliveryAttempt)))
        assert [(a.ok, a.retryable) for a in attempts] == [(False, True)] * 3
        assert all("TOPSECRET" not in (a.error or "") for a in attempts)

        result = CliRunner().invoke(app, ["notify", "dead-letters", "--db", str(engine.url), "--json"])
        assert result.exit_code == 0, result.output
        (letter,) = json.loads(result.output)["dead_letters"]
        assert (letter["receiver"], letter["attempts"]) == ("hook:", 3)

        with http_receiver() as receiver:
            settings = make_settings(**_hook(receiver.url + "/hook"))
            requeue = ["notify", "dead-letters", "--requeue", "--db", str(engine.url), "--json"]
            assert json.loads(CliRunner().invoke(app, requeue).output)["requeued"] == 1
            notification_service.deliver(engine, settings=settings, clock=FrozenClock(datetime.now()))
        assert len(receiver.requests) == 1

    def test_permanent_failure_is_dead_at_once(self, engine: Engine) -> None:
        with http_receiver() as receiver:
            receiver.status = 403
            _queue(engine)
            summary = notification_service.deliver(
                engine, settings=make_settings(**_hook(receiver.url)), clock=FrozenClock(NOW)
            )
        assert (summary.dead, _rows(engine)[0].attempts) == (1, 1)

    def test_requeue_reaches_every_dead_letter_and_deliver_exits_3_when_one_dies(
        self, engine: Engine
    ) -> None:
        message = Message(subject="s", lines=["a"], event="alert_opened", dedup_key="k")
        with engine.begin() as conn:
            outbox_repo.add(
                conn,
                [
                    Outgoing(Receiver("nowhere", ""), dataclasses.replace(message, dedup_key=f"k{i}"))
                    for i in range(450)
                ],
                now=NOW,
            )
            conn.execute(update(OutboxMessage).values(status="dead", attempts=5))
        url = str(engine.url.render_as_string(hide_password=False))
        requeue = CliRunner().invoke(app, ["notify", "dead-letters", "--requeue", "--db", url, "--json"])
        assert requeue.exit_code == 0, requeue.output
        document = json.loads(requeue.stdout)
        assert document["requeued"] == 450  # not the 200 the listing shows
        assert len(document["dead_letters"]) == 200
        assert {r.status for r in _rows(engine)} == {"pending"}
        with engine.begin() as conn:
            conn.execute(update(OutboxMessage).values(status="dead"))
        assert notification_service.requeue_dead_letters(engine, now=NOW, batch=100) == 450

        # One dead letter in a pass: deliver says so with exit code 3; a pass where nothing dies exits 0.
        with engine.begin() as conn:
            conn.execute(update(OutboxMessage).where(OutboxMessage.id > 1).values(status="sent"))
        delivered = CliRunner().invoke(app, ["notify", "deliver", "--db", url, "--json"])
        assert delivered.exit_code == 3, delivered.output
        assert json.loads(delivered.stdout)["dead"] == 1
        again = CliRunner().invoke(app, ["notify", "deliver", "--db", url, "--json"])
        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["dead"] == 0

    def test_unconfigured_channel_is_a_dead_letter(self, engine: Engine) -> None:
        _queue(engine, channel="nowhere")
        summary = notification_service.deliver(engine, settings=make_settings(), clock=FrozenClock(NOW))
        assert summary.dead == 1
        assert "not configured" in (_rows(engine)[0].last_error or "")


CRASH = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime
    from churnradar.db import create_engine
    from churnradar.notification import repository as outbox_repo
    from churnradar.notification.routing import Outgoing, Receiver
    from churnradar.notification.schemas import Message

    engine = create_engine(sys.argv[1])
    message = Message(subject="s", lines=["a"], event="alert_opened", dedup_key="crash:1")
    with engine.begin() as conn:
        outbox_repo.add(conn, [Outgoing(Receiver("hook", ""), message)], now=datetime(2026, 6, 15, 8))
    if sys.argv[2] == "claim":
        with engine.begin() as conn:
            (row,) = outbox_repo.due(conn, datetime(2026, 6, 15, 8), 10)
            outbox_repo.claim(conn, row, datetime(2026, 6, 15, 8, 5))
    os.kill(os.getpid(), signal.SIGKILL)  # dies after the commit, before any send
    """
)


class TestCrash:
    @pytest.mark.parametrize("stage", ["commit", "claim"])
    def test_killed_before_send_sends_exactly_once_after_restart(self, engine: Engine, stage: str) -> None:
        if engine.dialect.name != "sqlite":
            pytest.skip("the child process opens the SQLite file")
        done = subprocess.run([sys.executable, "-c", CRASH, str(engine.url), stage], check=False)
        assert done.returncode == -signal.SIGKILL
        with http_receiver() as receiver:
            settings = make_settings(**_hook(receiver.url))
            clock = FrozenClock(NOW)
            for _ in range(2):
                notification_service.deliver(engine, settings=settings, clock=clock)
            clock.at = NOW + timedelta(minutes=10)  # after a claim's lease
            for _ in range(2):
                notification_service.deliver(engine, settings=settings, clock=clock)
        assert len(receiver.requests) == 1
        assert receiver.requests[0].headers["Idempotency-Key"] == "crash:1"

    def test_the_same_cause_is_queued_once(self, engine: Engine) -> None:
        _queue(engine, key="k")
        _queue(engine, key="k")
        assert len(_rows(engine)) == 1


class TestNoFlooding:
    def test_quiet_hours_across_midnight(self) -> None:
        zone = ZoneInfo("Asia/Shanghai")
        start, end = time(22), time(7)
        # 23:30 Shanghai = 15:30 UTC: quiet until 07:00 Shanghai = 23:00 UTC.
        assert policy.quiet_until(datetime(2026, 6, 15, 15, 30), zone, start, end) == datetime(
            2026, 6, 15, 23
        )
        assert policy.quiet_until(datetime(2026, 6, 15, 20), zone, start, end) == datetime(2026, 6, 15, 23)
        assert policy.quiet_until(datetime(2026, 6, 15, 2), zone, start, end) is None
        assert policy.quiet_until(datetime(2026, 6, 15, 2), zone, None, None) is None

    def test_rate_limit_window(self) -> None:
        sent = [NOW - timedelta(minutes=m) for m in (50, 30, 10)]
        assert policy.rate_limited_until(NOW, sent, 4) is None
        assert policy.rate_limited_until(NOW, sent, 3) == NOW + timedelta(minutes=10)
        assert policy.rate_limited_until(NOW, sent, 2) == NOW + timedelta(minutes=30)

    def test_backoff_is_capped(self) -> None:
        assert policy.backoff(10, base_seconds=60, max_seconds=3600) == timedelta(hours=1)

    def test_delivery_waits_out_quiet_hours_and_rate_limit(self, engine: Engine) -> None:
        with http_receiver() as receiver:
            quiet = make_settings(**_hook(receiver.url, quiet_start="07:00", quiet_end="09:00"))
            _queue(engine, key="a")
            assert notification_service.deliver(engine, settings=quiet, clock=FrozenClock(NOW)).deferred == 1
            assert _rows(engine)[0].next_attempt_at == NOW.replace(hour=9)
            limited = make_settings(**_hook(receiver.url, rate_limit_per_hour=1))
            clock = FrozenClock(NOW.replace(hour=9))
            assert notification_service.deliver(engine, settings=limited, clock=clock).sent == 1
            _queue(engine, key="b")
            assert notification_service.deliver(engine, settings=limited, clock=clock).deferred == 1
        assert len(receiver.requests) == 1

    def test_quiet_hours_stored_on_the_settings_page_hold_a_notice_until_they_end(
        self, engine: Engine
    ) -> None:
        # The file names no channel and no quiet hours: the channel and the routing are stored, as the
        # settings page and the API store them.
        file_settings = make_settings()
        with http_receiver() as receiver:
            with Session(engine) as session:
                hook = {"type": "webhook", "secrets": {"url": receiver.url, "secret": "s3cr3t"}}
                stored_channels.save(session, None, file_settings, "hook", hook, now=NOW)
                routing = {"routes": [], "quiet_start": "07:00", "quiet_end": "09:00"}
                stored_routes.save(session, None, routing, ["hook"], now=NOW)
                session.commit()
            _queue(engine, key="a")  # due at 08:00, inside the quiet hours
            held = notification_service.deliver(engine, settings=file_settings, clock=FrozenClock(NOW))
            assert (held.deferred, held.sent) == (1, 0)
            assert _rows(engine)[0].next_attempt_at == NOW.replace(hour=9)
            early = FrozenClock(NOW.replace(hour=8, minute=59))
            assert notification_service.deliver(engine, settings=file_settings, clock=early).sent == 0
            assert receiver.requests == []
            after = FrozenClock(NOW.replace(hour=9))
            assert notification_service.deliver(engine, settings=file_settings, clock=after).sent == 1
        assert len(receiver.requests) == 1
        assert _rows(engine)[0].status == "sent"


def _two_open_tasks(engine: Engine) -> None:
    """The seeded people, with a red task for ray (customer 10) and a yellow one for sam (customer 13)."""
    seed(engine)
    rows = [{"customer_id": c, "rule": "r1", "level": lv} for c, lv in ((10, "red"), (13, "yellow"))]
    _apply(engine, rows, [(10, "r1", "opened"), (13, "r1", "opened")])


def _email_settings(port: int, language: str) -> Settings:
    options = {"host": "127.0.0.1", "port": port, "security": "none", "sender": "radar@example.com"}
    return make_settings(channels={"email": {"type": "email", "options": options}}, language=language)


class TestDigest:
    def test_digest_reaches_a_local_smtp_server_once_a_day(self, engine: Engine) -> None:
        _two_open_tasks(engine)
        with smtp_receiver() as box:
            settings = _email_settings(box.port, "zh")
            day = date(2026, 6, 16)
            assert jobs.send_digest(engine, settings=settings, day=day, clock=FrozenClock(NOW)) == 2
            assert (
                jobs.send_digest(engine, settings=settings, day=day, clock=FrozenClock(NOW)) == 0
            )  # once a day per receiver
            summary = notification_service.deliver(engine, settings=settings, clock=FrozenClock(NOW))
        # Alert mails to ray and sam, to the manager and director for red, then a digest each to ray and sam.
        assert summary.sent == 6
        recipients = sorted(to[0] for to, m in box.mails if m["X-Churnradar-Dedup"].startswith("digest:"))
        assert recipients == ["ray@example.com", "sam@example.com"]
        (ray,) = [
            m
            for to, m in box.mails
            if to == ["ray@example.com"] and m["X-Churnradar-Dedup"].startswith("digest")
        ]
        text = (
            next(p for p in ray.walk() if p.get_content_type() == "text/plain")
            .get_payload(decode=True)
            .decode()
        )
        assert "Acme (#10)【red】" in text
        assert "待处理" in text


class TestLanguagePerRecipient:
    def test_each_recipient_reads_their_own_language_in_the_same_run(self, engine: Engine) -> None:
        # ray chose Chinese in the interface; sam chose nothing, so the configured default (English) holds.
        _two_open_tasks(engine)
        with engine.begin() as conn:
            conn.execute(insert(UserPreference), [{"user_id": 3, "locale": "zh_CN"}])
        with smtp_receiver() as box:
            settings = _email_settings(box.port, "en")
            jobs.send_digest(engine, settings=settings, day=date(2026, 6, 16), clock=FrozenClock(NOW))
            notification_service.deliver(engine, settings=settings, clock=FrozenClock(NOW))
        digests = {to[0]: m for to, m in box.mails if m["X-Churnradar-Dedup"].startswith("digest:")}

        def body(mail: Any, kind: str) -> str:
            part = next(p for p in mail.walk() if p.get_content_type() == kind)
            return str(part.get_payload(decode=True).decode())

        def subject(mail: Any) -> str:
            return str(make_header(decode_header(mail["Subject"])))

        ray, sam = digests["ray@example.com"], digests["sam@example.com"]
        assert subject(ray) == "churnradar 每日摘要：1 个待处理任务"
        assert "Acme (#10)【red】：待处理；请于 " in body(ray, "text/plain")
        assert '<html lang="zh-CN">' in body(ray, "text/html")
        assert subject(sam) == "churnradar daily digest: 1 open task(s)"
        assert "Busy Co (#13) [yellow]: open; act by " in body(sam, "text/plain")
        assert '<html lang="en">' in body(sam, "text/html")
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in body(sam, "text/plain"))
