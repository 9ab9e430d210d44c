"""Who is on the other end: the client's address (proxy headers only from configured proxies) and the
device cookie a browser earns by signing in, which lets its owner past the throttle a guesser raises."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from churnradar.config import WebSettings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEVICE_COOKIE = "churnradar_device"
DEVICE_DAYS = 90
MAX_DEVICE_LOGINS = 5
MAX_FORWARDED_HOPS = 20


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """Addresses or CIDR blocks ("10.0.0.0/8"); ValueError names the first that is neither."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"trusted proxy {value[:100]!r} is not an address or a CIDR block") from None
    return tuple(networks)


def _within(host: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def client_address(request: Request) -> str:
    """The client's address: the peer's, or behind a trusted proxy the nearest untrusted X-Forwarded-For hop.

    Headers from anyone else are ignored, so a client cannot pick a new address for each guess.
    """
    peer = request.client.host if request.client else "unknown"
    proxies: tuple[Network, ...] = getattr(request.app.state, "trusted_proxies", ())
    if not proxies or not _within(peer, proxies):
        return peer[:64]
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops[-MAX_FORWARDED_HOPS:]):
        if _within(hop, proxies):
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            break  # a hop the proxy did not write: trust nothing further out
    return peer[:64]


def _serializer(request: Request) -> URLSafeTimedSerializer:
    key = request.app.state.settings.secret_key.get_secret_value()
    return URLSafeTimedSerializer(key, salt="churnradar-device")


def _read(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 1000:
        return None
    try:
        data = _serializer(request).loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None
    ok = isinstance(data, dict) and isinstance(data.get("d"), str) and isinstance(data.get("l"), list)
    return data if ok else None


def _login_tag(login: str) -> str:
    # The cookie names logins by a short digest: it is signed, not encrypted, and may sit on a shared PC.
    return hashlib.sha256(login.strip().casefold().encode()).hexdigest()[:16]


def trusted_device(request: Request, login: str) -> str | None:
    """The id of this browser's device cookie when it signed in to `login` before; None otherwise."""
    data = _read(request)
    if data is None or _login_tag(login) not in data["l"]:
        return None
    return str(data["d"])


def remember_device(request: Request, response: Response, login: str) -> None:
    """After a correct password: (re)issue the device cookie, naming this login first."""
    data = _read(request) or {"d": secrets.token_urlsafe(16), "l": []}
    tag = _login_tag(login)
    logins = [tag, *(x for x in data["l"] if x != tag)][:MAX_DEVICE_LOGINS]
    options: WebSettings = request.app.state.settings.web
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer(request).dumps({"d": data["d"], "l": logins}),
        max_age=DEVICE_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=options.secure_cookies,
    )
