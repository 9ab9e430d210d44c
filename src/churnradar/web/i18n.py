"""Languages: gettext catalogs compiled in memory from the shipped .po files, negotiation, formatting."""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
# Language names are shown in their own language, so a reader can always find theirs.
LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}


def N_(message: str) -> str:  # noqa: N802 (gettext's conventional name for "mark, translate later")
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def catalog_files(locale: str) -> list[Path]:
    """The .po files of `locale`: `messages.po` and one file per feature (`tasks.po`, `rules.po`, ...)."""
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    return sorted(folder.glob("*.po")) if folder.is_dir() else []


def read_catalog(locale: str) -> Catalog:
    """Every .po file of `locale` merged into one catalog (a message defined twice keeps its first text)."""
    merged = Catalog(locale=locale, domain=DOMAIN)
    for po_path in catalog_files(locale):
        with po_path.open("rb") as handle:
            part = read_po(handle, locale=locale)
        for message in part:
            if message.id and message.id not in merged:
                merged[message.id] = message
    return merged


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The catalog of `locale`, compiled from its .po files (no build step, no binary in the repository)."""
    if locale == DEFAULT_LOCALE or not catalog_files(locale):
        return gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(locale))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _accepted(header: str) -> list[str]:
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag.replace("-", "_")))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(accept_language: str | None) -> str:
    """The best supported locale for an Accept-Language header (zh, zh-CN, zh-Hans all mean zh_CN)."""
    if not accept_language:
        return DEFAULT_LOCALE
    for tag in _accepted(accept_language):
        lowered = tag.lower()
        if lowered.startswith("zh") and not lowered.startswith(("zh_tw", "zh_hk", "zh_hant")):
            return "zh_CN"
        found = negotiate_locale([tag], list(LANGUAGES), sep="_")
        if found:
            return found
        if lowered.split("_")[0] == "en":
            return "en"
    return DEFAULT_LOCALE


@dataclass(frozen=True)
class Formatter:
    """Dates, times and numbers written the way the reader's locale writes them, in the configured zone."""

    locale: str
    zone: ZoneInfo

    @property
    def babel_locale(self) -> Locale:
        """The Babel locale object."""
        return Locale.parse(self.locale)

    def date(self, value: date | datetime | None, fmt: str = "medium") -> str:
        """A date, e.g. "Mar 1, 2024" or "2024年3月1日"."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.replace(tzinfo=ZoneInfo("UTC")).astimezone(self.zone).date()
        return format_date(value, format=fmt, locale=self.locale)

    def datetime(self, value: datetime | None, fmt: str = "medium") -> str:
        """A stored naive-UTC timestamp shown in the configured zone."""
        if value is None:
            return ""
        aware = value.replace(tzinfo=ZoneInfo("UTC"))
        return format_datetime(aware, format=fmt, tzinfo=self.zone, locale=self.locale)

    def number(self, value: float | int | None, digits: int = 2) -> str:
        """A number with the locale's grouping and decimal signs, at most `digits` decimals."""
        if value is None:
            return ""
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, value: float | None) -> str:
        """A share as a percentage."""
        if value is None:
            return ""
        return format_percent(value, format="#,##0.#%", locale=self.locale)
