"""Notifications: an outbox written with its cause, channels from a registry, delivery with retries."""
