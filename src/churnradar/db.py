"""Engine and session factory, and the declarative base with a constraint naming convention."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, CursorResult, Integer, MetaData, Table, event
from sqlalchemy import create_engine as _sa_create_engine
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real bigint for the event table.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base for every churnradar table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # JSONB on PostgreSQL: plain json has no equality, and imports compare attributes to detect updates.
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
    }


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, for queries on a `Connection` (typed `Table`, unlike
    `model.__table__`, which SQLAlchemy types as any `FromClause`)."""
    return Base.metadata.tables[model.__tablename__]


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row a single-row INSERT stored."""
    key = result.inserted_primary_key
    if key is None:
        raise ValueError("the statement inserted no row with a primary key")
    return int(key[0])


def normalize_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Imports merge into large indexes: a 256 MiB page cache per database (main and temp) keeps that fast.
    # Temporary staging tables stay on disk beyond it (temp_store=FILE), so memory is flat in the file size.
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.close()


def create_engine(url: str) -> Engine:
    """An engine for `url` (SQLite file or PostgreSQL), with SQLite tuned for one writer and many readers."""
    normalized = normalize_url(url)
    engine = _sa_create_engine(normalized, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to `engine`."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with session_factory(engine)() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
