"""Import sources: each learns its delivery cadence and size; settings can state or silence a feed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert

from churnradar.config import FeedExpectation, Settings
from churnradar.datahealth.checks import FeedPolicy, FeedState, judge_feeds, judge_sources, source_name
from churnradar.db import create_engine
from churnradar.i18n import render
from churnradar.models import ImportRun
from churnradar.store import migrate
from tests.cli.test_cli import churnradar
from tests.ingest.test_import import CUSTOMERS, EVENTS, write

NOW = datetime(2026, 11, 23, 9, 0)


def _deliveries(source: str, rows: list[int], every: timedelta, last: datetime, kind: str = "order") -> list:
    times = [last - every * (len(rows) - 1 - i) for i in range(len(rows))]
    return [(source, kind, at, n) for at, n in zip(times, rows, strict=True)]


def _frame(*deliveries: list) -> pd.DataFrame:
    rows = [row for batch in deliveries for row in batch]
    return pd.DataFrame(rows, columns=["source", "kind", "arrived_at", "rows"])


@pytest.mark.parametrize(
    ("stored", "name"),
    [
        ("/data/erp/orders_2026-11-20.csv", "orders"),
        ("orders-20261121.CSV", "orders"),
        ("exports/客户 2026.xlsx", "客户"),
        ("2026-11-20.csv", "2026-11-20.csv"),
        ("api:crm_sync", "api:crm_sync"),
        ("erp2", "erp2"),
    ],
)
def test_daily_files_of_one_feed_share_a_source_name(stored: str, name: str) -> None:
    assert source_name(stored) == name


class TestJudgeSources:
    def test_daily_files_arriving_as_usual_are_one_ok_source(self) -> None:
        days = [f"/in/orders_2026-11-{day:02d}.csv" for day in range(10, 23)]
        batches = _frame([("x", "order", NOW - timedelta(days=23 - i), 500) for i in range(10, 23)]).assign(
            source=days
        )
        (source,) = judge_sources(batches, NOW)
        assert (source.source, source.state, source.batches) == ("orders", FeedState.OK, 13)
        assert source.usual_gap_days == pytest.approx(1.0)
        assert source.usual_rows == 500

    def test_a_source_silent_for_a_week_is_stale_and_others_are_not(self) -> None:
        stopped = _deliveries("erp", [500] * 12, timedelta(days=1), NOW - timedelta(days=7))
        running = _deliveries("api:crm", [80] * 40, timedelta(hours=6), NOW - timedelta(hours=3), "email")
        erp, crm = sorted(judge_sources(_frame(stopped, running), NOW), key=lambda s: s.source != "erp")
        assert erp.state is FeedState.STALE
        assert render(erp.reason, "en") == "nothing from erp for 7.0 days; usually every 1 day"
        assert (crm.state, crm.kinds) == (FeedState.OK, ("email",))

    def test_a_thin_last_delivery_is_anomalous(self) -> None:
        batches = _frame(_deliveries("erp", [500] * 10 + [40], timedelta(days=1), NOW - timedelta(hours=2)))
        (source,) = judge_sources(batches, NOW)
        assert source.state is FeedState.ANOMALOUS
        assert (source.last_rows, source.usual_rows) == (40, 500)

    def test_files_of_one_folder_import_are_one_delivery(self) -> None:
        at = [NOW - timedelta(days=d) for d in range(6, 0, -1)]
        rows = [("erp", kind, t, 100) for t in at for kind in ("order", "payment")]
        (source,) = judge_sources(_frame(rows), NOW)
        assert (source.batches, source.last_rows, source.kinds) == (6, 200, ("order", "payment"))

    def test_a_young_source_is_new_unless_settings_state_its_cadence(self) -> None:
        batches = _frame(_deliveries("erp", [500, 500], timedelta(days=1), NOW - timedelta(days=5)))
        (young,) = judge_sources(batches, NOW)
        assert young.state is FeedState.NEW
        stated = FeedPolicy(sources={"erp": FeedExpectation(every_days=1)})
        (known,) = judge_sources(batches, NOW, stated)
        assert known.state is FeedState.STALE

    def test_an_unwatched_source_is_not_judged(self) -> None:
        batches = _frame(_deliveries("erp", [500] * 10, timedelta(days=1), NOW - timedelta(days=30)))
        (source,) = judge_sources(batches, NOW, FeedPolicy(sources={"erp": FeedExpectation(watch=False)}))
        assert source.state is FeedState.UNWATCHED


class TestKindExpectations:
    DAY = date(2026, 11, 23)

    def _daily(self, counts: list[int], kind: str = "competitor_signal") -> pd.DataFrame:
        days = [self.DAY - timedelta(days=len(counts) - i) for i in range(len(counts))]
        return pd.DataFrame({"kind": kind, "day": days, "events": counts}).query("events > 0")

    def test_a_sparse_feed_that_looks_stale_can_be_unwatched(self) -> None:
        sparse = self._daily([3, 0, 0, 2, 0, 4, 0, 0, 1, 2, 3, 1] + [0] * 14)
        (learned,) = judge_feeds(sparse, self.DAY, FeedPolicy(min_active_days=5))
        assert learned.state is FeedState.STALE
        policy = FeedPolicy(min_active_days=5, kinds={"competitor_signal": FeedExpectation(watch=False)})
        (unwatched,) = judge_feeds(sparse, self.DAY, policy)
        assert unwatched.state is FeedState.UNWATCHED

    def test_a_stated_cadence_and_volume_override_the_learned_ones(self) -> None:
        weekly = self._daily(([7] + [0] * 6) * 4 + [7, 0, 0, 0, 0, 0, 0, 0, 0, 0], "survey")
        policy = FeedPolicy(min_active_days=4, kinds={"survey": FeedExpectation(every_days=30)})
        (feed,) = judge_feeds(weekly, self.DAY, policy)
        assert (feed.state, feed.usual_gap_days) == (FeedState.OK, 30)
        thin = self._daily([100] * 27 + [30, 30, 30], "order")
        (as_learned,) = judge_feeds(thin, self.DAY)
        assert as_learned.state is FeedState.OK  # 30 a day is above a quarter of 100
        stated = FeedPolicy(kinds={"order": FeedExpectation(per_day=400)})
        (as_stated,) = judge_feeds(thin, self.DAY, stated)
        assert (as_stated.state, as_stated.usual_per_day) == (FeedState.ANOMALOUS, 400)

    def test_thresholds_come_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CHURNRADAR_DATA_HEALTH__STALE_FACTOR", "10")
        monkeypatch.setenv("CHURNRADAR_DATA_HEALTH__KINDS", '{"login": {"watch": false}}')
        settings = Settings()
        assert settings.data_health.stale_factor == 10
        assert settings.data_health.kinds["login"].watch is False


def test_data_health_command_reports_sources_from_the_import_log(tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    write(data, "customers.csv", CUSTOMERS)
    write(data, "events_2026-11-20.csv", EVENTS)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    imported = churnradar("--db", db, "import", str(data), "--json", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    # Earlier daily deliveries of the same feed, as the import log would have them.
    engine = create_engine(db)
    migrate(engine)
    today = datetime.now(UTC).replace(tzinfo=None, microsecond=0)  # the import log's clock
    with engine.begin() as conn:
        conn.execute(
            insert(ImportRun),
            [
                {
                    "source": f"/in/events_2026-11-{10 + i:02d}.csv",
                    "kind": "events",
                    "status": "succeeded",
                    "started_at": today - timedelta(days=12 - i),
                    "finished_at": today - timedelta(days=12 - i),
                    "rows_read": 1000,
                }
                for i in range(8)
            ],
        )
    engine.dispose()
    env = {"CHURNRADAR_DATA_HEALTH__SOURCES": '{"customers": {"watch": false}}'}
    shown = churnradar("--db", db, "data-health", "--json", cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    sources = {s["source"]: s for s in json.loads(shown.stdout)["sources"]}
    assert set(sources) == {"customers", "events"}
    assert sources["customers"]["state"] == "unwatched"
    # Eight daily deliveries of 1,000 rows, then today's small file: thin, not stale.
    assert sources["events"]["batches"] == 9
    assert sources["events"]["state"] == "anomalous"
    assert sources["events"]["usual_rows"] == 1000
    text = churnradar("--db", db, "data-health", cwd=tmp_path, env=env)
    assert "Import sources" in text.stdout
    (line,) = [line for line in text.stdout.splitlines() if line.strip().startswith("events ")]
    assert "anomalous" in line
