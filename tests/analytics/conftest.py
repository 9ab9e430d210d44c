"""Demo data as canonical Parquet files (the lake) and the same data imported into a SQLite store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy.engine import Engine

from churnradar.config import AnalyticsSettings, Settings
from churnradar.db import create_engine
from churnradar.demo.write import generate_demo
from tests.conftest import copy_store
from tests.evaluation import conftest as evaluation

END, AS_OF = evaluation.END, evaluation.AS_OF
# The store is the evaluation tests' fixtures: 300 customers, seed 11, END, imported from CSV.
demo_db, db = evaluation.demo_db, evaluation.db
LAKE_FILES = ("customers", "events", "contracts", "invoices")


def settings_with(analytics: AnalyticsSettings | None = None) -> Settings:
    """Test settings (UTC, as the demo data is written) with the given analytics backend."""
    return Settings(
        environment="test",
        secret_key="x" * 32,  # type: ignore[arg-type]
        analytics=analytics or AnalyticsSettings(),
    )


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 simulated customers as Parquet: users, customers, events, contracts, invoices (and truth.csv)."""
    folder = tmp_path_factory.mktemp("lake")
    generate_demo(folder, customers=300, seed=11, end=END, fmt="parquet")  # as tests.evaluation's demo_db
    return folder


@pytest.fixture(scope="session")
def lake(demo_files: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lake: only the four analytics tables, plus one customer the store has never heard of."""
    folder = tmp_path_factory.mktemp("lake-only")
    for name in LAKE_FILES:
        shutil.copy(demo_files / f"{name}.parquet", folder / f"{name}.parquet")
    customers = pq.read_table(demo_files / "customers.parquet").to_pandas()
    stranger = customers.iloc[:1].assign(customer_id="LAKE-ONLY")
    pd.concat([customers, stranger], ignore_index=True).to_parquet(folder / "customers.parquet", index=False)
    return folder


@pytest.fixture
def store(db: Engine) -> Engine:
    """A copy of the demo store (the same 300 customers, imported from CSV) for one test."""
    return db


@pytest.fixture
def twin(demo_db: Path, tmp_path: Path) -> Engine:
    """A second copy, to evaluate the same date on another backend and compare what each stored."""
    copy_store(demo_db, tmp_path / "twin.db")
    return create_engine(f"sqlite:///{tmp_path / 'twin.db'}")
