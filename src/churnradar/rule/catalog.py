"""What a rule may name, for people: each field and indicator with its readable name, description and unit.

The builder's searchable list. Indicators (built-in and custom, from the registry) carry their own names
and units; the customer fields are described here. A field added elsewhere without a description is listed
by its name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from churnradar import i18n
from churnradar.i18n import Localized, Message
from churnradar.indicator.schemas import Indicator
from churnradar.rule.language import FieldType

CUSTOMER_GROUP = i18n.msg("Customer")
_CUSTOMER: dict[str, tuple[Message, Message, Message | None]] = {
    "tier": (i18n.msg("Tier"), i18n.msg("The customer's value tier, e.g. high, medium, low."), None),
    "segment": (
        i18n.msg("Segment"),
        i18n.msg("The customer's segment, e.g. SMB, enterprise, a region."),
        None,
    ),
    "industry": (i18n.msg("Industry"), i18n.msg("The customer's industry, which picks its template."), None),
    "team": (i18n.msg("Team"), i18n.msg("The owner's team."), None),
    "owner": (i18n.msg("Owner"), i18n.msg("Login of the customer's owner."), None),
    "status": (i18n.msg("Status"), i18n.msg("active or churned."), None),
    "tenure_days": (
        i18n.msg("Tenure"),
        i18n.msg("Days from the customer's signup to the evaluation date."),
        i18n.msg("days"),
    ),
    "health_score": (
        i18n.msg("Health score"),
        i18n.msg("0 (at risk) to 100 (healthy), from the template's weighted indicators."),
        i18n.msg("points"),
    ),
    "churn_probability": (
        i18n.msg("Churn probability"),
        i18n.msg("The trained model's probability of churn (empty until a model is trained)."),
        i18n.msg("0 to 1"),
    ),
}
_FAMILIES: dict[str, Message] = {
    "activity": i18n.msg("Activity"),
    "orders": i18n.msg("Orders"),
    "complaints": i18n.msg("Complaints"),
    "response": i18n.msg("Response"),
    "usage": i18n.msg("Usage"),
    "competitor": i18n.msg("Competitor"),
    "contract": i18n.msg("Contract"),
}
_KIND_WORDS: dict[FieldType, Message] = {
    FieldType.NUMBER: i18n.msg("number"),
    FieldType.TEXT: i18n.msg("text"),
    FieldType.BOOLEAN: i18n.msg("true/false"),
}


def _catalog_text(english: str) -> Localized:
    """An English text of shipped YAML in both languages (the catalog's Chinese where it has one)."""
    return Localized(english, i18n.translate(english, "zh_CN") if english else "")


def _described(indicator: Indicator) -> Localized:
    """An indicator's description in both languages: its own Chinese where written, else the catalog's."""
    if indicator.description_zh:
        return Localized(indicator.description, indicator.description_zh)
    return _catalog_text(indicator.description)


@dataclass(frozen=True)
class FieldInfo:
    """One name a condition may use, as the builder lists it."""

    name: str
    kind: FieldType
    label: Localized | Message
    description: Localized | Message
    unit: Localized | Message
    group: Localized | Message

    def texts(self, locale: str) -> dict[str, str]:
        """The shown texts in `locale`: label, description, unit, group and kind."""
        return {
            "name": self.name,
            "label": i18n.render(self.label, locale),
            "description": i18n.render(self.description, locale),
            "unit": i18n.render(self.unit, locale),
            "group": i18n.render(self.group, locale),
            "kind": i18n.render(_KIND_WORDS[self.kind], locale),
        }


def field_catalog(indicators: Iterable[Indicator], fields: Mapping[str, FieldType]) -> list[FieldInfo]:
    """Every name of `fields`: customer fields first, then indicators by family and name."""
    by_slug = {i.slug: i for i in indicators}
    out: list[FieldInfo] = []
    for name, kind in fields.items():
        indicator = by_slug.get(name)
        if indicator is not None:
            family = indicator.family.value
            out.append(
                FieldInfo(
                    name,
                    kind,
                    Localized(indicator.name_en, indicator.name_zh),
                    _described(indicator),
                    _catalog_text(indicator.unit),
                    _FAMILIES.get(family, Localized(family)),
                )
            )
            continue
        label, description, unit = _CUSTOMER.get(name, (Localized(name), Localized(""), None))
        out.append(FieldInfo(name, kind, label, description, unit or Localized(""), CUSTOMER_GROUP))
    order = {name: i for i, name in enumerate(_CUSTOMER)}
    return sorted(
        out, key=lambda f: (f.name not in order, order.get(f.name, 0), f.name not in by_slug, f.name)
    )


def search(catalog: Iterable[FieldInfo], query: str, locale: str, limit: int = 30) -> list[FieldInfo]:
    """The catalog's entries whose name, label, description or unit (in either language) contain every word
    of `query`, case-insensitively; all of them (up to `limit`) for an empty query."""
    words = query.casefold().split()[:10]
    found: list[FieldInfo] = []
    for info in catalog:
        haystack = " ".join([info.name, *info.texts(locale).values(), *info.texts("en").values()]).casefold()
        if all(word in haystack for word in words):
            found.append(info)
        if len(found) >= limit:
            break
    return found
