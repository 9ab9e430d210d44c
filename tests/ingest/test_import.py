"""File import on a real database (SQLite and PostgreSQL): good files, re-imports, updates, formats."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.ingest.mapping import load_mapping
from churnradar.ingest.schemas import ImportSummary, RecordKind
from churnradar.ingest.service import ImportOptions, import_path, import_records
from churnradar.models import Customer, ImportRun, Team, User
from tests.conftest import snapshot
from tests.ingest.lake import event_count, stored_events

CUSTOMERS = (
    "customer_id,name,owner,team,industry,tier,signup_date,region\n"
    "C1,华新机械,alice@example.com,East,manufacturing,High,2024-01-03,华东\n"
    "C2,Northwind,bob,West,saas,low,2023-05-01,\n"
)
EVENTS = (
    "customer_id,ts,kind,event_id,amount,text\n"
    "C1,2024-03-01T09:30:00+08:00,order,o-1,100.5,\n"
    "C1,2024-03-02,Login,,,\n"
    "C2,2024-03-02 10:00,complaint,,,发货太慢\n"
)


def write(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def run(engine: Engine, path: Path, settings: Settings, **options: object) -> ImportSummary:
    return import_path(engine, path, settings=settings, options=ImportOptions(**options))  # type: ignore[arg-type]


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path, settings: Settings) -> Engine:
    write(tmp_path, "customers.csv", CUSTOMERS)
    write(tmp_path, "events.csv", EVENTS)
    assert run(engine, tmp_path, settings).ok
    return engine


class TestGoodFiles:
    def test_folder_imports_customers_then_events(self, loaded: Engine) -> None:
        rows = stored_events(loaded)
        # +08:00 is converted to UTC; a time without zone is taken in the configured zone (UTC here).
        assert [
            (r.kind, r.ts.isoformat(), *(None if pd.isna(v) else v for v in (r.amount, r.text)))
            for r in rows.itertuples()
        ] == [
            ("order", "2024-03-01T01:30:00", 100.5, None),
            ("login", "2024-03-02T00:00:00", None, None),
            ("complaint", "2024-03-02T10:00:00", None, "发货太慢"),
        ]
        with loaded.connect() as conn:
            customers = dict(conn.execute(select(Customer.external_id, Customer.id)).all())
            run_id = conn.execute(select(ImportRun.id).where(ImportRun.kind == "events")).scalar_one()
        assert list(rows.customer_id) == [customers["C1"], customers["C1"], customers["C2"]]
        assert set(rows.import_id) == {run_id}

    def test_owners_and_teams_become_users(self, loaded: Engine) -> None:
        with loaded.connect() as conn:
            users = {
                u.login: u for u in conn.execute(select(User.login, User.email, User.team_id, User.role))
            }
            teams = dict(conn.execute(select(Team.name, Team.id)).all())
            c1 = conn.execute(select(Customer).where(Customer.external_id == "C1")).one()
        assert set(users) == {"alice@example.com", "bob"}
        assert users["alice@example.com"].email == "alice@example.com"
        assert users["bob"].email is None
        assert users["bob"].team_id == teams["West"]
        assert c1.owner_id is not None
        assert c1.tier == "high"
        assert c1.status == "active"
        assert c1.attributes == {"region": "华东"}

    def test_same_files_twice_change_nothing(
        self, loaded: Engine, tmp_path: Path, settings: Settings
    ) -> None:
        before = snapshot(loaded)
        again = run(loaded, tmp_path, settings)
        assert [(f.inserted, f.updated, f.unchanged) for f in again.files] == [(0, 0, 2), (0, 0, 3)]
        assert snapshot(loaded) == before

    def test_changed_customer_row_updates_only_given_columns(
        self, loaded: Engine, tmp_path: Path, settings: Settings
    ) -> None:
        folder = tmp_path / "update"
        folder.mkdir()
        write(
            folder, "customers.csv", "customer_id,tier,churned_at\nC1,low,2024-06-30\nC2,low,\nC3,medium,\n"
        )
        summary = run(loaded, folder, settings)
        assert (summary.files[0].inserted, summary.files[0].updated, summary.files[0].unchanged) == (1, 1, 1)
        with loaded.connect() as conn:
            c1 = conn.execute(select(Customer).where(Customer.external_id == "C1")).one()
        assert (c1.tier, c1.status, c1.churned_at.isoformat(), c1.name) == (
            "low",
            "churned",
            "2024-06-30",
            "华新机械",
        )

    def test_changed_event_with_id_updates(self, loaded: Engine, tmp_path: Path, settings: Settings) -> None:
        folder = tmp_path / "update"
        folder.mkdir()
        write(
            folder,
            "events.csv",
            "customer_id,ts,kind,event_id,amount\nC1,2024-03-01T01:30:00Z,order,o-1,99\n",
        )
        summary = run(loaded, folder, settings)
        assert (summary.files[0].inserted, summary.files[0].updated) == (0, 1)
        assert event_count(loaded) == 3

    def test_identical_rows_without_id_are_one_event(
        self, engine: Engine, tmp_path: Path, settings: Settings
    ) -> None:
        write(tmp_path, "customers.csv", CUSTOMERS)
        write(tmp_path, "events.csv", "customer_id,ts,kind\nC1,2024-03-02,login\nC1,2024-03-02,login\n")
        summary = run(engine, tmp_path, settings)
        assert summary.files[1].merged_duplicates == 1
        assert event_count(engine) == 1

    def test_gb18030_and_bom_and_xlsx_and_parquet(
        self, engine: Engine, tmp_path: Path, settings: Settings
    ) -> None:
        write(tmp_path, "customers.csv", "\ufeff" + CUSTOMERS)
        write(tmp_path, "events_gb.csv", EVENTS, encoding="gb18030")
        assert run(engine, tmp_path, settings).ok
        frame = pd.DataFrame(
            {"customer_id": ["C2"], "ts": [pd.Timestamp("2024-04-01 08:00")], "kind": ["login"]}
        )
        other = tmp_path / "more"
        other.mkdir()
        frame.to_parquet(other / "events.parquet")
        frame.assign(kind="visit").to_excel(other / "events.xlsx", index=False)
        summary = run(engine, other, settings)
        assert summary.ok, summary
        assert event_count(engine) == 5
        events = stored_events(engine)
        assert list(events[events.kind == "complaint"].text) == ["发货太慢"]

    def test_chinese_headers_with_mapping(self, engine: Engine, tmp_path: Path, settings: Settings) -> None:
        write(
            tmp_path,
            "customers.csv",
            "客户编号,客户名称,状态\nK1,杭州远景,正常\nK2,苏州明达,流失\n",
            encoding="gb18030",
        )
        write(
            tmp_path,
            "events.csv",
            "客户编号,下单时间,类型,金额\nK1,2024-05-01 10:00,下单,3000\nK2,2024-05-02 11:00,投诉,\n",
        )
        mapping = write(
            tmp_path,
            "mapping.yaml",
            "columns: {客户编号: customer_id, 客户名称: name, 状态: status,\n"
            "          下单时间: ts, 类型: kind, 金额: amount}\n"
            "values: {kind: {下单: order, 投诉: complaint}, status: {正常: active, 流失: churned}}\n",
        )
        summary = run(engine, tmp_path, settings, mapping=load_mapping(mapping))
        assert summary.ok, summary
        with engine.connect() as conn:
            status = dict(conn.execute(select(Customer.external_id, Customer.status)).all())
        assert list(stored_events(engine).kind) == ["order", "complaint"]
        assert status == {"K1": "active", "K2": "churned"}

    def test_missing_customers_created_on_request(
        self, engine: Engine, tmp_path: Path, settings: Settings
    ) -> None:
        write(tmp_path, "events.csv", EVENTS)
        summary = run(engine, tmp_path, settings, create_missing_customers=True)
        assert summary.files[0].created_customers == 2
        assert count(engine, Customer) == 2

    def test_many_batches(self, engine: Engine, tmp_path: Path, settings: Settings) -> None:
        lines = ["customer_id,ts,kind,event_id"] + [
            f"C1,2024-01-01T00:{i % 60:02d}:00,login,e{i}" for i in range(2_500)
        ]
        write(tmp_path, "customers.csv", CUSTOMERS)
        write(tmp_path, "events.csv", "\n".join(lines) + "\n")
        summary = run(engine, tmp_path, settings)
        assert summary.files[1].inserted == 2_500
        with engine.connect() as conn:
            runs = conn.execute(
                select(ImportRun.kinds, ImportRun.rows_read).where(ImportRun.kind == "events")
            ).one()
        assert runs.rows_read == 2_500
        assert runs.kinds["login"]["rows"] == 2_500


class TestUsers:
    def test_users_with_managers_in_the_same_file(
        self, engine: Engine, tmp_path: Path, settings: Settings
    ) -> None:
        content = (
            "login,email,display_name,role,team,manager\n"
            "li.na,li.na@example.com,李娜,rep,华东一组,wang.qiang\n"
            "wang.qiang,wang.qiang@example.com,王强,manager,华东一组,chen.jie\n"
            "sam,sam@example.com,Sam Lee,,West,wang.qiang\n"
        )
        summary = run(engine, write(tmp_path, "users.csv", content), settings)
        assert summary.ok, summary
        with engine.connect() as conn:
            rows = conn.execute(
                select(User.login, User.role, User.manager_id, User.id, User.display_name)
            ).all()
        by_login = {r.login: r for r in rows}
        # chen.jie is named as a manager but not listed: created, so the hierarchy is complete.
        assert set(by_login) == {"li.na", "wang.qiang", "sam", "chen.jie"}
        assert by_login["li.na"].manager_id == by_login["wang.qiang"].id
        assert by_login["wang.qiang"].manager_id == by_login["chen.jie"].id
        assert (by_login["sam"].role, by_login["chen.jie"].role) == ("rep", "manager")
        assert by_login["li.na"].display_name == "李娜"
        assert (summary.files[0].inserted, summary.files[0].created_users) == (3, 1)

    def test_changed_manager_counts_as_update(
        self, engine: Engine, tmp_path: Path, settings: Settings
    ) -> None:
        write(tmp_path, "users.csv", "login,manager\na,boss1\nb,boss1\n")
        assert run(engine, tmp_path / "users.csv", settings).ok
        write(tmp_path, "users.csv", "login,manager\na,boss2\nb,boss1\n")
        file = run(engine, tmp_path / "users.csv", settings).files[0]
        assert (file.inserted, file.updated, file.unchanged) == (0, 1, 1)


class TestRecords:
    def test_records_import_like_a_file(self, loaded: Engine, settings: Settings) -> None:
        records = [
            {
                "customer_id": "C1",
                "ts": "2024-05-01T10:00:00+08:00",
                "kind": "order",
                "amount": 250,
                "event_id": "x1",
            },
            {"customer_id": "C2", "ts": "2024-05-02", "kind": "login", "device": "ios"},
        ]
        first = import_records(loaded, records, kind=RecordKind.EVENTS, settings=settings)
        assert (first.status, first.inserted) == ("succeeded", 2)
        again = import_records(loaded, records, kind=RecordKind.EVENTS, settings=settings)
        assert (again.inserted, again.unchanged) == (0, 2)
        events = stored_events(loaded)
        login = events[(events.kind == "login") & (events.ts >= datetime(2024, 5, 1))]
        assert [json.loads(a) for a in login.attributes] == [{"device": "ios"}]

    def test_bad_records_are_named_by_position_and_store_nothing(
        self, loaded: Engine, settings: Settings
    ) -> None:
        before = snapshot(loaded)
        records = [
            {"customer_id": "C1", "ts": "2024-05-01", "kind": "order", "amount": "12x"},
            {"customer_id": "C404", "ts": "2024-05-01", "kind": "order"},
        ]
        file = import_records(loaded, records, kind=RecordKind.EVENTS, settings=settings, source="request")
        assert [str(e) for e in file.errors] == [
            "request row 1, column amount: '12x' is not a number",
            "request row 2, column customer_id: unknown customer_id 'C404' (import it in customers first, "
            "or pass --create-missing-customers)",
        ]
        assert snapshot(loaded) == before
