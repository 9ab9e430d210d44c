"""The generic registry used for every user-extensible thing."""

from __future__ import annotations

import pytest

from churnradar.kit.registry import Registry, RegistryError


def test_register_get_and_list() -> None:
    registry: Registry[type] = Registry("channel")

    @registry.register("b")
    class B:
        pass

    registry.add("a", int)
    assert list(registry) == ["a", "b"]
    assert registry.get("a") is int
    assert registry.get("b") is B
    assert "b" in registry
    assert len(registry) == 2


def test_duplicates_and_unknown_keys_are_refused_with_the_known_ones_named() -> None:
    registry: Registry[int] = Registry("channel")
    registry.add("email", 1)
    with pytest.raises(RegistryError, match="channel 'email' is already registered"):
        registry.add("email", 2)
    with pytest.raises(RegistryError, match=r"unknown channel 'sms' \(known: email\)"):
        registry.get("sms")
