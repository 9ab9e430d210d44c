"""A source's incremental cursor (the last `updated_at` or id read) as text, typed on the way back.

Stored as `<type>:<value>` so that a timestamp compares as a timestamp and an id as a number when the next
sync asks the source for what came after it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any


def encode(value: Any) -> str | None:
    """`value` as stored text; None for None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return f"s:{value}"
    if isinstance(value, int):
        return f"i:{value}"
    if isinstance(value, float | Decimal):
        return f"n:{value}"
    if isinstance(value, datetime):
        return f"t:{value.isoformat()}"
    if isinstance(value, date):
        return f"d:{value.isoformat()}"
    return f"s:{value}"


def decode(text: str | None) -> Any:
    """The value `encode` stored."""
    if text is None:
        return None
    tag, _, value = text.partition(":")
    if tag == "i":
        return int(value)
    if tag == "n":
        return Decimal(value)
    if tag == "t":
        return datetime.fromisoformat(value)
    if tag == "d":
        return date.fromisoformat(value)
    return value


def shown(text: str | None) -> str | None:
    """The cursor as people read it (no type tag)."""
    return None if text is None else text.partition(":")[2]


def later(a: Any, b: Any) -> Any:
    """The later of two cursor values (None is earliest); values of different types keep `b`."""
    if a is None:
        return b
    if b is None:
        return a
    try:
        return b if b >= a else a
    except TypeError:
        return b
