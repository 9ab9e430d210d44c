"""One i18n for the whole package: the gettext catalog, message values, and rendering per reader."""

from churnradar.i18n.catalog import (
    DEFAULT_LOCALE,
    LANGUAGES,
    LOCALES_DIR,
    catalog_files,
    normalize,
    read_catalog,
    translations,
)
from churnradar.i18n.message import N_, Localized, Message, msg, nmsg, pmsg, render, separator, translate

__all__ = [
    "DEFAULT_LOCALE",
    "LANGUAGES",
    "LOCALES_DIR",
    "N_",
    "Localized",
    "Message",
    "catalog_files",
    "msg",
    "nmsg",
    "normalize",
    "pmsg",
    "read_catalog",
    "render",
    "separator",
    "translate",
    "translations",
]
