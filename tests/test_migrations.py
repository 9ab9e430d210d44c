"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL.

A model changed without a migration (or a migration that drifts from its model) shows up here as Alembic's
autogenerate diff, before a deployed database and the code disagree.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Double, Float
from sqlalchemy.engine import Engine

from churnradar.models import Base


def _compare_type(
    context: Any, inspected_column: Any, metadata_column: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    # FLOAT and DOUBLE are one type on both databases (REAL on SQLite, double precision on PostgreSQL).
    if isinstance(inspected_type, Float) and isinstance(metadata_type, Float | Double):
        return False
    return None  # Alembic's own comparison


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": _compare_type})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
