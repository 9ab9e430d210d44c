"""Settings: admins only; templates and playbooks; channels with secrets masked and a real test; teams."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth.schemas import Scope
from churnradar.config import Settings
from churnradar.db import session_scope
from churnradar.kit.clock import SystemClock
from churnradar.models import AuditEntry, OutboxMessage, Team
from churnradar.rule import service as rule_service
from churnradar.web.app import create_app
from tests.notification.receivers import HttpReceiver, Mailbox, http_receiver, smtp_receiver
from tests.web.conftest import World, bearer, csrf_of, sign_in

SIGNING_SECRET = "hook-signing-secret-9f3a"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
SMTP_PASSWORD = "smtp-password-4c1e"


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_receiver() as box:
        yield box


def _admin_with_channels(world: World, hook: HttpReceiver, mailbox: Mailbox) -> TestClient:
    """The admin signed in to an app whose settings configure a webhook and an e-mail channel."""
    notifications = {
        "channels": {
            "hook": {"type": "webhook", "secrets": {"url": hook.url + "/churn", "secret": SIGNING_SECRET}},
            "mail": {
                "type": "email",
                "options": {
                    "host": "127.0.0.1",
                    "port": mailbox.port,
                    "security": "none",
                    "sender": "churnradar@example.com",
                },
                # Without a username it is never sent (the local receiver takes mail without AUTH).
                "secrets": {"password": SMTP_PASSWORD},
            },
        },
        "team_channels": {"East": "hook"},
    }
    settings = Settings(environment="test", secret_key="x" * 32, notifications=notifications)  # type: ignore[arg-type]
    return sign_in(TestClient(create_app(settings, world.engine), base_url="http://127.0.0.1"), "admin")


def _audit(world: World, entity: str) -> list[tuple[str, str, str | None, object]]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity_id, AuditEntry.details)
            .where(AuditEntry.entity == entity)
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


class TestAccess:
    def test_only_admins_open_settings_or_send_tests(
        self, world: World, client_for: Callable[[str], TestClient], hook: HttpReceiver
    ) -> None:
        assert 'href="/settings"' in client_for("admin").get("/").text
        for login in ("director", "mgr_east", "rep_east"):
            client = client_for(login)
            token = csrf_of(client.get("/account").text)
            assert client.get("/settings").status_code == 403
            assert client.post("/settings/channels/hook/test", data={"csrf_token": token}).status_code == 403
            assert 'href="/settings"' not in client.get("/").text
        assert hook.requests == []


class TestSettingsPage:
    def test_templates_and_playbooks_are_shown_with_their_deadlines_editable(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        response = client_for("admin").get("/settings")
        assert response.status_code == 200
        text = html.unescape(response.text)
        templates = rule_service.active_templates(world.engine, at=SystemClock().now())
        # The contents at the top link to every section and template, each anchor on the page.
        contents = text[text.index('id="settings-contents"') : text.index('id="templates"')]
        anchors = re.findall(r'href="#([\w-]+)"', contents)
        assert {f"template-{slug}" for slug in templates} < set(anchors)
        assert all(f'id="{anchor}"' in text for anchor in anchors), anchors
        assert "a customer's tasks follow the playbook of the template that applies to them" in text
        for slug, template in templates.items():
            assert f'id="template-{slug}"' in text
            caption = text[text.index(f'id="playbooks-{slug}"') :][:300]
            assert "for the customers this template applies to" in caption
            for playbook in template.playbooks:
                form = f'action="/settings/playbooks/{slug}/{playbook.level}"'
                assert form in text
                after = text[text.index(form) :]
                assert f'name="deadline_hours" value="{playbook.deadline_hours}"' in after[:600]
                assert playbook.actions_en[0] in text
        chinese = client_for("admin")
        chinese.post(
            "/language", data={"csrf_token": csrf_of(chinese.get("/settings").text), "locale": "zh_CN"}
        )
        zh = html.unescape(chinese.get("/settings").text)
        assert "行业模板与处置手册" in zh
        assert "本页内容" in zh
        assert "模板未设置的等级沿用通用模板的处置手册" in zh
        assert templates["general"].playbooks[0].actions_zh[0] in zh

    def test_channels_and_routing_are_shown_without_their_secrets(
        self, world: World, hook: HttpReceiver, mailbox: Mailbox
    ) -> None:
        page = _admin_with_channels(world, hook, mailbox).get("/settings").text
        assert 'id="channel-hook"' in page
        assert 'id="channel-mail"' in page
        assert "churnradar@example.com" in page  # options are plain
        for secret in (SIGNING_SECRET, SMTP_PASSWORD, hook.url):
            assert secret not in page
        assert page.count("••••••") == 3  # hook url + secret, mail password
        assert "alert opened, alert escalated" in page  # the default routes, in words
        # Event and target names in code form only in the routes' YAML text box.
        shown = re.sub(r"<textarea.*?</textarea>", "", page, flags=re.DOTALL)
        assert "alert_opened" not in shown
        row = r'<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td title="email">E-mail</td></tr>'
        routes = re.findall(row, page)  # the default routes' channel "email" reads as its type
        assert ("alert opened, alert escalated", "red", "the team's channel") in [
            tuple(html.unescape(cell) for cell in route) for route in routes
        ]
        assert "on_duty" not in shown


class TestOutbox:
    def test_without_a_channel_the_outbox_shows_what_would_be_sent(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        at = datetime(2026, 11, 23, 6, 0)
        with session_scope(world.engine) as session:
            for n, (event, status) in enumerate((("alert_opened", "pending"), ("digest", "sent"))):
                session.add(
                    OutboxMessage(
                        dedup_key=f"k{n}",
                        event=event,
                        channel="email",
                        receiver="email:rep@example.com",
                        address="rep@example.com",
                        subject=f"churnradar: {n + 2} new churn warnings",
                        payload={},
                        status=status,
                        attempts=0,
                        next_attempt_at=at,
                        created_at=at + timedelta(minutes=n),
                    )
                )
        page = html.unescape(client_for("admin").get("/settings").text)
        assert "nobody is notified" not in page
        assert "messages wait in the outbox below" in page
        rows = re.findall(r'<tr data-message="\d+"><td>[^<]+</td><td>([^<]+)</td><td>([^<]+)</td>', page)
        assert rows == [("digest", "rep@example.com"), ("alert opened", "rep@example.com")]  # newest first
        assert "churnradar: 2 new churn warnings" in page
        assert re.findall(r'data-state="(\w+)">([^<]+)<', page) == [
            ("pending", "waiting: 1"),
            ("sent", "sent: 1"),
        ]
        chinese = html.unescape(client_for("admin").get("/settings", headers=ZH).text)
        for words in ("发件箱", "新预警", "待发送: 1"):
            assert words in chinese


class TestSendTest:
    def test_a_webhook_test_reaches_a_real_receiver_signed(
        self, world: World, hook: HttpReceiver, mailbox: Mailbox
    ) -> None:
        admin = _admin_with_channels(world, hook, mailbox)
        token = csrf_of(admin.get("/settings").text)
        answer = admin.post(
            "/settings/channels/hook/test", headers={"X-CSRF-Token": token, "HX-Request": "true"}
        )
        assert answer.status_code == 200
        assert "Sent to" in answer.text
        (request,) = hook.requests
        assert request.path == "/churn"
        body = json.loads(request.body)
        assert body["subject"] == "churnradar test message"
        assert body["lines"][0].startswith("Sent by admin from the settings page")
        signed = request.headers["X-Churnradar-Timestamp"].encode() + b"." + request.body
        expected = hmac.new(SIGNING_SECRET.encode(), signed, hashlib.sha256).hexdigest()
        assert request.headers["X-Churnradar-Signature"] == f"sha256={expected}"
        assert _audit(world, "channel") == [("admin", "send_test", "hook", {"ok": True})]

    def test_an_email_test_goes_to_the_signed_in_admin(
        self, world: World, hook: HttpReceiver, mailbox: Mailbox
    ) -> None:
        admin = _admin_with_channels(world, hook, mailbox)
        token = csrf_of(admin.get("/settings").text)
        page = admin.post("/settings/channels/mail/test", data={"csrf_token": token})  # without htmx
        assert page.status_code == 200
        assert "Sent to admin@example.com" in page.text
        ((recipients, mail),) = mailbox.mails
        assert recipients == ["admin@example.com"]
        assert mail["Subject"] == "churnradar test message"

    def test_a_failing_receiver_is_reported_and_nothing_is_queued(
        self, world: World, hook: HttpReceiver, mailbox: Mailbox
    ) -> None:
        hook.status = 500
        hook.answer = b"receiver broke"
        admin = _admin_with_channels(world, hook, mailbox)
        token = csrf_of(admin.get("/settings").text)
        answer = admin.post(
            "/settings/channels/hook/test", headers={"X-CSRF-Token": token, "HX-Request": "true"}
        )
        assert "Not sent:" in answer.text
        assert "HTTP 500: receiver broke" in answer.text
        assert _audit(world, "channel") == [("admin", "send_test", "hook", {"ok": False})]
        with world.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM notification_outbox").scalar_one() == 0

    def test_an_unknown_channel_is_not_found_and_csrf_is_required(
        self, world: World, hook: HttpReceiver, mailbox: Mailbox
    ) -> None:
        admin = _admin_with_channels(world, hook, mailbox)
        token = csrf_of(admin.get("/settings").text)
        assert admin.post("/settings/channels/nope/test", data={"csrf_token": token}).status_code == 404
        assert admin.post("/settings/channels/hook/test").status_code == 403
        assert hook.requests == []


class TestTeams:
    def test_an_admin_creates_a_team_and_the_audit_log_says_so(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        admin = client_for("admin")
        page = admin.get("/admin/users").text
        assert 'id="team-East"' in page
        token = csrf_of(page)
        created = admin.post(
            "/admin/teams", data={"csrf_token": token, "name": " North "}, follow_redirects=False
        )
        assert created.status_code == 303
        assert 'id="team-North"' in admin.get("/admin/users").text
        for name, message in (
            ("North", "team 'North' already exists"),
            ("  ", "a team name cannot be empty"),
        ):
            refused = admin.post("/admin/teams", data={"csrf_token": token, "name": name})
            assert refused.status_code == 400
            assert message in html.unescape(refused.text)
        with world.engine.connect() as conn:
            assert sorted(conn.execute(select(Team.name)).scalars()) == ["East", "North", "West"]
        assert _audit(world, "team") == [("admin", "create", "North", None)]
        # The new team is usable at once: a user moves into it and becomes its manager.
        rep = world.ids.users["rep_west"]
        moved = admin.post(
            f"/admin/users/{rep}",
            data={
                "csrf_token": token,
                "role": "manager",
                "team": "North",
                "manager": "",
                "is_active": "true",
            },
            follow_redirects=False,
        )
        assert moved.status_code == 303
        assert "rep_west" in admin.get("/admin/users").text.split('id="team-North"')[1].split("</tr>")[0]

    def test_others_cannot_create_teams(self, world: World, client_for: Callable[[str], TestClient]) -> None:
        for login in ("director", "mgr_east", "rep_east"):
            client = client_for(login)
            token = csrf_of(client.get("/account").text)
            assert client.post("/admin/teams", data={"csrf_token": token, "name": "Rogue"}).status_code == 403
        with world.engine.connect() as conn:
            assert "Rogue" not in conn.execute(select(Team.name)).scalars().all()


class TestSendTestApi:
    def test_an_admins_token_sends_a_test_and_others_are_refused(
        self, world: World, hook: HttpReceiver, mailbox: Mailbox, token_for: Callable[..., str]
    ) -> None:
        app = _admin_with_channels(world, hook, mailbox).app
        api = TestClient(app, base_url="http://127.0.0.1")
        for login, scopes in (("admin", (Scope.READ,)), ("mgr_east", (Scope.ADMIN,))):
            refused = api.post("/api/v1/channels/hook/test", headers=bearer(token_for(login, *scopes)))
            assert refused.status_code == 403
        assert hook.requests == []
        admin = bearer(token_for("admin", Scope.ADMIN))
        assert api.post("/api/v1/channels/nowhere/test", headers=admin).status_code == 404
        sent = api.post("/api/v1/channels/hook/test", headers=admin).json()
        assert (sent["ok"], sent["error"]) == (True, None)
        (request,) = hook.requests
        assert json.loads(request.body)["subject"] == "churnradar test message"
        assert _audit(world, "channel") == [("admin", "send_test", "hook", {"ok": True})]
