"""Backup then restore into an empty folder (or an empty PostgreSQL database) gives the same figures:
customers, alerts, the lake's events and invoices, an evaluated date's snapshot; bad targets are refused."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine, make_url
from typer.testing import CliRunner

from churnradar.backup import service
from churnradar.backup.exceptions import BackupError
from churnradar.cli.main import app
from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.evaluation.service import evaluate
from churnradar.kit.clock import FrozenClock
from churnradar.lake import service as lake_service
from churnradar.lake.schemas import LakeTable
from churnradar.models import Alert, Customer, ImportRun
from tests.conftest import snapshot, stored_snapshot
from tests.web.seed import seed

AS_OF = date(2025, 1, 1)


@pytest.fixture
def empty_target(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A new, empty database of the same kind as `engine`, with its lake folder still to be made."""
    if engine.dialect.name == "sqlite":
        (tmp_path / "restored").mkdir()
        target = create_engine(f"sqlite:///{tmp_path / 'restored' / 'churnradar.db'}")
        yield target
        target.dispose()
        return
    admin_url = make_url(engine.url.render_as_string(hide_password=False)).set(database="postgres")
    admin = create_engine(admin_url.render_as_string(hide_password=False))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    name = f"churnradar_r_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    target = create_engine(admin_url.set(database=name).render_as_string(hide_password=False))
    lake_service.bind(target, tmp_path / "restored-lake")
    try:
        yield target
    finally:
        target.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def figures(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        counted = {
            model.__tablename__: conn.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Customer, Alert, ImportRun)
        }
    return counted | snapshot(engine)


def test_backup_then_restore_gives_the_same_figures(
    engine: Engine, empty_target: Engine, settings: Settings, tmp_path: Path
) -> None:
    seed(engine, settings)
    evaluate(engine, as_of=AS_OF, settings=settings, clock=FrozenClock(datetime(2025, 1, 1, 6)))
    before = figures(engine)
    assert before["alerts"]
    assert before["events"]
    made = service.backup(engine, tmp_path / "backup")
    assert made.lake_versions[LakeTable.EVENTS.value] is not None
    assert (tmp_path / "backup" / service.MANIFEST).exists()

    restored = service.restore(tmp_path / "backup", empty_target)
    assert restored.store_id == made.store_id
    assert figures(empty_target) == before
    assert_frame_equal(
        stored_snapshot(empty_target, AS_OF).sort_values("customer_id").reset_index(drop=True),
        stored_snapshot(engine, AS_OF).sort_values("customer_id").reset_index(drop=True),
    )
    # the restored pair is a store of its own: a second restore on it is refused, its lake is paired
    with pytest.raises(BackupError, match="is not empty"):
        service.restore(tmp_path / "backup", empty_target)


def test_a_backup_waits_for_a_lake_commit_under_way(engine: Engine, tmp_path: Path) -> None:
    lake = lake_service.lake_for(engine)
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def writer() -> None:
        with lake.writing(LakeTable.EVENTS):
            held.set()
            release.wait(10)

    holding = threading.Thread(target=writer)
    holding.start()
    assert held.wait(10)

    def run_backup() -> None:
        service.backup(engine, tmp_path / "waited")
        done.set()

    backing_up = threading.Thread(target=run_backup)
    backing_up.start()
    assert not done.wait(0.5)  # the backup waits while a lake commit is under way
    release.set()
    holding.join()
    backing_up.join(30)
    assert done.is_set()


def test_bad_folders_are_refused(engine: Engine, empty_target: Engine, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    with pytest.raises(BackupError, match="not an empty folder"):
        service.backup(engine, tmp_path / "full")
    with pytest.raises(BackupError, match="not a churnradar backup"):
        service.restore(tmp_path / "full", empty_target)
    service.backup(engine, tmp_path / "good")
    lake_root = lake_service.root_for(empty_target)
    lake_root.mkdir(parents=True)
    (lake_root / "stray.parquet").write_text("x")
    with pytest.raises(BackupError, match=r"lake folder .* is not empty"):
        service.restore(tmp_path / "good", empty_target)


def test_the_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    store = f"sqlite:///{tmp_path / 'live.db'}"
    assert runner.invoke(app, ["init", "--db", store]).exit_code == 0
    made = runner.invoke(app, ["backup", "--out", "nightly", "--db", store, "--json"])
    assert made.exit_code == 0, made.output
    assert '"store_id"' in made.stdout
    again = runner.invoke(app, ["backup", "--out", "nightly", "--db", store])
    assert again.exit_code == 1
    assert "not an empty folder" in again.output
    (tmp_path / "new").mkdir()
    back = runner.invoke(
        app, ["restore", "--from", "nightly", "--db", f"sqlite:///{tmp_path / 'new' / 'x.db'}"]
    )
    assert back.exit_code == 0, back.output
    assert (tmp_path / "new" / "x-data" / "_churnradar" / "store.json").exists()
