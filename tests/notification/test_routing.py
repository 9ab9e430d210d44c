"""Routing as data: a YAML file with env secrets; red reaches the manager and the team's DingTalk robot."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.engine import Engine

from churnradar.config import Settings, load_notifications
from churnradar.kit.clock import FrozenClock
from churnradar.notification import service as notification_service
from tests.intervention.helpers import NOW, seed
from tests.intervention.test_tasks import _apply
from tests.notification.receivers import http_receiver

FILE = Path(__file__).parent / "fixtures" / "notifications.yaml"


def test_the_file_needs_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    with pytest.raises(ValueError, match="TEST_SMTP_PASSWORD"):
        load_notifications(FILE)


def test_red_alert_reaches_owner_manager_and_team_robot(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(engine)
    with http_receiver() as robot:
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "pw")
        monkeypatch.setenv("TEST_DINGTALK_URL", robot.url + "/robot/send?access_token=t")
        monkeypatch.setenv("TEST_DINGTALK_SECRET", "SECabc")
        settings = Settings(environment="test", secret_key="x" * 32, notifications_file=FILE)  # type: ignore[arg-type]
        assert "pw" not in repr(settings)
        assert "access_token" not in repr(settings)
        _apply(
            engine,
            [{"customer_id": 10, "rule": "r1", "level": "red"}],
            [(10, "r1", "opened")],
            settings=settings,
        )
        _apply(
            engine,
            [{"customer_id": 13, "rule": "r1", "level": "yellow"}],
            [(13, "r1", "opened")],
            settings=settings,
        )
        with engine.connect() as conn:
            from sqlalchemy import select

            from churnradar.models import OutboxMessage

            rows = [(r.channel, r.receiver, r.subject) for r in conn.execute(select(OutboxMessage))]
        assert rows == [
            ("email", "email:ray@example.com", "churnradar：1 个新的流失预警"),
            ("email", "email:mia@example.com", "churnradar：1 个新的流失预警"),
            ("sales_dingtalk", "sales_dingtalk:", "churnradar：1 个新的流失预警"),
            ("email", "email:sam@example.com", "churnradar：1 个新的流失预警"),
        ]
        # Deliver only the robot's message (the file's SMTP server does not exist); 16:00 in Shanghai.
        channels = notification_service.configured_channels(settings)
        summary = notification_service.deliver(
            engine,
            settings=settings,
            clock=FrozenClock(NOW),
            channels={"sales_dingtalk": channels["sales_dingtalk"]},
        )
    assert summary.sent == 1
    (request,) = robot.requests
    query = parse_qs(urlsplit(request.path).query)
    stamp = query["timestamp"][0]
    digest = hmac.new(b"SECabc", f"{stamp}\nSECabc".encode(), hashlib.sha256).digest()
    assert query["sign"] == [base64.b64encode(digest).decode()]
    assert "Acme (#10)【red】" in request.body.decode()


def test_the_shipped_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMTP_PASSWORD", "EAST_DINGTALK_URL", "EAST_DINGTALK_SECRET", "CRM_WEBHOOK_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1/x")
    monkeypatch.setenv("CRM_WEBHOOK_SECRET", "a-long-enough-signing-secret")
    example = Path(__file__).parents[2] / "examples" / "notifications.yaml"
    settings = load_notifications(example)
    assert settings.team_channels == {"East": "east_dingtalk"}
    assert [(hook.name, hook.url.get_secret_value()) for hook in settings.webhooks_out] == [
        ("crm", "http://127.0.0.1/x")
    ]
    assert set(
        notification_service.configured_channels(
            Settings(environment="test", secret_key="x" * 32, notifications=settings)  # type: ignore[arg-type]
        )
    ) == {"email", "east_dingtalk", "webhook_out:crm"}
