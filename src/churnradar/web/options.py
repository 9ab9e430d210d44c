"""Web-only knobs with safe defaults; the app factory takes them beside the global settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from churnradar.kit.clock import Clock, SystemClock


@dataclass(frozen=True)
class WebOptions:
    """Cookie, size and paging limits of the web app."""

    session_hours: int = 12
    # Failed sign-ins before each next attempt waits twice as long as the one before (auth.ratelimit): per
    # login and address, per address, per login (these three for browsers without a device cookie for the
    # login) and per trusted device.
    login_failures_per_pair: int = 5
    login_failures_per_address: int = 30
    login_failures_per_login: int = 100
    login_failures_per_device: int = 10
    login_max_delay_seconds: int = 900
    # Addresses or CIDR blocks of reverse proxies whose X-Forwarded-For is believed; none by default.
    trusted_proxies: tuple[str, ...] = ()
    # Set behind HTTPS so the browser never sends the session cookie in clear text.
    secure_cookies: bool = False
    max_ingest_bytes: int = 16 * 1024 * 1024
    max_ingest_records: int = 200_000
    # How long filter choices and overview figures may be reused before they are read again.
    cache_seconds: float = 60
    page_size: int = 50
    max_page_size: int = 500
    export_limit: int = 100_000
    # "Now" for figures that depend on it (overview panels); tests freeze it.
    clock: Clock = field(default_factory=SystemClock)
