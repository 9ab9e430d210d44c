"""Reason texts: "Login days fell {activity_drop_pct:.0f}%" filled with one customer's values, safely.

Reason templates are user text (editable from the web), so `str.format` is never called on them: it would
let `{x.__class__.__mro__}` walk into Python objects. Each placeholder is parsed with `string.Formatter`,
checked to be a plain known name with a plain number format, and rendered on its own with `format()` on a
plain float or str.

A number can choose the words around it, as in ICU MessageFormat:
`{complaints_90d, plural, one {# complaint} other {# complaints}}` reads "1 complaint", "3 complaints".
`#` is the number (whole unless a format is given: `{share:.1f, plural, ...}`); a form is chosen by the
reader's language's plural rules (CLDR, through Babel: English has one and other, Chinese only other) from
the number as shown, or by an exact `=0 {...}`. Inside a form, braces are placeholders only.
"""

from __future__ import annotations

import math
import numbers
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache

from babel import Locale, UnknownLocaleError

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
_PLURAL_HEAD = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*([^,{}]*?))?\s*,\s*plural\s*,")
_SELECTOR = re.compile(r"\s*(=\d{1,6}|[A-Za-z]+)\s*")
CATEGORIES = ("zero", "one", "two", "few", "many", "other")
_PLURAL_SPEC = ".0f"


@dataclass(frozen=True)
class _Part:
    literal: str
    name: str | None
    spec: str
    forms: Mapping[str, list[_Part]] = field(default_factory=dict)  # a plural's forms by selector
    column: int = 0


def _parse_plain(text: str, *, in_form: bool = False) -> list[_Part]:
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ReasonError(f"cannot read the placeholders: {exc}; write {{{{ and }}}} for a brace") from exc
    parts: list[_Part] = []
    for literal, name, spec, conversion in pieces:
        if name is None:
            parts.append(_Part(literal, None, ""))
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if name == "" or name.isdigit():
            raise ReasonError(f"{shown}: name the value to show, e.g. {{activity_drop_pct}}")
        if not _NAME.match(name):
            if in_form and "," in name:
                raise ReasonError(f"{shown[:80]}: a plural inside a plural's form is not supported")
            raise ReasonError(f"{shown}: only plain names are allowed, no attributes or indexes")
        if conversion:
            raise ReasonError(f"{shown}: conversions such as !{conversion} are not allowed")
        if spec and not _SPEC.match(spec):
            raise ReasonError(f"{shown}: unsupported format {spec!r}; use e.g. .0f, .1f, .0%")
        parts.append(_Part(literal, name.lower(), spec or ""))
    return parts


def _form_end(text: str, start: int) -> int:
    """The index of the `}` closing the form whose text starts at `start` (its placeholders are skipped)."""
    depth = 0
    for at in range(start, len(text)):
        if text[at] == "{":
            depth += 1
        elif text[at] == "}":
            if depth == 0:
                return at
            depth -= 1
    return -1


def _parse_plural(text: str, start: int, head: re.Match[str]) -> tuple[_Part, int]:
    """The plural starting at `start` and the index after it; errors name its 1-based column."""
    name, spec = head.group(1), (head.group(2) or "").strip()
    where = f"{{{name}, plural, ...}} at column {start + 1}"
    if spec and not _SPEC.match(spec):
        raise ReasonError(f"{where}: unsupported format {spec!r}; use e.g. .0f, .1f")
    forms: dict[str, list[_Part]] = {}
    at = head.end()
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            raise ReasonError(f"{where}: the plural is not closed; end it with }}")
        if text[at] == "}":
            break
        selector = _SELECTOR.match(text, at)
        if selector is None:
            raise ReasonError(f"{where}: expected a form such as one {{...}} at column {at + 1}")
        key = selector.group(1)
        if not key.startswith("=") and key not in CATEGORIES:
            raise ReasonError(
                f"{where}: unknown form {key[:20]!r} at column {at + 1}; use {', '.join(CATEGORIES)} or =N"
            )
        if key in forms:
            raise ReasonError(f"{where}: the form {key!r} is given twice (column {at + 1})")
        at = selector.end()
        if at >= len(text) or text[at] != "{":
            raise ReasonError(f"{where}: the form {key!r} needs its words in braces (column {at + 1})")
        end = _form_end(text, at + 1)
        if end < 0:
            raise ReasonError(f"{where}: the form {key!r} is not closed; end it with }} (column {at + 1})")
        try:
            forms[key] = _parse_plain(text[at + 1 : end], in_form=True)
        except ReasonError as exc:
            raise ReasonError(f"{where}, form {key!r}: {exc}") from exc
        at = end + 1
    if "other" not in forms:
        raise ReasonError(f"{where}: a plural needs an other {{...}} form")
    return _Part("", name.lower(), spec, forms, start + 1), at + 1


def _parse(text: str) -> list[_Part]:
    if not isinstance(text, str):
        raise ReasonError("the reason must be text")
    if len(text) > MAX_CHARS:
        raise ReasonError(f"the reason is {len(text):,} characters long; the limit is {MAX_CHARS:,}")
    parts: list[_Part] = []
    plain_from = at = 0
    while at < len(text):
        if text.startswith(("{{", "}}"), at):
            at += 2
            continue
        head = _PLURAL_HEAD.match(text, at) if text[at] == "{" else None
        if head is None:
            at += 1
            continue
        parts += _parse_plain(text[plain_from:at])
        plural, at = _parse_plural(text, at, head)
        parts.append(plural)
        plain_from = at
    return parts + _parse_plain(text[plain_from:])


def _check_part(part: _Part, known: Mapping[str, FieldType]) -> None:
    if part.name is None:
        return
    if part.forms:
        where = f"{{{part.name}, plural, ...}} at column {part.column}"
        if part.name not in known:
            raise ReasonError(f"{where}: unknown indicator or field {part.name!r}")
        if known[part.name] is not FieldType.NUMBER:
            raise ReasonError(f"{where}: a plural needs a number; {part.name!r} is a {known[part.name]}")
        for key, form in part.forms.items():
            try:
                for inner in form:
                    _check_part(inner, known)
            except ReasonError as exc:
                raise ReasonError(f"{where}, form {key!r}: {exc}") from exc
        return
    shown = "{" + part.name + (f":{part.spec}" if part.spec else "") + "}"
    if part.name not in known:
        raise ReasonError(f"{shown}: unknown indicator or field {part.name!r}")
    sample: object = _TEXT_SAMPLE if known[part.name] is FieldType.TEXT else _NUMBER_SAMPLE
    try:
        format(sample, part.spec)
    except ValueError as exc:
        raise ReasonError(f"{shown}: format {part.spec!r} does not fit a {known[part.name]}") from exc


def _names(parts: list[_Part]) -> list[str]:
    names: list[str] = []
    for part in parts:
        if part.name is not None:
            names.append(part.name)
        for form in part.forms.values():
            names += _names(form)
    return names


def check_reason(text: str, fields: Mapping[str, FieldType]) -> list[str]:
    """The names `text` shows; raise `ReasonError` for unknown names, unsafe or unusable placeholders."""
    known = {name.lower(): kind for name, kind in fields.items()}
    parts = _parse(text)
    for part in parts:
        _check_part(part, known)
    return _names(parts)


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


@cache
def _plural_rule(locale: str) -> Locale:
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def plural_category(shown: str, locale: str) -> str:
    """The CLDR plural category of a number as shown ("1" one, "1.0" and "3" other in English)."""
    digits = re.sub(r"[^0-9.\-]", "", shown)
    try:
        number = Decimal(digits)
    except InvalidOperation:
        return "other"
    return str(_plural_rule(locale).plural_form(abs(number)))


def _render_value(value: float | str | None, spec: str) -> str:
    if value is None:
        return MISSING
    try:
        return format(value, spec)
    except ValueError:
        # A checked template meets a value of another type (text where a number was expected): show it
        # plainly rather than fail a whole evaluation over one sentence.
        return str(value)


def _render(parts: list[_Part], values: Mapping[str, object], locale: str, number: str | None) -> str:
    out: list[str] = []
    for part in parts:
        out.append(part.literal if number is None else part.literal.replace("#", number))
        if part.name is None:
            continue
        value = _plain(values.get(part.name))
        if not part.forms:
            out.append(_render_value(value, part.spec))
            continue
        shown = _render_value(value, part.spec or _PLURAL_SPEC)
        if not isinstance(value, float):
            category = "other"
        else:
            exact = f"={shown}" if re.fullmatch(r"-?\d+", shown) else ""
            category = exact if exact in part.forms else plural_category(shown, locale)
        form = part.forms.get(category, part.forms["other"])
        out.append(_render(form, values, locale, shown))
    return "".join(out)


def render_reason(text: str, values: Mapping[str, object], locale: str = "en") -> str:
    """`text` with each placeholder replaced by the customer's value; a missing value shows as "—".

    `locale` is the reader's language, which chooses a plural's form.
    """
    lowered = {str(k).lower(): v for k, v in values.items()}
    return _render(_parse(text), lowered, locale, None)
