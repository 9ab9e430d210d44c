"""Login throttling that slows a guesser down without locking the account's owner out.

Failures are counted per key; once a key has used its free failures each next attempt must wait twice as
long as the one before (1 s, 2 s, 4 s, ... up to `max_delay`); a key is forgotten `forget` seconds after
its last failure. Nothing ever refuses a login for good, and which keys apply depends on who is asking:

- a browser holding a device cookie from an earlier successful sign-in to this login is trusted: only its
  own counter applies (a guesser elsewhere cannot slow the owner's usual browser down);
- anyone else is counted per (login, address) (one guesser against one account), per address (one
  guesser spraying many accounts) and per login (many addresses against one account), each with its own
  allowance. These are what an attacker can raise, so the owner only ever meets them in a new browser.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

MAX_KEYS = 50_000


@dataclass(frozen=True)
class Allowance:
    """How many failures a key may have before it is slowed down, and how much."""

    free: int
    base_delay: float = 1.0
    max_delay: float = 900.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the last failure before the next attempt (0 within the allowance)."""
        if failures < self.free:
            return 0.0
        return float(min(self.base_delay * 2 ** min(failures - self.free, 30), self.max_delay))


@dataclass
class ProgressiveDelay:
    """Failure counts per key, each slowing its key down once past the allowance."""

    allowance: Allowance
    forget: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _live(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self._failures.get(key)
        if entry is not None and now - entry[1] >= self.forget:
            del self._failures[key]
            return None
        return entry

    def wait(self, key: str) -> float:
        """Seconds before `key` may try again (0: now)."""
        with self._lock:
            now = self.clock()
            entry = self._live(key, now)
            if entry is None:
                return 0.0
            return max(0.0, entry[1] + self.allowance.delay(entry[0]) - now)

    def fail(self, key: str) -> None:
        """Count one failure for `key`."""
        with self._lock:
            now = self.clock()
            entry = self._live(key, now)
            self._failures[key] = ((entry[0] if entry else 0) + 1, now)
            if len(self._failures) > MAX_KEYS:
                self._prune(now)

    def clear(self, key: str) -> None:
        """Forget `key` (after a successful login)."""
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, now: float) -> None:
        # Memory stays bounded by recent attackers: expired keys go first, then the oldest.
        for key in [k for k, (_, last) in self._failures.items() if now - last >= self.forget]:
            del self._failures[key]
        if len(self._failures) > MAX_KEYS:
            oldest = sorted(self._failures, key=lambda k: self._failures[k][1])
            for key in oldest[: len(self._failures) - MAX_KEYS // 2]:
                del self._failures[key]


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt as the throttle sees it: the login, the client address and a trusted device."""

    login: str
    address: str
    device: str | None = None  # the id of a device cookie that signed in to this login before

    def counted_as(self) -> Iterable[tuple[str, str]]:
        """(counter, key) pairs this attempt is counted under."""
        login = self.login.casefold()
        if self.device is not None:
            yield "device", f"{self.device}\0{login}"
            return
        yield "pair", f"{login}\0{self.address}"
        yield "address", self.address
        yield "login", login


def _counter(free: int, forget: float, clock: Callable[[], float], max_delay: float) -> ProgressiveDelay:
    return ProgressiveDelay(Allowance(free, max_delay=max_delay), forget=forget, clock=clock)


@dataclass
class LoginThrottle:
    """The counters of every kind of key, checked together."""

    counters: dict[str, ProgressiveDelay]

    @classmethod
    def build(
        cls,
        *,
        per_pair: int = 5,
        per_address: int = 30,
        per_login: int = 100,
        per_device: int = 10,
        max_delay: float = 900.0,
        forget: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> LoginThrottle:
        """A throttle with these free failures per kind of key."""
        free = {"pair": per_pair, "address": per_address, "login": per_login, "device": per_device}
        return cls({kind: _counter(n, forget, clock, max_delay) for kind, n in free.items()})

    def wait(self, attempt: Attempt) -> float:
        """Seconds before this attempt may be checked (0: now); the longest of its keys' waits."""
        return max(self.counters[kind].wait(key) for kind, key in attempt.counted_as())

    def failed(self, attempt: Attempt) -> None:
        """Count a failed attempt against each of its keys."""
        for kind, key in attempt.counted_as():
            self.counters[kind].fail(key)

    def succeeded(self, attempt: Attempt) -> None:
        """A correct password clears the attempt's own pair (or device), never the address or the login."""
        for kind, key in attempt.counted_as():
            if kind in ("pair", "device"):
                self.counters[kind].clear(key)
