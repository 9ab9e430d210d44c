"""Shapes shared by every API router: a page of results (list filters start from kit.listing)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a longer list: the items, and enough to ask for the next page."""

    items: list[T]
    total: int = Field(description="How many items match, over all pages.")
    page: int = Field(description="This page's number, from 1.")
    per_page: int
    pages: int = Field(description="How many pages there are.")

    @classmethod
    def of(cls, items: list[T], *, total: int, page: int, per_page: int) -> Page[T]:
        """A page from its items and the total count."""
        return cls(items=items, total=total, page=page, per_page=per_page, pages=-(-total // per_page))
