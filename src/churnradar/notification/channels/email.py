"""Email over SMTP (plain, STARTTLS or implicit TLS), HTML with a plain-text alternative."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

from pydantic import SecretStr

from churnradar.notification import render
from churnradar.notification.channels.base import Channel, ChannelSettings, channels
from churnradar.notification.exceptions import DeliveryError
from churnradar.notification.schemas import Message


class EmailSettings(ChannelSettings):
    """SMTP server and sender; `security` is starttls (port 587), tls (465) or none (a local relay)."""

    host: str
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    ca_file: str | None = None  # a private CA for an internal relay; the system's CAs otherwise


def build_email(message: Message, sender: str, to: str) -> EmailMessage:
    """The MIME message: plain text first, HTML as the alternative mail readers prefer."""
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = to
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain="churnradar")
    if message.dedup_key:
        mail["X-Churnradar-Dedup"] = message.dedup_key
    mail.set_content(render.text(message))
    mail.add_alternative(render.html(message), subtype="html")
    return mail


@channels.register("email")
class EmailChannel(Channel):
    """Sends to the receiver's email address."""

    settings_model = EmailSettings

    def send(self, message: Message, address: str) -> None:
        """Connect, secure, log in if configured, send; SMTP 4xx and network trouble are worth a retry."""
        s: EmailSettings = self.settings
        if not address:
            raise DeliveryError("no email address", retryable=False)
        mail = build_email(message, s.sender, address)
        context = ssl.create_default_context(cafile=s.ca_file)
        try:
            if s.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=context)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            with client:
                if s.security == "starttls":
                    client.starttls(context=context)
                if s.username and s.password is not None:
                    client.login(s.username, s.password.get_secret_value())
                client.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused ({exc.smtp_code})", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                f"recipient refused {codes}", retryable=all(400 <= c < 500 for c in codes)
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code}", retryable=400 <= exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP server unreachable: {type(exc).__name__}", retryable=True) from None
