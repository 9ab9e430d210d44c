"""The channel registry with the built-in channels registered; `build` makes one from settings."""

from churnradar.notification.channels import email, http
from churnradar.notification.channels.base import Channel, DeliveryError, build, channels

__all__ = ["Channel", "DeliveryError", "build", "channels", "email", "http"]
