"""Text messages reach people by phone number only: anyone without one is skipped with the reason recorded."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from churnradar import i18n
from churnradar.config import ChannelConfig, NotificationSettings, Route, Settings
from churnradar.kit.clock import FrozenClock
from churnradar.models import OutboxMessage, User
from churnradar.notification import repository as outbox_repo
from churnradar.notification import routing
from churnradar.notification import service as notification_service
from churnradar.notification.schemas import Notice
from tests.notification.receivers import http_receiver

NOW = datetime(2026, 6, 15, 9)


def _notice(assignee: int) -> Notice:
    return Notice(
        event="task_assigned",
        cause=f"task:{assignee}",
        level="red",
        customer_id=1,
        assignee_id=assignee,
        team_id=None,
        line=i18n.msg("{customer}: call them", customer="Acme"),
    )


def _contact(person: int, *, phone: str | None) -> routing.Contact:
    return routing.Contact(
        person, f"p{person}", f"p{person}@example.com", "rep", None, None, True, phone=phone
    )


def _routes(channel: str) -> list[Route]:
    return [Route(events=["task_assigned"], to=["assignee"], channel=channel)]


class TestReceivers:
    DIRECTORY = routing.Directory(
        {
            1: _contact(1, phone="+86 138-0013-8000"),
            2: _contact(2, phone=None),
            3: _contact(3, phone="0138 not a number"),
        },
        {},
    )

    def _receivers(self, person: int, channel: str) -> list[routing.Receiver]:
        types = {"text": "sms", "mail": "email"}
        return routing.receivers(_notice(person), _routes(channel), self.DIRECTORY, {}, types)

    def test_a_text_message_goes_to_the_phone_number_in_e164_form(self) -> None:
        assert self._receivers(1, "text") == [routing.Receiver("text", "+8613800138000")]

    def test_without_a_usable_phone_a_person_is_skipped_never_sent_to_email(self) -> None:
        assert self._receivers(2, "text") == [routing.Receiver("text", "", "no phone number", 2)]
        assert self._receivers(3, "text") == [routing.Receiver("text", "", "invalid phone number", 3)]
        assert all("@" not in r.address for p in (1, 2, 3) for r in self._receivers(p, "text"))

    def test_e_mail_channels_still_use_the_address(self) -> None:
        assert self._receivers(2, "mail") == [routing.Receiver("mail", "p2@example.com")]


def test_skipped_people_are_recorded_and_the_gateway_gets_only_numbers(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "id": 1,
                    "login": "ann",
                    "email": "ann@example.com",
                    "phone": "+8613800138000",
                    "role": "rep",
                },
                {"id": 2, "login": "bob", "email": "bob@example.com", "phone": None, "role": "rep"},
            ],
        )
    with http_receiver() as gateway:
        channel = ChannelConfig(type="sms", options={}, secrets={"url": gateway.url + "/sms"})  # type: ignore[dict-item]
        notifications = NotificationSettings(channels={"text": channel}, routes=_routes("text"))
        settings = Settings(environment="test", secret_key="x" * 32, notifications=notifications)  # type: ignore[arg-type]
        with engine.begin() as conn:
            added = notification_service.notify(conn, [_notice(1), _notice(2)], settings=settings, now=NOW)
        assert added == 2
        summary = notification_service.deliver(engine, settings=settings, clock=FrozenClock(NOW))
    assert (summary.sent, summary.dead) == (1, 0)
    assert [json.loads(r.body)["to"] for r in gateway.requests] == ["+8613800138000"]
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                OutboxMessage.receiver, OutboxMessage.address, OutboxMessage.status, OutboxMessage.last_error
            ).order_by(OutboxMessage.receiver)
        ).all()
        assert outbox_repo.counts(conn) == {"sent": 1, "skipped": 1}
    assert [tuple(r) for r in rows] == [
        ("text:+8613800138000", "+8613800138000", "sent", None),
        ("text:user:2", "", "skipped", "no phone number"),
    ]
