"""A database and its lake are one store: a new lake is claimed, another database's lake is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from churnradar.db import create_engine
from churnradar.lake.exceptions import LakePairingError
from churnradar.lake.pairing import PAIR_FILE, ensure_paired, lake_identity, store_identity
from churnradar.lake.repository import Lake
from churnradar.store import migrate
from tests.upgrade.helpers import alembic_downgrade


def _store(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine)
    return engine


def test_a_new_lake_is_claimed_and_another_databases_lake_refused(tmp_path: Path) -> None:
    first, second = _store(tmp_path / "a.db"), _store(tmp_path / "b.db")
    lake = Lake(tmp_path / "a-data")
    assert store_identity(first) != store_identity(second)
    assert lake_identity(lake) is None
    assert ensure_paired(first, lake)
    assert lake_identity(lake) == store_identity(first)
    assert ensure_paired(first, lake)  # again: the same answer, nothing rewritten
    with pytest.raises(LakePairingError, match="belongs to another database") as refused:
        ensure_paired(second, lake)
    assert str(lake.root) in str(refused.value)
    assert len(str(refused.value)) < 600
    first.dispose()
    second.dispose()


def test_a_damaged_record_is_refused_with_its_path(tmp_path: Path) -> None:
    engine = _store(tmp_path / "a.db")
    lake = Lake(tmp_path / "a-data")
    (lake.root / PAIR_FILE).parent.mkdir(parents=True)
    (lake.root / PAIR_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(LakePairingError, match=r"store\.json cannot be read"):
        ensure_paired(engine, lake)
    engine.dispose()


def test_before_migration_0012_there_is_nothing_to_check(tmp_path: Path) -> None:
    engine = alembic_downgrade(_store(tmp_path / "a.db"), "0011")
    lake = Lake(tmp_path / "a-data")
    assert not ensure_paired(engine, lake)
    assert lake_identity(lake) is None
    engine.dispose()


def test_init_refuses_a_lake_left_by_another_database(tmp_path: Path) -> None:
    old = tmp_path / "churnradar.db"

    def init() -> subprocess.CompletedProcess[str]:  # each command a process, as people run them
        env = {**os.environ, "CHURNRADAR_DATABASE_URL": f"sqlite:///{old}"}
        env.pop("CHURNRADAR_LAKE__PATH", None)
        command = [sys.executable, "-m", "churnradar", "init"]
        return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=False)

    assert init().returncode == 0
    assert (tmp_path / "churnradar-data" / PAIR_FILE).exists()
    old.unlink()  # the database deleted, its lake left behind: a new database must not inherit it
    refused = init()
    assert refused.returncode == 1
    assert "belongs to another database" in refused.stderr
    assert "Traceback" not in refused.stderr
    shutil.rmtree(tmp_path / "churnradar-data")  # moved away: the new database starts an empty lake
    assert init().returncode == 0
