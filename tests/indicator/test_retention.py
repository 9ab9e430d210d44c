"""Snapshot retention: which dates go (pure), and a prune of a real store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from churnradar.cli.main import app
from churnradar.config import SnapshotSettings
from churnradar.indicator import repository, service
from churnradar.indicator.retention import dates_to_prune
from churnradar.models import Customer

TODAY = date(2026, 11, 24)  # a Tuesday


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def test_recent_dates_all_stay_older_ones_thin_to_the_latest_of_each_week() -> None:
    stored = _days(date(2026, 9, 1), TODAY)
    gone = set(dates_to_prune(stored, today=TODAY, keep_daily_days=14, keep_weekly_days=None))
    kept = sorted(set(stored) - gone)
    assert [d for d in kept if d >= TODAY - timedelta(days=14)] == _days(TODAY - timedelta(days=14), TODAY)
    older = [d for d in kept if d < TODAY - timedelta(days=14)]
    # One per ISO week, its latest stored date: Sundays, except the week the daily window cuts into.
    assert len({d.isocalendar()[:2] for d in older}) == len(older)
    assert all(d.weekday() == 6 for d in older[:-1])
    assert older[-1] == TODAY - timedelta(days=15)  # Monday, the last day before the daily window
    assert older[0] == date(2026, 9, 6)
    assert dates_to_prune(kept, today=TODAY, keep_daily_days=14, keep_weekly_days=None) == []


def test_a_week_keeps_its_latest_stored_date_even_when_that_is_not_sunday() -> None:
    stored = [date(2026, 8, 3), date(2026, 8, 5), date(2026, 8, 12)]  # Mon, Wed; Wed of the next week
    gone = dates_to_prune(stored, today=TODAY, keep_daily_days=7, keep_weekly_days=None)
    assert gone == [date(2026, 8, 3)]


def test_nothing_older_than_the_weekly_horizon_stays() -> None:
    stored = [TODAY - timedelta(days=n) for n in (0, 3, 100, 400, 800)]
    gone = dates_to_prune(stored, today=TODAY, keep_daily_days=30, keep_weekly_days=365)
    assert gone == [TODAY - timedelta(days=800), TODAY - timedelta(days=400)]
    assert dates_to_prune([], today=TODAY, keep_daily_days=30, keep_weekly_days=365) == []


def test_weekly_horizon_cannot_be_shorter_than_the_daily_window() -> None:
    with pytest.raises(ValidationError, match="keep_weekly_days must be at least keep_daily_days"):
        SnapshotSettings(keep_daily_days=60, keep_weekly_days=30)


def _seed(engine: Engine, days: list[date]) -> None:
    with engine.begin() as conn:
        people = [{"external_id": "C1", "name": "one"}, {"external_id": "C2", "name": "two"}]
        conn.execute(insert(Customer), people)
        ids = list(conn.execute(select(Customer.id)).scalars())
    rows = [{"customer_id": c, "as_of": d, "orders_30d": 1.0} for d in days for c in ids]
    repository.store_wide(engine, pd.DataFrame(rows))


def test_prune_removes_the_dates_and_only_them(engine: Engine) -> None:
    days = _days(TODAY - timedelta(days=20), TODAY)
    _seed(engine, days)
    policy = SnapshotSettings(keep_daily_days=7, keep_weekly_days=14)
    pruned = service.prune_snapshots(engine, today=TODAY, policy=policy)
    expected = dates_to_prune(days, today=TODAY, keep_daily_days=7, keep_weekly_days=14)
    assert pruned.dates == expected
    assert pruned.rows == 2 * len(expected)
    left = repository.snapshot_dates(engine, limit=100)
    assert sorted(left) == sorted(set(days) - set(expected))
    with engine.connect() as conn:
        assert len(repository.read_values(conn, left[0])) == 2
    assert service.prune_snapshots(engine, today=TODAY, policy=policy).dates == []


def test_cli_prunes_with_the_settings_retention(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    days = [TODAY - timedelta(days=n) for n in (1, 60, 61, 900)]
    _seed(engine, days)
    monkeypatch.setenv("CHURNRADAR_SNAPSHOTS__KEEP_DAILY_DAYS", "30")
    monkeypatch.setenv("CHURNRADAR_SNAPSHOTS__KEEP_WEEKLY_DAYS", "365")
    url = engine.url.render_as_string(hide_password=False)
    args = ["--db", url, "prune-snapshots", "--as-of", TODAY.isoformat(), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    # 60 and 61 days back are Friday and Thursday of one ISO week: Friday stays.
    gone = [TODAY - timedelta(days=n) for n in (900, 61)]
    assert json.loads(result.stdout) == {"dates": [d.isoformat() for d in gone], "rows": 4}
    again = CliRunner().invoke(app, ["--db", url, "prune-snapshots", "--as-of", TODAY.isoformat()])
    assert again.exit_code == 0
    assert "no snapshot dates to remove" in again.stdout
