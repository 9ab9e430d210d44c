"""A watched folder: each new file imported once, a changed file again, GB18030 files with Chinese headers."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.source import service
from tests.conftest import lake_events
from tests.source.conftest import customers, import_runs, save

MAPPING = {
    "customers": {"columns": {"客户编号": "customer_id", "客户名称": "name"}},
    "events": {
        "columns": {"客户编号": "customer_id", "下单时间": "ts", "类型": "kind"},
        "values": {"kind": {"下单": "order", "投诉": "complaint"}},
    },
}


def drop(folder: Path, name: str, text: str, *, mtime: int = 1_700_000_000) -> Path:
    path = folder / name
    path.write_bytes(text.encode("gb18030"))
    os.utime(path, (mtime, mtime))
    return path


def test_each_new_file_is_imported_once(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "erp"
    folder.mkdir()
    drop(folder, "customers.csv", "客户编号,客户名称\nK1,华新机械\nK2,东方电气\n")
    drop(folder, "events_2026-11-20.csv", "客户编号,下单时间,类型\nK1,2026-11-20 09:00,下单\n")
    (folder / "notes.txt").write_text("not data")
    save(
        engine,
        settings,
        name="erp",
        kind="folder",
        options={"path": str(folder), "encoding": "gb18030"},
        mapping=MAPPING,
    )
    first = service.sync_source(engine, "erp", settings=settings)
    assert first.ok, first
    assert customers(engine) == {"K1": "华新机械", "K2": "东方电气"}
    assert len(lake_events(engine)) == 1

    runs = import_runs(engine)
    assert service.sync_source(engine, "erp", settings=settings).totals()["rows"] == 0
    assert import_runs(engine) == runs  # nothing imported twice

    drop(folder, "events_2026-11-21.csv", "客户编号,下单时间,类型\nK2,2026-11-21 10:00,投诉\n")
    drop(folder, "customers.csv", "客户编号,客户名称\nK1,华新机械集团\nK2,东方电气\n", mtime=1_700_000_100)
    third = service.sync_source(engine, "erp", settings=settings)
    assert [(k.kind.value, k.rows, k.inserted, k.updated, k.unchanged) for k in third.kinds if k.rows] == [
        ("customers", 2, 0, 1, 1),
        ("events", 1, 1, 0, 0),
    ]
    assert sorted(e[2] for e in lake_events(engine)) == ["complaint", "order"]


def test_a_bad_file_is_named_and_retried_until_fixed(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    drop(folder, "customers.csv", "customer_id,name\nK1,A\n")
    drop(folder, "events_1.csv", "customer_id,ts,kind\nK1,not a time,order\n")
    save(engine, settings, name="drop", kind="folder", options={"path": str(folder)})
    summary = service.sync_source(engine, "drop", settings=settings)
    assert not summary.ok
    errors = [str(e) for k in summary.kinds for e in k.errors]
    assert len(errors) == 1
    assert errors[0].startswith("source drop, events file events_1.csv row 2, column ts:")
    assert lake_events(engine) == []
    drop(folder, "events_1.csv", "customer_id,ts,kind\nK1,2026-11-01,order\n", mtime=1_700_000_500)
    assert service.sync_source(engine, "drop", settings=settings).ok
    assert len(lake_events(engine)) == 1


def test_a_missing_folder_is_a_clear_failure(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    save(engine, settings, name="gone", kind="folder", options={"path": str(tmp_path / "nowhere")})
    summary = service.sync_source(engine, "gone", settings=settings)
    assert summary.error == f"source gone: {tmp_path / 'nowhere'} is not a folder this process can read"
