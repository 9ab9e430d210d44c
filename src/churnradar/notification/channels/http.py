"""Channels that POST JSON: a generic signed webhook, DingTalk, WeCom, Feishu/Lark, Slack, an SMS gateway.

Signatures follow each vendor's documentation: DingTalk signs `timestamp\\nsecret` with the secret as key
(milliseconds, in the query string); Feishu signs nothing with `timestamp\\nsecret` as key (seconds, in the
body). Error messages never include a URL, since robot URLs carry access tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote_plus

from pydantic import Field, SecretStr

from churnradar.notification import render
from churnradar.notification.channels.base import Channel, ChannelSettings, channels
from churnradar.notification.exceptions import DeliveryError
from churnradar.notification.schemas import Message

RETRYABLE_STATUS = frozenset({408, 425, 429})


def dumps(document: Any) -> bytes:
    """Compact UTF-8 JSON, the exact bytes that are signed and sent."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST `body`; (status, text) for any HTTP answer, DeliveryError when nothing answers."""
    if not url.startswith(("http://", "https://")):
        raise DeliveryError("the channel URL must start with http:// or https://", retryable=False)
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8", "replace")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"no answer: {type(reason).__name__}", retryable=True) from None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "timestamp.body">`: binding the time stops replays of an old body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def check_status(status: int, text: str) -> None:
    """2xx passes; 408, 425, 429 and 5xx are retried; any other status is permanent."""
    if 200 <= status < 300:
        return
    retryable = status in RETRYABLE_STATUS or status >= 500
    raise DeliveryError(f"HTTP {status}: {text[:200]}", retryable=retryable)


def check_code(text: str, key: str, retry_codes: frozenset[int]) -> None:
    """Robots answer 200 with an error code in the body: 0 is success, some codes pass with time."""
    try:
        answer = json.loads(text) if text else {}
    except json.JSONDecodeError:
        raise DeliveryError(f"unexpected answer: {text[:200]}", retryable=True) from None
    code = answer.get(key, answer.get("StatusCode", 0)) if isinstance(answer, dict) else 0
    if code not in (0, None):
        message = answer.get("errmsg") or answer.get("msg") or ""
        raise DeliveryError(f"{key} {code}: {message}"[:300], retryable=int(code) in retry_codes)


class RobotSettings(ChannelSettings):
    """A robot or webhook URL (it carries a token, so it is a secret) and an optional signing secret."""

    url: SecretStr
    secret: SecretStr | None = None


@channels.register("webhook")
class WebhookChannel(Channel):
    """Generic JSON webhook; with a secret, `X-Churnradar-Signature: sha256=<hex HMAC of "ts.body">`."""

    settings_model = RobotSettings

    def payload(self, message: Message) -> dict[str, Any]:
        """The JSON document sent."""
        return {
            "event": message.event,
            "subject": message.subject,
            "lines": message.lines,
            "language": message.language,
            "dedup_key": message.dedup_key,
        }

    def send(self, message: Message, address: str) -> None:
        """POST the JSON with timestamp, signature and an idempotency key the receiver may dedup on."""
        s: RobotSettings = self.settings
        body = dumps(self.payload(message))
        timestamp = str(int(self.now()))
        headers = {"X-Churnradar-Timestamp": timestamp, "Idempotency-Key": message.dedup_key}
        if s.secret is not None:
            headers["X-Churnradar-Signature"] = signature(s.secret.get_secret_value(), timestamp, body)
        check_status(*post(s.url.get_secret_value(), body, headers, self.timeout))


def dingtalk_sign(timestamp_ms: str, secret: str) -> str:
    """DingTalk: base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


@channels.register("dingtalk")
class DingTalkChannel(Channel):
    """DingTalk custom robot, markdown message; `timestamp` and `sign` in the query when signed."""

    settings_model = RobotSettings
    RETRY = frozenset({-1, 130101})  # system busy; sending too fast

    def send(self, message: Message, address: str) -> None:
        """POST the markdown message to the robot."""
        s: RobotSettings = self.settings
        url = s.url.get_secret_value()
        if s.secret is not None:
            timestamp = str(int(self.now() * 1000))
            sign = dingtalk_sign(timestamp, s.secret.get_secret_value())
            url += ("&" if "?" in url else "?") + f"timestamp={timestamp}&sign={sign}"
        body = dumps(
            {"msgtype": "markdown", "markdown": {"title": message.subject, "text": render.markdown(message)}}
        )
        status, text = post(url, body, {}, self.timeout)
        check_status(status, text)
        check_code(text, "errcode", self.RETRY)


@channels.register("wecom")
class WeComChannel(Channel):
    """WeCom (WeChat Work) group robot, markdown message."""

    settings_model = RobotSettings
    RETRY = frozenset({-1, 45009})  # system busy; API frequency limit

    def send(self, message: Message, address: str) -> None:
        """POST the markdown message to the robot."""
        s: RobotSettings = self.settings
        body = dumps({"msgtype": "markdown", "markdown": {"content": render.markdown(message)}})
        status, text = post(s.url.get_secret_value(), body, {}, self.timeout)
        check_status(status, text)
        check_code(text, "errcode", self.RETRY)


def feishu_sign(timestamp_s: str, secret: str) -> str:
    """Feishu/Lark: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@channels.register("feishu")
class FeishuChannel(Channel):
    """Feishu / Lark custom bot, an interactive card with a markdown element; signed in the body."""

    settings_model = RobotSettings
    RETRY = frozenset({9499, 11232})  # frequency limits

    def send(self, message: Message, address: str) -> None:
        """POST the card to the bot."""
        s: RobotSettings = self.settings
        document: dict[str, Any] = {}
        if s.secret is not None:
            timestamp = str(int(self.now()))
            document |= {"timestamp": timestamp, "sign": feishu_sign(timestamp, s.secret.get_secret_value())}
        lines = "\n".join(f"- {line}" for line in message.lines)
        document |= {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": message.subject}},
                "elements": [{"tag": "markdown", "content": lines}],
            },
        }
        status, text = post(s.url.get_secret_value(), dumps(document), {}, self.timeout)
        check_status(status, text)
        check_code(text, "code", self.RETRY)


@channels.register("slack")
class SlackChannel(Channel):
    """Slack incoming webhook, mrkdwn text."""

    settings_model = RobotSettings

    def send(self, message: Message, address: str) -> None:
        """POST the text; Slack answers 200 "ok", or 4xx with a reason."""
        s: RobotSettings = self.settings
        text = "\n".join([f"*{message.subject}*", *(f"• {line}" for line in message.lines)])
        check_status(*post(s.url.get_secret_value(), dumps({"text": text}), {}, self.timeout))


class SmsSettings(ChannelSettings):
    """An HTTP SMS gateway: where to POST, a bearer token, field names, fixed numbers when none is given."""

    url: SecretStr
    token: SecretStr | None = None
    to_field: str = "to"
    text_field: str = "text"
    recipients: list[str] = Field(default_factory=list)
    max_chars: int = 500


@channels.register("sms")
class SmsChannel(Channel):
    """SMS through a configurable HTTP gateway, one POST per number."""

    settings_model = SmsSettings

    def send(self, message: Message, address: str) -> None:
        """POST `{to, text}` for the receiver's number, or for each configured number."""
        s: SmsSettings = self.settings
        numbers = [address] if address else s.recipients
        if not numbers:
            raise DeliveryError("no phone number to send to", retryable=False)
        text = "; ".join([message.subject, *message.lines])[: s.max_chars]
        headers = {"Authorization": f"Bearer {s.token.get_secret_value()}"} if s.token else {}
        for number in numbers:
            body = dumps({s.to_field: number, s.text_field: text})
            check_status(*post(s.url.get_secret_value(), body, headers, self.timeout))
