"""The names a rule condition may use: every indicator, plus descriptive fields of the customer.

The customer fields are the built-in ones below and the custom fields admins define (churnradar.field),
which `rule.service.use_store` binds for the process, as `indicator.service.use_store` binds the store's
custom indicators: every check and evaluation then sees them without being handed them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from churnradar.indicator.registry import default_registry
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

CustomFieldLoader = Callable[[], Mapping[str, FieldType]]
_custom: CustomFieldLoader | None = None


def bind_custom_fields(loader: CustomFieldLoader | None) -> None:
    """Read the store's custom customer fields through `loader` from now on (None: there are none)."""
    global _custom
    _custom = loader


def customer_fields() -> dict[str, FieldType]:
    """The built-in customer fields and the bound store's custom ones (a custom one never shadows one)."""
    custom = _custom() if _custom is not None else {}
    return {**{k: v for k, v in custom.items() if k not in CUSTOMER_FIELDS}, **CUSTOMER_FIELDS}


def rule_fields(indicator_slugs: Iterable[str]) -> dict[str, FieldType]:
    """Indicators (numbers) and customer fields; an indicator may not shadow a customer field."""
    fields = customer_fields()
    for slug in indicator_slugs:
        if slug in fields:
            raise ValueError(f"indicator {slug!r} has the name of a customer field")
        fields[slug] = FieldType.NUMBER
    return fields


def reserved_names() -> tuple[str, ...]:
    """Names a custom customer field may not take: the built-in fields and every indicator."""
    return (*CUSTOMER_FIELDS, *default_registry())
