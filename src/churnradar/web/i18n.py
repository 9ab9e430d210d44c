"""The web's side of languages: negotiation and formatting; the catalog itself is `churnradar.i18n`."""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent

from churnradar.i18n import DEFAULT_LOCALE, LANGUAGES, N_, translations
from churnradar.kit.levels import Level

__all__ = [
    "LANGUAGES",
    "LEVEL_LABELS",
    "N_",
    "VALUE_LABELS",
    "Formatter",
    "negotiate",
    "translations",
    "value_name",
]

# Each level as pages name it, lowest first: the English message id of its stored value.
LEVEL_LABELS: dict[Level, str] = {
    Level.YELLOW: N_("yellow"),
    Level.ORANGE: N_("orange"),
    Level.RED: N_("red"),
}

# Stored values pages show translated (`_(value)`; a value the catalog does not know is shown as stored):
# the demo's and the import format's industries, segments and tiers, event kinds, import kinds and sources.
VALUE_LABELS = (
    # industries
    N_("saas"),
    N_("manufacturing"),
    N_("retail"),
    N_("services"),
    N_("education"),
    # segments and tiers
    N_("SMB"),
    N_("mid-market"),
    N_("enterprise"),
    N_("high"),
    N_("medium"),
    N_("low"),
    # event kinds
    N_("order"),
    N_("payment"),
    N_("communication"),
    N_("ticket"),
    N_("complaint"),
    N_("survey"),
    N_("login"),
    N_("feature_use"),
    N_("competitor_signal"),
    N_("renewal_intent"),
    N_("balance"),
    N_("return"),
    N_("visit"),
    N_("milestone"),
    N_("abandoned_cart"),
    N_("contact_change"),
    N_("course_progress"),
    N_("interaction"),
    N_("invitation"),
    # what an import brought in, and from where (pages show an import's kind as pgettext("import kind", ...):
    # "invoices" and "users" alone are also indicator units, "张发票", "个用户")
    N_("customers"),
    N_("events"),
    N_("contracts"),
    N_("invoices"),
    N_("users"),
    N_("seed"),
    N_("demo"),
    N_("api"),
)


def value_name(value: str, catalog: gettext.NullTranslations) -> str:
    """A stored value (an event kind, a segment) as a page names it: the catalog's translation, else the
    value's own words ("abandoned_cart" reads "abandoned cart" where no translation names it)."""
    if not value:
        return value
    shown = catalog.gettext(value)
    return shown.replace("_", " ") if shown == value else shown


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

    # One way of writing dates per locale on every page ("Dec 8, 2026" and "Dec 8, 2026, 1:41 AM"; the
    # Chinese "2026年12月8日" and "2026年12月8日 01:41"): a template's style argument is accepted and ignored,
    # so no page writes "12/8/26, 1:41 AM" beside "Dec 8, 2026".
    DATE_STYLE = "medium"
    TIME_STYLE = "short"

    def date(self, value: date | datetime | None, _style: str | None = None) -> str:
        """A date, e.g. "Mar 1, 2024" in English, written the Chinese way in zh_CN."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.replace(tzinfo=ZoneInfo("UTC")).astimezone(self.zone).date()
        return format_date(value, format=self.DATE_STYLE, locale=self.locale)

    def datetime(self, value: datetime | None, _style: str | None = None) -> str:
        """A stored naive-UTC timestamp shown in the configured zone: the locale's date, then its time."""
        if value is None:
            return ""
        local = value.replace(tzinfo=ZoneInfo("UTC")).astimezone(self.zone)
        day = format_date(local.date(), format=self.DATE_STYLE, locale=self.locale)
        clock = format_time(local, format=self.TIME_STYLE, locale=self.locale)
        pattern = str(self.babel_locale.datetime_formats[self.DATE_STYLE])
        return pattern.replace("{1}", day).replace("{0}", clock)

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
