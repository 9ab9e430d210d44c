"""What other domains and the CLI call on alerts: silences for now (the lifecycle runs inside evaluate)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from churnradar.alert import repository
from churnradar.models import Rule


class SilenceError(ValueError):
    """A silence that names an unknown customer or rule, or an empty period."""


def add_silence(
    engine: Engine,
    *,
    customer: str | None,
    rule: str | None,
    starts_at: datetime,
    ends_at: datetime,
    by: str,
    reason: str,
) -> int:
    """Store a silence for a customer (its source id), a rule slug, or both; returns its id."""
    if ends_at <= starts_at:
        raise SilenceError("the silence would end before it starts")
    with engine.begin() as conn:
        customer_id = None
        if customer is not None:
            customer_id = conn.execute(
                select(repository.CUSTOMERS.c.id).where(repository.CUSTOMERS.c.external_id == customer)
            ).scalar_one_or_none()
            if customer_id is None:
                raise SilenceError(f"no customer with id {customer!r}")
        if (
            rule is not None
            and conn.execute(select(Rule.id).where(Rule.slug == rule).limit(1)).first() is None
        ):
            raise SilenceError(f"no rule {rule!r} (see churnradar rule list)")
        result = conn.execute(
            insert(repository.SILENCES).values(
                customer_id=customer_id,
                rule=rule,
                starts_at=starts_at,
                ends_at=ends_at,
                created_by=by,
                reason=reason,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]
