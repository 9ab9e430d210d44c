"""In-process sliding-window limits for login attempts, per login and per client address."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SlidingWindow:
    """At most `limit` hits per key within `window` seconds."""

    limit: int
    window: float
    clock: Callable[[], float] = time.monotonic
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _live(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def blocked(self, key: str) -> bool:
        """True when `key` has used up its allowance."""
        with self._lock:
            return len(self._live(key, self.clock())) >= self.limit

    def hit(self, key: str) -> None:
        """Count one attempt for `key`."""
        with self._lock:
            now = self.clock()
            self._live(key, now).append(now)
            # Keys whose hits have all expired are dropped, so memory stays bounded by recent attackers.
            if len(self._hits) > 10_000:
                for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                    del self._hits[stale]

    def reset(self, key: str) -> None:
        """Forget `key` (after a successful login)."""
        with self._lock:
            self._hits.pop(key, None)


@dataclass
class LoginThrottle:
    """Failed logins: a few per login (guessing one account), more per address (spraying many)."""

    per_login: SlidingWindow = field(default_factory=lambda: SlidingWindow(limit=5, window=900))
    per_address: SlidingWindow = field(default_factory=lambda: SlidingWindow(limit=30, window=900))

    def blocked(self, login: str, address: str) -> bool:
        """True when either the login or the address has failed too often recently."""
        return self.per_login.blocked(login.casefold()) or self.per_address.blocked(address)

    def failed(self, login: str, address: str) -> None:
        """Count a failed attempt against both keys."""
        self.per_login.hit(login.casefold())
        self.per_address.hit(address)

    def succeeded(self, login: str) -> None:
        """A correct password clears the login's counter (not the address's)."""
        self.per_login.reset(login.casefold())
