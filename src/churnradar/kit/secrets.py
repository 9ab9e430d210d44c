"""Secrets at rest, the one definition: a domain's passwords and tokens sealed as one Fernet token.

The key is derived from the caller's key material (HKDF-SHA256, so any length serves) and a purpose that
keeps each domain's tokens apart. Nothing here logs or returns a secret except to the caller that unseals it.
"""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class UnreadableSecretsError(ValueError):
    """The token cannot be decrypted with the current key (the key material changed)."""


def _fernet(material: str, purpose: bytes) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(values: dict[str, str], material: str, purpose: bytes) -> str | None:
    """`values` encrypted as one token; None when there are none."""
    if not values:
        return None
    return _fernet(material, purpose).encrypt(json.dumps(values, sort_keys=True).encode()).decode("ascii")


def unseal(token: str | None, material: str, purpose: bytes) -> dict[str, str]:
    """The values in clear; `UnreadableSecretsError` when the key changed since they were sealed."""
    if not token:
        return {}
    try:
        values = json.loads(_fernet(material, purpose).decrypt(token.encode("ascii")))
    except InvalidToken:
        raise UnreadableSecretsError("sealed with another key") from None
    return {str(k): str(v) for k, v in values.items()}
