"""Where indicators compute: Ibis connections to DuckDB (over SQLite, PostgreSQL or Parquet) or PostgreSQL."""
