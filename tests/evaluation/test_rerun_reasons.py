"""A rerun of a date changes nothing: with several rules tied at one level on a customer, the stored risk
reasons (customer_risk) are the same, byte for byte, after the same evaluation again and after
`churnradar evaluate` of that date (issue #15, item 11)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from churnradar.cli.main import app
from churnradar.config import Settings
from churnradar.evaluation.service import evaluate
from churnradar.kit.clock import FrozenClock
from churnradar.models import AlertEvent, Customer, CustomerRisk
from churnradar.rule import repository as rule_repo
from churnradar.rule.service import active_templates
from tests.web.seed import seed

DAY = date(2025, 1, 1)
NOON = datetime(2025, 1, 1, 12, 0)
# Four rules at one level, all true for E-001 (three at most are its reasons: which three is a tie-break).
TIED = [
    ("tied_d", "tier = 'high'"),
    ("tied_b", "segment = 'SMB'"),
    ("tied_a", "industry = 'retail'"),
    ("tied_c", "owner = 'rep_east'"),
]


def _rule(slug: str, condition: str) -> dict[str, Any]:
    return {
        "slug": slug,
        "name_en": slug,
        "name_zh": slug,
        "condition": condition,
        "level": "orange",
        "reason_en": f"{slug} holds",
        "reason_zh": f"{slug} 成立",
    }


def _risk(engine: Engine) -> list[tuple[Any, ...]]:
    """Every stored risk row, all columns, by customer."""
    columns = [c for c in CustomerRisk.__table__.columns if c.name != "customer_id"]
    with engine.connect() as conn:
        rows = conn.execute(
            select(Customer.external_id, *columns)
            .join(Customer, Customer.id == CustomerRisk.customer_id)
            .order_by(Customer.external_id)
        ).all()
    return [tuple(r) for r in rows]


def _store_rules(engine: Engine, rules: list[tuple[str, str]]) -> None:
    with engine.begin() as conn:
        stored = rule_repo.stored_rules(conn)
        general = [
            {**r, "enabled": False} if "condition" in r and not r["slug"].startswith("tied_") else r
            for r in stored["general"]
            if not r["slug"].startswith("tied_")
        ]
        rule_repo.replace_rules(
            conn, {"general": [*general, *(_rule(s, c) for s, c in rules)]}, at=NOON, by="test"
        )


def test_rerunning_a_date_keeps_the_stored_reasons_byte_for_byte(engine: Engine, settings: Settings) -> None:
    seed(engine, settings)
    active_templates(engine, at=NOON)
    _store_rules(engine, TIED)
    evaluate(engine, as_of=DAY, settings=settings, clock=FrozenClock(NOON))
    first = _risk(engine)
    e001 = dict(
        zip(
            ["customer", *(c.name for c in CustomerRisk.__table__.columns if c.name != "customer_id")],
            next(r for r in first if r[0] == "E-001"),
            strict=True,
        )
    )
    assert e001["reasons_en"] == "tied_a holds; tied_b holds; tied_c holds"  # by rule, whatever the order
    assert e001["reasons_zh"] == "tied_a 成立；tied_b 成立；tied_c 成立"
    assert e001["open_alerts"] == 4
    with engine.connect() as conn:
        events = conn.execute(select(AlertEvent.id)).all()

    evaluate(engine, as_of=DAY, settings=settings, clock=FrozenClock(NOON))
    assert _risk(engine) == first

    _store_rules(engine, list(reversed(TIED)))  # the same rules listed the other way round
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["evaluate", "--as-of", DAY.isoformat(), "--json", "--db", url])
    assert result.exit_code == 0, result.output
    assert _risk(engine) == first
    with engine.connect() as conn:
        assert conn.execute(select(AlertEvent.id)).all() == events  # no alert changed either
