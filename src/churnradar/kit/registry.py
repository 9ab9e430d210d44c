"""A generic registry of named extensions (indicators, channels, templates, ...), refusing duplicates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class RegistryError(KeyError):
    """Unknown or duplicate registry key."""


class Registry(Generic[T]):
    """Maps stable snake_case slugs to extensions of one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, slug: str, item: T) -> T:
        """Register `item` under `slug`; a slug can be registered once."""
        if slug in self._items:
            raise RegistryError(f"{self.kind} {slug!r} is already registered")
        self._items[slug] = item
        return item

    def register(self, slug: str) -> Callable[[T], T]:
        """Decorator form of `add`."""

        def decorate(item: T) -> T:
            return self.add(slug, item)

        return decorate

    def get(self, slug: str) -> T:
        """The extension registered under `slug`."""
        try:
            return self._items[slug]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise RegistryError(f"unknown {self.kind} {slug!r} (known: {known})") from None

    def __contains__(self, slug: object) -> bool:
        return slug in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)
