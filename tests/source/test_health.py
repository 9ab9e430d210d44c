"""A connected source that stops delivering raises the admins' data alert, named as the source."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.datahealth.checks import FeedState
from churnradar.datahealth.service import bad_connected_sources, source_health
from churnradar.evaluation.service import data_health_notice
from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import import_records
from churnradar.kit.clock import FrozenClock
from churnradar.models import OutboxMessage
from churnradar.source import service
from tests.source.conftest import save


def test_a_silent_source_is_one_feed_and_raises_the_data_alert(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "erp"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id\nK1\n")
    save(engine, settings, name="erp", kind="folder", options={"path": str(folder)})
    start = datetime(2026, 11, 1, 6)
    for day in range(8):  # a daily export, one file a day (plus the customers once)
        (folder / f"events_2026-11-{day + 1:02d}.csv").write_text(
            f"customer_id,ts,kind\nK1,2026-11-{day + 1:02d}T01:00:00,order\n"
        )
        at = start + timedelta(days=day)
        assert service.sync_source(engine, "erp", settings=settings, clock=FrozenClock(at)).ok

    fine = start + timedelta(days=8)
    assert [(s.source, s.state) for s in source_health(engine, fine)] == [("source:erp", FeedState.OK)]
    assert bad_connected_sources(engine, fine) == []

    silent = start + timedelta(days=12)  # the export stopped: nothing new for four days
    (bad,) = bad_connected_sources(engine, silent)
    assert (bad.source, bad.state) == ("source:erp", FeedState.STALE)
    notice = data_health_notice([], [], date(2026, 11, 13), [bad])
    assert notice.event == "data_health"
    assert notice.line.render("en").startswith(
        "As of 2026-11-13: source:erp (stale). nothing from source:erp for"
    )


def test_a_failing_source_tells_the_admins_once(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    people = [{"login": "boss", "role": "admin", "email": "boss@example.com"}]
    assert import_records(engine, people, kind=RecordKind.USERS, settings=settings).status == "succeeded"
    folder = tmp_path / "later"
    save(engine, settings, name="later", kind="folder", options={"path": str(folder)})

    def told() -> list[str]:
        with engine.connect() as conn:
            return [str(r[0]) for r in conn.execute(select(OutboxMessage.dedup_key))]

    assert not service.sync_source(engine, "later", settings=settings).ok
    assert len(told()) == 1
    assert not service.sync_source(engine, "later", settings=settings).ok  # retried at the next due time
    assert len(told()) == 1  # told once
    folder.mkdir()
    assert service.sync_source(engine, "later", settings=settings).ok
    folder.rmdir()
    assert not service.sync_source(engine, "later", settings=settings).ok
    assert len(told()) == 2  # failing again after a success is news
