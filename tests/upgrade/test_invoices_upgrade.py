"""`churnradar init` on a store from before migration 0012 moves its invoices into the lake once."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from churnradar.cli.main import app
from churnradar.lake.invoices import count_invoices
from churnradar.lake.service import lake_for
from churnradar.lake.upgrade import STORE_INVOICES, move_store_history, store_rows
from churnradar.models import Customer
from churnradar.store import current_revision
from tests.conftest import lake_invoices, store_invoices
from tests.upgrade.helpers import alembic_downgrade


class StoppedError(Exception):
    """Stands for a kill between two commits."""


@pytest.fixture
def store(engine: Engine) -> Engine:
    """A store at migration 0011 with 30 invoices of 3 customers in its own table."""
    alembic_downgrade(engine, "0011")
    with engine.begin() as conn:
        conn.execute(insert(Customer), [{"id": c, "external_id": f"C{c}"} for c in (1, 2, 3)])
        conn.execute(
            insert(STORE_INVOICES),
            [
                {
                    "id": n + 1,
                    "external_id": f"I-{n}",
                    "customer_id": n % 3 + 1,
                    "due_date": date(2024, 1, 1 + n),
                    "amount": 100.0 + n,
                    "issued_at": datetime(2023, 12, 1 + n % 28),
                    "paid_at": datetime(2024, 1, 2 + n) if n % 2 else None,
                    "paid_amount": 100.0 + n if n % 2 else None,
                    "attributes": {"region": "华东"} if n % 5 == 0 else None,
                }
                for n in range(30)
            ],
        )
    return engine


def _expected() -> list[tuple[str, ...]]:
    rows = []
    for n in range(30):
        paid = n % 2 == 1
        rows.append(
            (
                str(n % 3 + 1),
                f"I-{n}",
                str(date(2024, 1, 1 + n)),
                str(100.0 + n),
                str(datetime(2023, 12, 1 + n % 28)),
                str(datetime(2024, 1, 2 + n)) if paid else "None",
                str(100.0 + n) if paid else "None",
                '{"region": "华东"}' if n % 5 == 0 else "None",
                "None",
            )
        )
    return sorted(rows)


def test_moves_the_invoices_then_empties_the_store_table(store: Engine) -> None:
    report = move_store_history(store, chunk_rows=7)
    assert (report.invoices_moved, report.store_invoices_removed) == (30, 30)
    assert store_rows(store)["invoices"] == 0
    got = lake_invoices(store)
    # attributes: the database's JSON text, compared as parsed values
    assert [r[:7] for r in got] == [r[:7] for r in _expected()]
    assert [r[7].replace(" ", "") for r in got] == [r[7].replace(" ", "") for r in _expected()]
    again = move_store_history(store, chunk_rows=7)
    assert not again.moved_anything
    assert count_invoices(lake_for(store)) == 30


def test_an_interrupted_move_resumes_without_duplicates(store: Engine) -> None:
    def stop(message: str) -> None:
        if message.startswith("invoices: 14"):
            raise StoppedError

    with pytest.raises(StoppedError):
        move_store_history(store, chunk_rows=7, progress=stop)
    assert store_rows(store)["invoices"] == 16  # two chunks moved and removed
    report = move_store_history(store, chunk_rows=7)
    assert (report.invoices_moved, report.store_invoices_removed) == (16, 16)
    assert len(lake_invoices(store)) == 30


def test_the_lakes_own_copy_of_an_invoice_wins(store: Engine) -> None:
    newer = {"customer_id": 1, "invoice_id": "I-0", "due_date": date(2024, 1, 1), "amount": 999.0}
    store_invoices(store, [newer], operation="import:1")  # an import into the lake before init
    report = move_store_history(store, chunk_rows=7)
    assert (report.invoices_moved, report.store_invoices_removed) == (29, 30)
    amounts = {r[1]: r[3] for r in lake_invoices(store)}
    assert (len(amounts), amounts["I-0"]) == (30, "999.0")


def test_init_moves_them_and_drops_the_table(store: Engine, tmp_path: Path) -> None:
    url = store.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["init", "--db", url])
    assert result.exit_code == 0, result.output
    assert "30 invoices" in result.output
    assert current_revision(store) is not None
    assert "invoices" not in inspect(store).get_table_names()
    assert count_invoices(lake_for(store)) == 30
