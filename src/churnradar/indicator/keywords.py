"""Built-in keyword lists admins edit: competitor names, the deep features, the balance threshold.

The shipped definitions hold the defaults; stored settings (one settings document) replace them in the
built-in definitions every registry is built from, so the next run's indicators use them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

COMPETITOR_SHARE = "competitor_mention_share_90d"
DEEP_FEATURES = "deep_feature_adoption_30d"
LOW_BALANCE = "balance_below_threshold"
DOCUMENT = "indicator_keywords"
Words = list[Annotated[str, Field(min_length=1, max_length=100)]]


class KeywordSettings(BaseModel):
    """What admins may change; a field left out keeps the shipped value."""

    model_config = ConfigDict(extra="forbid")

    competitor_names: Words | None = Field(default=None, min_length=1, max_length=200)
    deep_features: Words | None = Field(default=None, min_length=1, max_length=50)
    balance_threshold: float | None = Field(default=None, ge=0)


def shipped(raw: list[dict[str, Any]]) -> KeywordSettings:
    """The values the shipped definitions hold."""
    by_slug = {item.get("slug"): item for item in raw if isinstance(item, dict)}
    found: dict[str, Any] = {}
    if COMPETITOR_SHARE in by_slug:
        found["competitor_names"] = by_slug[COMPETITOR_SHARE]["match_any"][0][0]["value"]
    if DEEP_FEATURES in by_slug:
        found["deep_features"] = by_slug[DEEP_FEATURES]["where"][0]["value"]
    if LOW_BALANCE in by_slug:
        found["balance_threshold"] = by_slug[LOW_BALANCE]["all_of"][0]["value"]
    return KeywordSettings.model_validate(found)


def patched(raw: list[dict[str, Any]], settings: KeywordSettings) -> list[dict[str, Any]]:
    """The definitions of one built-in file with the settings' values in place of the shipped ones."""
    out = []
    for item in raw:
        slug = item.get("slug") if isinstance(item, dict) else None
        if slug == COMPETITOR_SHARE and settings.competitor_names:
            names = list(settings.competitor_names)
            item = {**item, "match_any": [[{**item["match_any"][0][0], "value": names}]]}
        elif slug == DEEP_FEATURES and settings.deep_features:
            features = list(settings.deep_features)
            where = [{**item["where"][0], "value": features}, *item["where"][1:]]
            item = {**item, "where": where, "scale": 1 / len(features)}
        elif slug == LOW_BALANCE and settings.balance_threshold is not None:
            value = settings.balance_threshold
            item = {**item, "all_of": [{**item["all_of"][0], "value": value}, *item["all_of"][1:]]}
        out.append(item)
    return out
