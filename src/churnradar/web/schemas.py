"""Shapes shared by every API router: a page of results, and the base of list filters."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class ListFilter(BaseModel):
    """The base of a list's filters (query parameters): blanks mean "no filter", links keep the filter."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # An empty <select> or search box means "no filter", not "equal to the empty string".
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    def query_params(self, **changes: Any) -> dict[str, str]:
        """The filter as query parameters (for links to other pages or sort orders), without defaults."""
        values = self.model_dump(mode="json") | changes
        defaults = type(self)().model_dump(mode="json")
        return {
            k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in values.items()
            if v is not None and v != defaults[k]
        }
