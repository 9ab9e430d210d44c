"""What every channel is: typed settings (secrets as SecretStr) and a `send` telling if a failure may pass."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from churnradar.config import ChannelConfig
from churnradar.kit.registry import Registry
from churnradar.notification.schemas import Message


class ChannelSettings(BaseModel):
    """Base of every channel's settings: unknown keys are refused, so typos fail at start-up."""

    model_config = ConfigDict(extra="forbid")


class Channel(ABC):
    """A way to reach people; `address` is the receiver's (an email address) or empty for group robots."""

    settings_model: ClassVar[type[ChannelSettings]]

    def __init__(self, settings: Any, *, timeout: float = 10, now: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.timeout = timeout
        self.now = now  # signatures carry a timestamp; tests pin it

    @abstractmethod
    def send(self, message: Message, address: str) -> None:
        """Deliver `message` or raise DeliveryError."""


channels: Registry[type[Channel]] = Registry("notification channel")


def load_plugins() -> None:
    """Register channels that installed packages declare in the `churnradar.channels` entry-point group."""
    for entry in entry_points(group="churnradar.channels"):
        if entry.name not in channels:
            channels.add(entry.name, entry.load())


def build(name: str, config: ChannelConfig, *, timeout: float = 10) -> Channel:
    """The channel `name` as configured; a bad configuration names the channel, never a secret."""
    if config.type not in channels:
        load_plugins()
    cls = channels.get(config.type)
    raw: dict[str, Any] = {**config.options, **config.secrets}
    try:
        settings = cls.settings_model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"channel {name!r} ({config.type}): {problems}") from None
    return cls(settings, timeout=timeout)
