"""Secrets at rest: a source's passwords and tokens as one Fernet token, keyed from the settings.

The key is SECRETS__KEY when set, else derived from SECRET_KEY (HKDF-SHA256 either way, so any length of
key material serves). Nothing here logs or returns a secret except to the connector that uses it.
"""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from churnradar.config import Settings
from churnradar.source.exceptions import SecretsUnreadableError

_INFO = b"churnradar source secrets v1"


def _fernet(settings: Settings) -> Fernet:
    material = (settings.secrets.key or settings.secret_key).get_secret_value().encode()
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(material)
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(values: dict[str, str], settings: Settings) -> str | None:
    """`values` encrypted as one token; None when there are none."""
    if not values:
        return None
    return _fernet(settings).encrypt(json.dumps(values, sort_keys=True).encode()).decode("ascii")


def unseal(token: str | None, settings: Settings, *, source: str) -> dict[str, str]:
    """The secrets of `source` in clear, for its connector only."""
    if not token:
        return {}
    try:
        values = json.loads(_fernet(settings).decrypt(token.encode("ascii")))
    except InvalidToken:
        raise SecretsUnreadableError(
            f"source {source}: its stored secrets cannot be decrypted with the current key "
            "(SECRETS__KEY or SECRET_KEY changed); set them again"
        ) from None
    return {str(k): str(v) for k, v in values.items()}
