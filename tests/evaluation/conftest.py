"""A simulated customer base loaded once per test session, copied per test."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.demo.write import generate_demo
from churnradar.evaluation.assess import Assessment, RuleBook, assess
from churnradar.evaluation.frames import all_customers, customers_at
from churnradar.evaluation.service import active_rulebook
from churnradar.indicator import service as indicator_service
from churnradar.ingest.service import import_path
from churnradar.store import migrate
from tests.conftest import copy_store

END = date(2026, 6, 30)
AS_OF = END - timedelta(days=14)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with 300 simulated customers, loaded once per session."""
    folder = tmp_path_factory.mktemp("demo")
    generate_demo(folder / "files", customers=300, seed=11, end=END)
    path = folder / "demo.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine)
    settings = Settings(environment="test", secret_key="x" * 32)  # type: ignore[arg-type]
    assert import_path(engine, folder / "files", settings=settings).ok
    engine.dispose()
    return path


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Engine:
    copy = tmp_path / "copy.db"
    copy_store(demo_db, copy)
    return create_engine(f"sqlite:///{copy}")


def judged(db: Engine) -> tuple[RuleBook, pd.DataFrame, pd.DataFrame, Assessment]:
    """The active rule book, the indicators and current customers as of AS_OF, and their assessment."""
    book = active_rulebook(db)
    with indicator_service.open_source(db) as source:
        wide = indicator_service.compute_indicators(source, [AS_OF])
    with db.connect() as conn:
        customers = customers_at(all_customers(conn), AS_OF, book.templates)
    return book, wide, customers, assess(wide, customers, book)
