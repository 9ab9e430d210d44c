"""YAML documents admins export and import (`routes: [...]`): read within bounds, every entry checked whole.

An import is all or nothing: each wrong entry is named by its position and field (`routes[2].levels: ...`),
at most `MAX_ERRORS` of them, and nothing is stored while any is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

MAX_CHARS = 200_000
MAX_ERRORS = 20

M = TypeVar("M", bound=BaseModel)


def read_document(text: str, error: type[Exception], *, max_chars: int = MAX_CHARS) -> dict[str, Any]:
    """The YAML mapping of `text`, or `error` saying where it is not YAML (line and column) or too long."""
    if len(text) > max_chars:
        raise error(f"the document is over {max_chars} characters")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise error(f"not YAML{where}") from None
    if not isinstance(document, dict):
        raise error("expected a mapping at the top of the document")
    return document


def entries_of(document: dict[str, Any], key: str, error: type[Exception]) -> list[Any]:
    """The list under `key` (a missing key is an empty list)."""
    entries = document.get(key, [])
    if not isinstance(entries, list):
        raise error(f"{key}: expected a list")
    return entries


def _place(where: str, loc: Sequence[int | str]) -> str:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return f"{where}{path}".lstrip(".")


def problems(where: str, exc: ValidationError) -> list[str]:
    """Every problem of a validation error, each named by its place (`where`, then `routes[0].channel`)."""
    return [f"{_place(where, e['loc'])}: {e['msg']}"[:300] for e in exc.errors()]


def located(where: str, exc: ValidationError) -> str:
    """The first problem of a validation error, named by its place."""
    return problems(where, exc)[0]


def joined(errors: Sequence[str]) -> str:
    """Every problem on one line, at most `MAX_ERRORS` of them."""
    more = f" (and {len(errors) - MAX_ERRORS} more)" if len(errors) > MAX_ERRORS else ""
    return "; ".join(errors[:MAX_ERRORS]) + more


def checked(entries: Sequence[Any], model: type[M], key: str, error: type[Exception]) -> list[M]:
    """Every entry as `model`, or `error` locating each wrong one (`key[i].field: ...`)."""
    found: list[M] = []
    errors: list[str] = []
    for i, entry in enumerate(entries):
        try:
            found.append(model.model_validate(entry))
        except ValidationError as exc:
            errors.append(located(f"{key}[{i}]", exc))
    if errors:
        raise error(joined(errors))
    return found


def dump(document: dict[str, Any]) -> str:
    """A document as YAML that reads back the same (keys in the given order, Chinese kept)."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
