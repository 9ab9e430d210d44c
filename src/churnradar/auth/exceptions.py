"""The auth domain's errors."""

from __future__ import annotations


class AuthError(Exception):
    """A user-facing refusal: unknown login, bad role, weak password, unknown scope."""
