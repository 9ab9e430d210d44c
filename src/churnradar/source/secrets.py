"""Secrets at rest: a source's passwords and tokens as one Fernet token (`kit.secrets`), keyed from settings.

The key is SECRETS__KEY when set, else derived from SECRET_KEY. Nothing here logs or returns a secret except
to the connector that uses it.
"""

from __future__ import annotations

from churnradar.config import Settings
from churnradar.kit import secrets
from churnradar.source.exceptions import SecretsUnreadableError

_INFO = b"churnradar source secrets v1"


def key_material(settings: Settings) -> str:
    """SECRETS__KEY when set, else SECRET_KEY: what every domain's sealed secrets are keyed from."""
    return (settings.secrets.key or settings.secret_key).get_secret_value()


def seal(values: dict[str, str], settings: Settings) -> str | None:
    """`values` encrypted as one token; None when there are none."""
    return secrets.seal(values, key_material(settings), _INFO)


def unseal(token: str | None, settings: Settings, *, source: str) -> dict[str, str]:
    """The secrets of `source` in clear, for its connector only."""
    try:
        return secrets.unseal(token, key_material(settings), _INFO)
    except secrets.UnreadableSecretsError:
        raise SecretsUnreadableError(
            f"source {source}: its stored secrets cannot be decrypted with the current key "
            "(SECRETS__KEY or SECRET_KEY changed); set them again"
        ) from None
