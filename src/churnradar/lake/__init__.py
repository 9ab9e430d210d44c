"""The analytical lake: Delta Lake tables of behaviour history (events, indicator snapshots) beside the store.

Written by delta-rs (ACID commits over Parquet, no JVM), one writer per table at a time under a file lock
that dies with its process, read by DuckDB from a table's current files. The operational database is never
opened by a second SQLite library: what the engines need from it travels through SQLAlchemy.
"""
