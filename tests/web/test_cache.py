"""The TTL cache behind filter choices and overview figures."""

from __future__ import annotations

from churnradar.web.cache import TtlCache


class TestTtlCache:
    def test_values_expire_and_the_oldest_are_dropped(self) -> None:
        now = [0.0]
        cache = TtlCache(seconds=10, maxsize=2, clock=lambda: now[0])
        calls: list[str] = []

        def compute(key: str) -> str:
            calls.append(key)
            return key.upper()

        assert cache.get_or_set("a", lambda: compute("a")) == "A"
        assert cache.get_or_set("a", lambda: compute("a")) == "A"
        assert calls == ["a"]
        now[0] = 11
        cache.get_or_set("a", lambda: compute("a"))
        assert calls == ["a", "a"]
        cache.get_or_set("b", lambda: compute("b"))
        cache.get_or_set("c", lambda: compute("c"))  # "a" is the oldest: dropped
        cache.get_or_set("a", lambda: compute("a"))
        assert calls == ["a", "a", "b", "c", "a"]

    def test_zero_seconds_turns_it_off(self) -> None:
        cache = TtlCache(seconds=0)
        values = iter(range(10))
        assert [cache.get_or_set("k", lambda: next(values)) for _ in range(3)] == [0, 1, 2]
