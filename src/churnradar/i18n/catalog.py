"""The one gettext catalog of every user-facing text: compiled in memory from the shipped .po files.

English is the message ids themselves; `locales/zh_CN/LC_MESSAGES/*.po` hold the Chinese. The web, the
domain code and the notifications all read this catalog (there is no second place for program texts).
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
# Language names are shown in their own language, so a reader can always find theirs.
LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}


def normalize(language: str | None) -> str:
    """A supported catalog locale for a language tag: zh, zh-CN, zh_CN, zh-Hans all mean zh_CN."""
    if not language:
        return DEFAULT_LOCALE
    lowered = language.replace("-", "_").lower()
    if lowered.startswith("zh") and not lowered.startswith(("zh_tw", "zh_hk", "zh_hant")):
        return "zh_CN"
    return DEFAULT_LOCALE


def catalog_files(locale: str) -> list[Path]:
    """The .po files of `locale`: `messages.po` and one file per feature (`tasks.po`, `rules.po`, ...)."""
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    return sorted(folder.glob("*.po")) if folder.is_dir() else []


def read_catalog(locale: str) -> Catalog:
    """Every .po file of `locale` merged into one catalog (a message defined twice keeps its first text)."""
    merged = Catalog(locale=locale, domain=DOMAIN)
    seen: set[tuple[object, str | None]] = set()
    for po_path in catalog_files(locale):
        with po_path.open("rb") as handle:
            part = read_po(handle, locale=locale)
        for message in part:
            key = (message.id, message.context)
            if message.id and key not in seen:
                seen.add(key)
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
