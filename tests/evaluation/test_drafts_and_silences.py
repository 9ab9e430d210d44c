"""Trying a draft rule changes nothing; a silence mutes exactly what it names, and says so."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from churnradar.alert.exceptions import SilenceError
from churnradar.alert.service import add_silence
from churnradar.config import Settings
from churnradar.evaluation.drafts import default_window, draft_book, try_rules
from churnradar.evaluation.service import active_rulebook, evaluate
from churnradar.models import Alert, AlertEvent, Customer
from churnradar.rule.schemas import RuleDef
from tests.conftest import snapshot
from tests.evaluation.conftest import AS_OF, judged

DRAFT = RuleDef(
    slug="no_order_60d",
    name_en="No order for 60 days",
    name_zh="60天未下单",
    condition="days_since_last_order > 60",
    level="orange",
    reason_en="No order for {days_since_last_order:.0f} days",
    reason_zh="{days_since_last_order:.0f} 天未下单",
)


def test_draft_counts_and_backtests_without_storing(db: Engine, settings: Settings) -> None:
    book = draft_book(active_rulebook(db), [DRAFT])
    before = snapshot(db)
    report = try_rules(
        db, book, as_of=AS_OF, window=default_window(AS_OF, horizon_days=30, weeks=4), zone="UTC"
    )
    flagged = report["flagged_now"]["no_order_60d"]
    assert set(flagged) <= {"orange"}
    assert 0 < flagged.get("orange", 0) < report["customers"]
    backtest = report["backtest"]
    assert [r["rule"] for r in backtest["rules"]] == ["no_order_60d"]
    assert backtest["snapshots"] == 4
    assert snapshot(db) == before
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Alert)).scalar_one() == 0


def test_draft_for_an_unknown_template_is_refused(db: Engine) -> None:
    with pytest.raises(ValueError, match=r"unknown template\(s\) \['gaming'\]"):
        draft_book(active_rulebook(db), [DRAFT], ["gaming"])


def test_silence_mutes_a_customer_and_is_recorded(db: Engine, settings: Settings) -> None:
    evaluate(db, as_of=AS_OF, settings=settings)
    with db.connect() as conn:
        target_id, external = conn.execute(
            select(Alert.customer_id, Customer.external_id)
            .join(Customer, Customer.id == Alert.customer_id)
            .where(Alert.status == "open", Alert.muted.is_(None))
            .limit(1)
        ).one()
    start = datetime.combine(AS_OF, datetime.min.time())
    add_silence(
        db,
        customer=external,
        rule=None,
        starts_at=start,
        ends_at=start + timedelta(days=30),
        by="wang.qiang",
        reason="customer on holiday, agreed with the owner",
    )
    evaluate(db, as_of=AS_OF + timedelta(days=7), settings=settings)
    with db.connect() as conn:
        mutes = set(
            conn.execute(
                select(Alert.muted).where(Alert.customer_id == target_id, Alert.status == "open")
            ).scalars()
        )
        causes = (
            conn.execute(select(AlertEvent.cause).join(Alert).where(Alert.customer_id == target_id))
            .scalars()
            .all()
        )
        others = conn.execute(
            select(func.count())
            .select_from(Alert)
            .where(Alert.customer_id != target_id, Alert.muted == "silenced")
        ).scalar_one()
    assert mutes == {"silenced"}
    assert "muted: silenced" in causes
    assert others == 0


@pytest.mark.parametrize(
    ("customer", "rule", "message"),
    [
        pytest.param("NOPE", None, "no customer with id 'NOPE'", id="unknown_customer"),
        pytest.param(None, "no_such_rule", "no rule 'no_such_rule'", id="unknown_rule"),
    ],
)
def test_silence_refuses_unknown_targets(
    db: Engine, customer: str | None, rule: str | None, message: str
) -> None:
    active_rulebook(db)  # stores the rules
    start = datetime(2026, 6, 1)
    with pytest.raises(SilenceError, match=message):
        add_silence(
            db,
            customer=customer,
            rule=rule,
            starts_at=start,
            ends_at=start + timedelta(days=1),
            by="x",
            reason="y",
        )


def test_prepared_rules_fire_exactly_as_the_ibis_expressions(db: Engine, settings: Settings) -> None:
    import ibis

    from churnradar.rule.evaluate import fired_rules

    book, _, _, assessment = judged(db)
    table = assessment.table[list(book.prepared.schema)]
    expected = fired_rules(ibis.memtable(table), book.compiled, book.fields)
    got = assessment.fired[expected.columns]
    key = ["customer_id", "rule", "template"]
    assert len(got) > 0
    assert (
        got.sort_values(key).reset_index(drop=True).equals(expected.sort_values(key).reset_index(drop=True))
    )
