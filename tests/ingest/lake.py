"""Reading the lake's events in ingest tests (DuckDB over the Delta table's current files)."""

from __future__ import annotations

import duckdb
import pandas as pd
from sqlalchemy.engine import Engine

from churnradar.lake.events import events_relation
from churnradar.lake.service import lake_for


def stored_events(engine: Engine) -> pd.DataFrame:
    """Every stored event (EVENTS_SCHEMA's columns), ordered by time, kind and key."""
    con = duckdb.connect()
    try:
        frame: pd.DataFrame = events_relation(lake_for(engine), con).order("ts, kind, event_key").df()
        return frame
    finally:
        con.close()


def event_count(engine: Engine) -> int:
    """How many events the lake holds."""
    return len(stored_events(engine))
