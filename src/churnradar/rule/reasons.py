"""Reason texts: "Login days fell {activity_drop_pct:.0f}%" filled with one customer's values, safely.

Reason templates are user text (editable from the web), so `str.format` is never called on them: it would
let `{x.__class__.__mro__}` walk into Python objects. Each placeholder is parsed with `string.Formatter`,
checked to be a plain known name with a plain number format, and rendered on its own with `format()` on a
plain float or str.
"""

from __future__ import annotations

import math
import numbers
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

from churnradar.rule.exceptions import ReasonError
from churnradar.rule.language import FieldType

MISSING = "—"
MAX_CHARS = 2_000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Python's format-spec for floats and strings, minus fill characters, with at most two-digit width and
# precision: `{x:999999999}` would otherwise build a gigabyte string.
_SPEC = re.compile(r"^[<>^]?[+\- ]?\d{0,2}[,_]?(?:\.\d{1,2})?[eEfFgG%s]?$")
_NUMBER_SAMPLE = 1234.5
_TEXT_SAMPLE = "text"


@dataclass(frozen=True)
class _Part:
    literal: str
    name: str | None
    spec: str


def _parse(text: str) -> list[_Part]:
    if not isinstance(text, str):
        raise ReasonError("the reason must be text")
    if len(text) > MAX_CHARS:
        raise ReasonError(f"the reason is {len(text):,} characters long; the limit is {MAX_CHARS:,}")
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ReasonError(f"cannot read the placeholders: {exc}; write {{{{ and }}}} for a brace") from exc
    parts: list[_Part] = []
    for literal, field, spec, conversion in pieces:
        if field is None:
            parts.append(_Part(literal, None, ""))
            continue
        shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if field == "" or field.isdigit():
            raise ReasonError(f"{shown}: name the value to show, e.g. {{activity_drop_pct}}")
        if not _NAME.match(field):
            raise ReasonError(f"{shown}: only plain names are allowed, no attributes or indexes")
        if conversion:
            raise ReasonError(f"{shown}: conversions such as !{conversion} are not allowed")
        if spec and not _SPEC.match(spec):
            raise ReasonError(f"{shown}: unsupported format {spec!r}; use e.g. .0f, .1f, .0%")
        parts.append(_Part(literal, field.lower(), spec or ""))
    return parts


def check_reason(text: str, fields: Mapping[str, FieldType]) -> list[str]:
    """The names `text` shows; raise `ReasonError` for unknown names, unsafe or unusable placeholders."""
    known = {name.lower(): kind for name, kind in fields.items()}
    names: list[str] = []
    for part in _parse(text):
        if part.name is None:
            continue
        shown = "{" + part.name + (f":{part.spec}" if part.spec else "") + "}"
        if part.name not in known:
            raise ReasonError(f"{shown}: unknown indicator or field {part.name!r}")
        sample: object = _TEXT_SAMPLE if known[part.name] is FieldType.TEXT else _NUMBER_SAMPLE
        try:
            format(sample, part.spec)
        except ValueError as exc:
            raise ReasonError(f"{shown}: format {part.spec!r} does not fit a {known[part.name]}") from exc
        names.append(part.name)
    return names


def _plain(value: object) -> float | str | None:
    # Only float and str reach format(): their __format__ cannot reach other objects.
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Real):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, numbers.Number):  # e.g. Decimal
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
        return None if math.isnan(number) else number
    text = str(value)
    # pandas' NA / NaT and numpy's NaT are missing values, not words to show.
    return None if text in ("<NA>", "NaT", "nan") else text


def render_reason(text: str, values: Mapping[str, object]) -> str:
    """`text` with each placeholder replaced by the customer's value; a missing value shows as "—"."""
    lowered = {str(k).lower(): v for k, v in values.items()}
    out: list[str] = []
    for part in _parse(text):
        out.append(part.literal)
        if part.name is None:
            continue
        value = _plain(lowered.get(part.name))
        if value is None:
            out.append(MISSING)
            continue
        try:
            out.append(format(value, part.spec))
        except ValueError:
            # A checked template meets a value of another type (text where a number was expected): show it
            # plainly rather than fail a whole evaluation over one sentence.
            out.append(str(value))
    return "".join(out)
