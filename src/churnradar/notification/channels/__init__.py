"""The channel registry with the built-in channels registered; `build` makes one from settings."""

from churnradar.notification.channels import email, http
from churnradar.notification.channels.base import Channel, build, channels

__all__ = ["Channel", "build", "channels", "email", "http"]
