"""A small in-process cache with a time-to-live, for figures that change only when data is imported."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

V = TypeVar("V")


class TtlCache:
    """Values kept for `seconds` (0 turns caching off), at most `maxsize` of them, oldest dropped first."""

    def __init__(
        self, seconds: float, maxsize: int = 2_048, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.maxsize = maxsize
        self.clock = clock
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_set(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value for `key`, or `compute()` stored for next time."""
        if self.seconds <= 0:
            return compute()
        now = self.clock()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                value: V = hit[1]
                return value
        # Computed outside the lock: two requests may both compute, but none waits on another's query.
        value = compute()
        with self._lock:
            self._items[key] = (now + self.seconds, value)
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget everything (after an import through the API, say)."""
        with self._lock:
            self._items.clear()
