"""Texts the program writes, as values: a message id with parameters, rendered in the reader's language.

Domain code returns a `Message` (never finished Chinese or English sentences); the edge that knows the
reader (a page, an API response, a notification to one person) calls `render(message, locale)`. Text a
user typed in both languages (a rule's name and reason) is data, carried as `Localized`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from churnradar.i18n.catalog import normalize, translations


@dataclass(frozen=True)
class Localized:
    """Data written in both languages by a person (or stored so by an earlier version); not translated."""

    en: str
    zh: str = ""

    def render(self, locale: str | None) -> str:
        """The reader's language, else English."""
        return self.zh if normalize(locale) == "zh_CN" and self.zh else self.en


@dataclass(frozen=True)
class Message:
    """A catalog message id (the English text, with `{name}` placeholders) and its parameters.

    Parameters that are themselves a `Message` or `Localized` are rendered in the same language.
    `context` tells apart one English word that two places translate differently ("open" task vs tab).
    """

    id: str
    params: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    context: str | None = None
    # A message with plural forms ("1 day", "2 days"): the plural id and the number that picks the form.
    plural: str | None = None
    count: int = 0

    def render(self, locale: str | None) -> str:
        """This message in `locale` (a missing translation falls back to the English id)."""
        if self.plural is not None:
            text = translations(normalize(locale)).ngettext(self.id, self.plural, self.count)
            return _filled(text, locale, self.params)
        return translate(self.id, locale, context=self.context, **self.params)


def msg(message_id: str, /, **params: object) -> Message:
    """A message to render later; `message_id` is extracted into the catalog (keyword `msg`)."""
    return Message(message_id, MappingProxyType(dict(params)))


def pmsg(context: str, message_id: str, /, **params: object) -> Message:
    """A message with a context, for an id whose translation depends on where it appears."""
    return Message(message_id, MappingProxyType(dict(params)), context)


def nmsg(singular: str, plural: str, count: float, /, **params: object) -> Message:
    """A message with plural forms, picked by `count` in the reader's language (extracted: keyword `nmsg`)."""
    return Message(singular, MappingProxyType(dict(params)), None, plural, round(count))


def N_(message: str) -> str:  # noqa: N802 (gettext's conventional name for "mark, translate later")
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def separator(locale: str | None) -> str:
    """What goes between listed reasons ("; " in English, a full-width semicolon in Chinese)."""
    return translate("; ", locale, context="between listed reasons")


def render(text: Message | Localized | str, locale: str | None) -> str:
    """Any text value in the reader's language (a plain str is already final)."""
    return text if isinstance(text, str) else text.render(locale)


def translate(message_id: str, locale: str | None, /, *, context: str | None = None, **params: object) -> str:
    """The catalog's text for `message_id` in `locale`, with `{name}` placeholders filled from `params`."""
    catalog = translations(normalize(locale))
    text = catalog.pgettext(context, message_id) if context else catalog.gettext(message_id)
    return _filled(text, locale, params)


def _filled(text: str, locale: str | None, params: Mapping[str, object]) -> str:
    if not params:
        return text
    values = {
        name: value.render(locale) if isinstance(value, Message | Localized) else value
        for name, value in params.items()
    }
    return text.format(**values)
