"""The lake's errors."""

from __future__ import annotations


class LakeBusyError(RuntimeError):
    """Another process kept writing the same lake table for longer than the wait allows."""


class LakePairingError(RuntimeError):
    """The lake at the configured path belongs to another database (lake.pairing)."""
