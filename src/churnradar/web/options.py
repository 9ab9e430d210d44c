"""Web-only knobs with safe defaults; the app factory takes them beside the global settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from churnradar.kit.clock import Clock, SystemClock


@dataclass(frozen=True)
class WebOptions:
    """Cookie, size and paging limits of the web app."""

    session_hours: int = 12
    # Failed sign-ins allowed per login and per client address within the window, before a pause.
    login_failures_per_login: int = 5
    login_failures_per_address: int = 30
    login_window_seconds: int = 900
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
