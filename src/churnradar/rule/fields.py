"""The names a rule condition may use: every indicator, plus descriptive fields of the customer."""

from __future__ import annotations

from collections.abc import Iterable

from churnradar.rule.language import FieldType

# Filled in from the customer row at evaluation time; `tenure_days` counts from signup_date to the as-of date,
# `churn_probability` comes from the active model (null until one is trained).
CUSTOMER_FIELDS: dict[str, FieldType] = {
    "tier": FieldType.TEXT,
    "segment": FieldType.TEXT,
    "industry": FieldType.TEXT,
    "team": FieldType.TEXT,
    "owner": FieldType.TEXT,
    "status": FieldType.TEXT,
    "tenure_days": FieldType.NUMBER,
    "health_score": FieldType.NUMBER,
    "churn_probability": FieldType.NUMBER,
}


def rule_fields(indicator_slugs: Iterable[str]) -> dict[str, FieldType]:
    """Indicators (numbers) and customer fields; an indicator may not shadow a customer field."""
    fields = dict(CUSTOMER_FIELDS)
    for slug in indicator_slugs:
        if slug in fields:
            raise ValueError(f"indicator {slug!r} has the name of a customer field")
        fields[slug] = FieldType.NUMBER
    return fields
