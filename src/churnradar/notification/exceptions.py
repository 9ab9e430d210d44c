"""The notification domain's errors."""

from __future__ import annotations

from churnradar import i18n


class DeliveryError(Exception):
    """A failed send; `retryable` tells a passing failure (timeout, 5xx, rate limit) from a permanent one."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class ChannelConfigError(ValueError):
    """A channel that cannot be stored: its name, type or a field named in the message.

    `text` is the refusal to show in the reader's language (the exception's own text is English)."""

    def __init__(self, text: str | i18n.Message) -> None:
        super().__init__(i18n.render(text, "en"))
        self.text = text
