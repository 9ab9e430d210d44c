"""Every channel against a real local receiver: the exact bytes sent and each vendor's signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from churnradar.config import ChannelConfig
from churnradar.notification.channels import build
from churnradar.notification.channels.email import EmailChannel, EmailSettings
from churnradar.notification.channels.http import (
    DingTalkChannel,
    FeishuChannel,
    RobotSettings,
    SlackChannel,
    SmsChannel,
    SmsSettings,
    WebhookChannel,
    WeComChannel,
)
from churnradar.notification.exceptions import DeliveryError
from churnradar.notification.schemas import Message
from tests.notification.receivers import (
    free_port,
    http_receiver,
    self_signed,
    smtp_receiver,
    tls_smtp_receiver,
)

NOW = 1_700_000_000.123
SECRET = "SEC0123456789abcdef"
MESSAGE = Message(
    subject="churnradar: 2 new churn warning(s)",
    lines=["Acme (#1) [red]: no login for 30 days", "北京星河 (#2) [orange]: 投诉增加"],
    language="en",
    event="alert_opened",
    dedup_key="alert_opened:abc:email:a@example.com",
)
MARKDOWN = (
    "### churnradar: 2 new churn warning(s)\n\n"
    "- Acme (#1) [red]: no login for 30 days\n- 北京星河 (#2) [orange]: 投诉增加"
)


def _json(body: bytes) -> object:
    return json.loads(body.decode("utf-8"))


def _robot(url: str, secret: str | None = SECRET) -> RobotSettings:
    return RobotSettings(url=SecretStr(url), secret=SecretStr(secret) if secret else None)


class TestWebhook:
    def test_json_body_and_hmac_signature(self) -> None:
        with http_receiver() as receiver:
            WebhookChannel(_robot(receiver.url + "/hook"), now=lambda: NOW).send(MESSAGE, "")
        (request,) = receiver.requests
        assert request.path == "/hook"
        assert _json(request.body) == {
            "event": "alert_opened",
            "subject": MESSAGE.subject,
            "lines": MESSAGE.lines,
            "language": "en",
            "dedup_key": MESSAGE.dedup_key,
        }
        assert request.headers["X-Churnradar-Timestamp"] == "1700000000"
        expected = hmac.new(SECRET.encode(), b"1700000000." + request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Churnradar-Signature"] == f"sha256={expected}"
        assert request.headers["Idempotency-Key"] == MESSAGE.dedup_key

    @pytest.mark.parametrize(
        ("status", "retryable"),
        [
            pytest.param(500, True, id="server-error"),
            pytest.param(429, True, id="rate-limited"),
            pytest.param(400, False, id="bad-request"),
            pytest.param(404, False, id="gone"),
        ],
    )
    def test_status_decides_retry(self, status: int, retryable: bool) -> None:
        with http_receiver() as receiver:
            receiver.status = status
            with pytest.raises(DeliveryError) as caught:
                WebhookChannel(_robot(receiver.url), now=lambda: NOW).send(MESSAGE, "")
        assert caught.value.retryable is retryable

    def test_nobody_listening_is_retryable_and_hides_the_url(self) -> None:
        url = f"http://127.0.0.1:{free_port()}/robot?access_token=TOPSECRET"
        with pytest.raises(DeliveryError) as caught:
            WebhookChannel(_robot(url), now=lambda: NOW).send(MESSAGE, "")
        assert caught.value.retryable
        assert "TOPSECRET" not in str(caught.value)


class TestDingTalk:
    def test_markdown_and_timestamp_sign_in_query(self) -> None:
        with http_receiver() as receiver:
            channel = DingTalkChannel(_robot(receiver.url + "/robot/send?access_token=tok"), now=lambda: NOW)
            channel.send(MESSAGE, "")
        (request,) = receiver.requests
        query = parse_qs(urlsplit(request.path).query)
        assert query["access_token"] == ["tok"]
        assert query["timestamp"] == ["1700000000123"]
        # DingTalk's documented scheme: HmacSHA256(key=secret, "timestamp\nsecret"), Base64, URL-encoded.
        digest = hmac.new(SECRET.encode(), f"1700000000123\n{SECRET}".encode(), hashlib.sha256).digest()
        assert query["sign"] == [base64.b64encode(digest).decode()]  # parse_qs undoes the URL encoding
        assert _json(request.body) == {
            "msgtype": "markdown",
            "markdown": {"title": MESSAGE.subject, "text": MARKDOWN},
        }

    @pytest.mark.parametrize(
        ("code", "retryable"),
        [pytest.param(130101, True, id="too-fast"), pytest.param(310000, False, id="bad-sign")],
    )
    def test_error_codes_in_a_200_answer(self, code: int, retryable: bool) -> None:
        with http_receiver() as receiver:
            receiver.answer = json.dumps({"errcode": code, "errmsg": "no"}).encode()
            with pytest.raises(DeliveryError) as caught:
                DingTalkChannel(_robot(receiver.url), now=lambda: NOW).send(MESSAGE, "")
        assert caught.value.retryable is retryable


class TestFeishu:
    def test_card_with_timestamp_and_sign_in_body(self) -> None:
        with http_receiver() as receiver:
            receiver.answer = b'{"code":0,"msg":"success"}'
            FeishuChannel(_robot(receiver.url + "/open-apis/bot/v2/hook/x"), now=lambda: NOW).send(
                MESSAGE, ""
            )
        (request,) = receiver.requests
        body = _json(request.body)
        assert isinstance(body, dict)
        # Feishu's documented scheme: HmacSHA256(key="timestamp\nsecret", empty message), Base64.
        digest = hmac.new(f"1700000000\n{SECRET}".encode(), b"", hashlib.sha256).digest()
        assert body == {
            "timestamp": "1700000000",
            "sign": base64.b64encode(digest).decode(),
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": MESSAGE.subject}},
                "elements": [{"tag": "markdown", "content": "- " + "\n- ".join(MESSAGE.lines)}],
            },
        }

    def test_sign_mismatch_is_permanent(self) -> None:
        with http_receiver() as receiver:
            receiver.answer = b'{"code":19021,"msg":"sign match fail or timestamp is not within one hour"}'
            with pytest.raises(DeliveryError) as caught:
                FeishuChannel(_robot(receiver.url), now=lambda: NOW).send(MESSAGE, "")
        assert not caught.value.retryable


class TestWeComSlackSms:
    def test_wecom_markdown(self) -> None:
        with http_receiver() as receiver:
            WeComChannel(_robot(receiver.url + "/cgi-bin/webhook/send?key=k", None)).send(MESSAGE, "")
        (request,) = receiver.requests
        assert (
            request.body
            == json.dumps(
                {"msgtype": "markdown", "markdown": {"content": MARKDOWN}},
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode()
        )

    def test_slack_text(self) -> None:
        with http_receiver() as receiver:
            receiver.answer = b"ok"
            SlackChannel(_robot(receiver.url + "/services/T/B/X", None)).send(MESSAGE, "")
        (request,) = receiver.requests
        assert _json(request.body) == {"text": "*" + MESSAGE.subject + "*\n• " + "\n• ".join(MESSAGE.lines)}

    def test_sms_gateway_one_post_per_number_with_bearer_token(self) -> None:
        with http_receiver() as receiver:
            settings = SmsSettings(
                url=SecretStr(receiver.url + "/sms"),
                token=SecretStr("tok"),
                to_field="mobile",
                text_field="content",
                recipients=["+8613800000000", "+8613900000000"],
                max_chars=40,
            )
            SmsChannel(settings).send(MESSAGE, "")
        assert [_json(r.body) for r in receiver.requests] == [
            {"mobile": "+8613800000000", "content": "churnradar: 2 new churn warning(s); Acme"},
            {"mobile": "+8613900000000", "content": "churnradar: 2 new churn warning(s); Acme"},
        ]
        assert receiver.requests[0].headers["Authorization"] == "Bearer tok"


class TestEmail:
    def test_html_and_text_in_chinese(self) -> None:
        message = Message(
            subject="churnradar：2 个新的流失预警", lines=["北京星河 (#2)【red】：投诉增加"], language="zh"
        )
        with smtp_receiver() as box:
            settings = EmailSettings(
                host="127.0.0.1", port=box.port, security="none", sender="radar@example.com"
            )
            EmailChannel(settings).send(message, "li.lei@example.com")
        ((recipients, mail),) = box.mails
        assert recipients == ["li.lei@example.com"]
        assert str(mail["From"]) == "radar@example.com"
        from email.header import decode_header, make_header

        assert str(make_header(decode_header(mail["Subject"]))) == message.subject
        parts = {
            p.get_content_type(): p.get_payload(decode=True).decode().replace("\r\n", "\n")
            for p in mail.walk()
            if not p.is_multipart()
        }
        assert parts["text/plain"] == "churnradar：2 个新的流失预警\n\n- 北京星河 (#2)【red】：投诉增加\n"
        assert "<li>北京星河 (#2)【red】：投诉增加</li>" in parts["text/html"]
        assert '<html lang="zh-CN">' in parts["text/html"]

    def test_unreachable_server_is_retryable(self) -> None:
        settings = EmailSettings(host="127.0.0.1", port=free_port(), security="none", sender="r@example.com")
        with pytest.raises(DeliveryError) as caught:
            EmailChannel(settings, timeout=2).send(MESSAGE, "a@example.com")
        assert caught.value.retryable


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    return self_signed(tmp_path_factory.mktemp("tls"))


class TestEmailTls:
    @pytest.mark.parametrize("security", ["starttls", "tls"])
    def test_secured_delivery(self, certificate: tuple[Path, Path], security: str) -> None:
        cert, key = certificate
        with tls_smtp_receiver(cert, key, implicit=security == "tls") as box:
            settings = EmailSettings(
                host="127.0.0.1", port=box.port, security=security, sender="r@example.com", ca_file=str(cert)
            )
            EmailChannel(settings).send(MESSAGE, "a@example.com")
        ((recipients, mail),) = box.mails
        assert recipients == ["a@example.com"]
        assert str(mail["X-Churnradar-Dedup"]) == MESSAGE.dedup_key

    def test_untrusted_certificate_is_not_sent_to(self, certificate: tuple[Path, Path]) -> None:
        cert, key = certificate
        with tls_smtp_receiver(cert, key, implicit=False) as box:
            settings = EmailSettings(
                host="127.0.0.1", port=box.port, security="starttls", sender="r@example.com"
            )
            with pytest.raises(DeliveryError):
                EmailChannel(settings).send(MESSAGE, "a@example.com")
        assert box.mails == []


class TestBuild:
    def test_secrets_never_in_repr_or_errors(self) -> None:
        config = ChannelConfig(
            type="dingtalk", secrets={"url": SecretStr("http://x/?access_token=TOPSECRET")}
        )
        channel = build("sales", config)
        assert "TOPSECRET" not in repr(channel.settings)
        with pytest.raises(ValueError, match="channel 'bad' \\(email\\)") as caught:
            build("bad", ChannelConfig(type="email", secrets={"password": SecretStr("TOPSECRET")}))
        assert "TOPSECRET" not in str(caught.value)
