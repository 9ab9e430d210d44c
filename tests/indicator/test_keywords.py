"""Built-in keyword lists admins edit (competitor names, deep features, balance threshold): stored, checked
with the field named, audited, and in the definitions every registry (so the next run) is built from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.indicator import service
from churnradar.indicator.exceptions import DefinitionError
from churnradar.indicator.registry import bind_stored, default_registry
from churnradar.models import AuditEntry

NOW = datetime(2026, 12, 7, 8, 0)


@pytest.fixture
def bound(engine: Engine) -> Iterator[Engine]:
    service.use_store(engine)
    yield engine
    bind_stored(None)


def _params(slug: str) -> dict[str, object]:
    return default_registry().get(slug).params.model_dump()


def test_stored_keywords_replace_the_shipped_ones_in_every_registry(bound: Engine) -> None:
    shipped = service.keywords_in_force(bound)
    assert "salesforce" in (shipped.competitor_names or [])
    assert shipped.balance_threshold == 100
    with pytest.raises(DefinitionError, match="balance_threshold"):
        service.save_keywords(bound, {"balance_threshold": -1}, actor=None, now=NOW)
    service.save_keywords(
        bound, {"competitor_names": ["RivalSoft", "对手"], "balance_threshold": 500}, actor=None, now=NOW
    )
    share = _params("competitor_mention_share_90d")
    assert share["match_any"][0][0]["value"] == ["RivalSoft", "对手"]  # type: ignore[index]
    assert _params("balance_below_threshold")["all_of"][0]["value"] == 500  # type: ignore[index]
    deep = _params("deep_feature_adoption_30d")
    assert deep["where"][0]["value"] == ["workflow", "api", "integrations", "sso"]  # type: ignore[index]
    now = service.keywords_in_force(bound)
    assert (now.competitor_names, now.deep_features, now.balance_threshold) == (
        ["RivalSoft", "对手"],
        ["workflow", "api", "integrations", "sso"],
        500,
    )
    with bound.connect() as conn:
        assert conn.execute(select(AuditEntry.entity).where(AuditEntry.entity == "indicator_keywords")).all()
