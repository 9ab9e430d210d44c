"""A stopped or thinned feed is reported as such and does not turn into churn alerts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import duckdb
import pandas as pd
import pytest
from deltalake import write_deltalake
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.datahealth.checks import FeedPolicy, FeedState, affected_indicators, judge_feeds
from churnradar.datahealth.service import DAILY_COUNTS, feed_health, spoiled_indicators
from churnradar.evaluation.service import evaluate
from churnradar.i18n import render
from churnradar.lake.events import events_relation
from churnradar.lake.schemas import EVENTS_SCHEMA, LakeTable
from churnradar.lake.service import lake_for
from churnradar.models import Alert, OutboxMessage, StoredFigures, User
from tests.evaluation.conftest import AS_OF

DAY = date(2024, 6, 3)


def _daily(kind: str, counts: list[int]) -> pd.DataFrame:
    days = [DAY - timedelta(days=len(counts) - i) for i in range(len(counts))]
    return pd.DataFrame({"kind": kind, "day": days, "events": counts}).query("events > 0")


class TestJudge:
    def test_steady_feed_is_ok(self) -> None:
        (feed,) = judge_feeds(_daily("order", [40] * 30), DAY)
        assert (feed.state, feed.usual_per_day, feed.recent_per_day) == (FeedState.OK, 40, 40)

    def test_feed_silent_for_a_week_is_stale(self) -> None:
        (feed,) = judge_feeds(_daily("order", [40] * 23 + [0] * 7), DAY)
        assert feed.state is FeedState.STALE
        assert render(feed.reason, "en") == "no order events for 7 days; usually every 1 day"
        assert render(feed.reason, "zh_CN") == "已有 7 天没有“订单”事件；通常每 1 天一次"

    def test_weekly_feed_is_not_stale_after_six_quiet_days(self) -> None:
        counts = ([5] + [0] * 6) * 5 + [5, 0, 0, 0, 0, 0]
        (feed,) = judge_feeds(_daily("survey", counts), DAY, FeedPolicy(min_active_days=4))
        assert feed.state is FeedState.OK

    def test_volume_at_a_tenth_is_anomalous(self) -> None:
        (feed,) = judge_feeds(_daily("order", [40] * 27 + [4, 4, 4]), DAY)
        assert feed.state is FeedState.ANOMALOUS
        assert "fell to 4 a day over the last 3 days; usually 40" in render(feed.reason, "en")

    def test_little_history_is_new(self) -> None:
        (feed,) = judge_feeds(_daily("visit", [1, 1, 1]), DAY)
        assert feed.state is FeedState.NEW


def test_derived_indicators_follow_their_parents() -> None:
    kinds = {"orders_30d": ["order"], "logins_30d": ["login"]}
    parents = {"orders_ratio": ["orders_30d", "logins_30d"], "ratio_change": ["orders_ratio"]}
    assert affected_indicators(kinds, parents, {"order"}) == {"orders_30d", "orders_ratio", "ratio_change"}


def test_spoiled_built_ins_for_a_stale_order_feed() -> None:
    feeds = judge_feeds(_daily("order", [40] * 23 + [0] * 7), DAY)
    spoiled = spoiled_indicators(feeds)
    assert {"orders_30d", "days_since_last_order", "orders_vs_baseline"} <= spoiled
    assert "login_days_30d" not in spoiled


def _cut(db: Engine, kind: str, days: int, keep_every: int | None = None) -> int:
    """Remove `kind` events of the `days` before AS_OF from the lake (all, or all but each `keep_every`th)."""
    start = datetime.combine(AS_OF - timedelta(days=days), time.min)
    end = datetime.combine(AS_OF, time.min)
    lake = lake_for(db)
    con = duckdb.connect()
    try:
        events_relation(lake, con).create_view("stored")
        window = "kind = $kind AND ts >= $start AND ts < $end"
        numbered = con.execute(
            f"SELECT *, row_number() OVER (ORDER BY ts, customer_id, event_key) - 1 AS n "  # noqa: S608
            f"FROM stored WHERE {window}",
            {"kind": kind, "start": start, "end": end},
        ).to_arrow_table()
        doomed = (
            numbered.num_rows
            if keep_every is None
            else sum(n % keep_every != 0 for n in numbered["n"].to_pylist())
        )
        con.register("numbered", numbered)
        kept = con.execute(
            f"SELECT * EXCLUDE (n) FROM numbered WHERE $every IS NOT NULL AND n % $every = 0 "  # noqa: S608
            f"UNION ALL SELECT * FROM stored WHERE NOT ({window})",
            {"kind": kind, "start": start, "end": end, "every": keep_every},
        ).to_arrow_table()
    finally:
        con.close()
    with lake.writing(LakeTable.EVENTS):
        write_deltalake(str(lake.path(LakeTable.EVENTS)), kept.cast(EVENTS_SCHEMA), mode="overwrite")
    return int(doomed)


def _opened_by(db: Engine, rules: set[str]) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(Alert).where(Alert.rule.in_(rules))).scalar_one()
        )


@pytest.mark.parametrize(
    ("days", "keep_every", "state"),
    [(10, None, "stale"), (4, 10, "anomalous")],
    ids=["feed_stops", "volume_drops"],
)
def test_bad_order_feed_holds_order_rules(
    db: Engine, settings: Settings, days: int, keep_every: int | None, state: str
) -> None:
    assert _cut(db, "order", days, keep_every) > 0
    with db.begin() as conn:
        conn.execute(insert(User).values(login="ops", email="ops@example.com", role="admin"))
    guarded = evaluate(db, as_of=AS_OF, settings=settings)
    # The evaluation stored the day's counts: the overview's panel reuses them and judges the same.
    with db.connect() as conn:
        stored = conn.execute(select(StoredFigures.scope).where(StoredFigures.name == DAILY_COUNTS)).all()
    assert stored == [(f"days:{settings.data_health.history_days}",)]
    assert feed_health(db, AS_OF, settings.data_health, reuse=True) == feed_health(
        db, AS_OF, settings.data_health
    )
    health = guarded.data_health
    assert ("order", state) in [(f["kind"], f["state"]) for f in health["feeds"]]
    held = {h.split("/")[1] for h in health["held_rules"]}
    assert {"orders_drop", "order_gap_long"} <= held
    assert _opened_by(db, held) == 0
    evaluate(db, as_of=AS_OF, settings=settings)  # the same date again: still one notice
    with db.connect() as conn:
        notices = conn.execute(
            select(OutboxMessage.address, OutboxMessage.subject).where(OutboxMessage.event == "data_health")
        ).all()
    assert notices == [("ops@example.com", "churnradar: 1 data feed problem(s)")]  # exactly one, to the admin
    forced = evaluate(db, as_of=AS_OF + timedelta(days=7), settings=settings, force=True)
    assert forced.data_health["held_rules"] == []
    assert _opened_by(db, held) > 0  # without the guard the broken feed reads as customers ordering less
    resumed = evaluate(db, as_of=AS_OF + timedelta(days=14), settings=settings)  # the feed is back
    assert "order" not in [f["kind"] for f in resumed.data_health["feeds"]]
    # Sparse feeds of 300 simulated customers may look stale on their own; the order rules run again.
    assert not {h.split("/")[1] for h in resumed.data_health["held_rules"]} & {
        "orders_drop",
        "order_gap_long",
    }
