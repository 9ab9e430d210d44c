"""The base of list filters (query parameters) shared by every list, page and API alike."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


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
