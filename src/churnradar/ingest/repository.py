"""Set-based SQL for imports: a temporary staging table per file, checks on it, and one merge into the store.

Every statement is built with SQLAlchemy Core (no text pasted into SQL) and runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from churnradar.ingest.schemas import KindSpec, RecordKind, ValueType
from churnradar.ingest.validate import EVENT_KEY, ROW
from churnradar.lake.schemas import MergeCounts
from churnradar.models import (
    AuditEntry,
    Contract,
    Customer,
    ImportRun,
    ImportStatus,
    OwnerChange,
    Team,
    User,
)

_SQL_TYPES: dict[ValueType, type[TypeEngine[Any]]] = {
    ValueType.TEXT: Text,
    ValueType.TIMESTAMP: DateTime,
    ValueType.DATE: Date,
    ValueType.NUMBER: Float,
    ValueType.BOOLEAN: Boolean,
}
CUSTOMER_REF, OWNER_REF, TEAM_REF = "customer_ref", "owner_ref", "team_ref"
TARGETS: dict[RecordKind, Table] = {
    RecordKind.USERS: User.__table__,  # type: ignore[dict-item]
    RecordKind.CUSTOMERS: Customer.__table__,  # type: ignore[dict-item]
    RecordKind.CONTRACTS: Contract.__table__,  # type: ignore[dict-item]
}  # events and invoices go to the lake (ingest.events)
# canonical column → (target column, staging column that carries its stored value)
_RENAMES: dict[RecordKind, dict[str, tuple[str, str]]] = {
    RecordKind.USERS: {"team": ("team_id", TEAM_REF), "manager": ("", "")},  # manager: assign_managers
    RecordKind.CUSTOMERS: {
        "customer_id": ("external_id", "customer_id"),
        "owner": ("owner_id", OWNER_REF),
        "team": ("team_id", TEAM_REF),
    },
    RecordKind.CONTRACTS: {
        "contract_id": ("external_id", "contract_id"),
        "customer_id": ("customer_id", CUSTOMER_REF),
    },
}


def create_stage(conn: Connection, spec: KindSpec) -> Table:
    """A temporary table holding one file's validated rows, with room for resolved ids."""
    columns: list[Column[Any]] = [Column(ROW, Integer, nullable=False)]
    columns += [Column(c.name, _SQL_TYPES[c.type]()) for c in spec.columns]
    columns += [Column("attributes", Text), Column(EVENT_KEY, String(200))]
    columns += [Column(name, Integer) for name in (CUSTOMER_REF, OWNER_REF, TEAM_REF)]
    stage = Table(f"stage_{uuid.uuid4().hex[:12]}", MetaData(), *columns, prefixes=["TEMPORARY"])
    stage.create(conn)
    return stage


def _cells(column: pd.Series, sql_type: TypeEngine[Any]) -> list[Any]:
    # Plain Python values (None for missing); times as text in SQLAlchemy's own storage format, which both
    # SQLite (stored as is) and PostgreSQL's COPY accept, so no per-value conversion runs in Python.
    missing = column.isna().to_numpy()
    if isinstance(sql_type, DateTime):
        values = column.dt.strftime("%Y-%m-%d %H:%M:%S.%f").to_numpy(dtype=object)
    elif isinstance(sql_type, Date):
        values = column.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    else:
        values = np.asarray(column.tolist(), dtype=object)
    if missing.any():
        values[missing] = None
    return values.tolist()  # type: ignore[no-any-return]


def stage_frame(conn: Connection, stage: Table, frame: pd.DataFrame) -> None:
    """Append validated rows to the staging table in bulk (executemany on SQLite, COPY on PostgreSQL)."""
    if frame.empty:
        return
    names = [c for c in frame.columns if c in stage.c]
    rows = list(zip(*(_cells(frame[n], stage.c[n].type) for n in names), strict=True))
    raw = conn.connection.driver_connection
    assert raw is not None
    columns = ", ".join(f'"{n}"' for n in names)  # names come from our own spec, never from user text
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f'COPY "{stage.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in names)
    cursor = raw.cursor()
    try:
        statement = f'INSERT INTO "{stage.name}" ({columns}) VALUES ({placeholders})'  # noqa: S608 - our names
        cursor.executemany(statement, rows)
    finally:
        cursor.close()


def clear_stage(conn: Connection, stage: Table) -> None:
    """Empty the staging table (the import restarts with another reader)."""
    conn.execute(delete(stage))


def duplicate_rows(
    conn: Connection, stage: Table, spec: KindSpec, limit: int
) -> tuple[int, list[tuple[int, str, int]]]:
    """Rows whose id already appeared earlier in the same file: (count, [(row, id, first row)])."""
    key = stage.c[spec.key]
    first = (
        select(key.label("k"), func.min(stage.c[ROW]).label("first_row"))
        .where(key.is_not(None))
        .group_by(key)
        .having(func.count() > 1)
        .subquery()
    )
    # One scan answers the usual question (no duplicates); the listing runs only when there are some.
    if conn.execute(select(first.c.k).limit(1)).first() is None:
        return 0, []
    query = select(stage.c[ROW], key, first.c.first_row).join(first, key == first.c.k)
    query = query.where(stage.c[ROW] != first.c.first_row)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(stage.c[ROW]).limit(limit)).all()
    return int(total), [(int(r[0]), str(r[1]), int(r[2])) for r in rows]


def resolve_customers(conn: Connection, stage: Table) -> None:
    """Fill in each staged row's internal customer id from its source customer_id."""
    customers = TARGETS[RecordKind.CUSTOMERS]
    lookup = select(customers.c.id).where(customers.c.external_id == stage.c.customer_id).scalar_subquery()
    conn.execute(update(stage).values({CUSTOMER_REF: lookup}))


def unknown_customers(conn: Connection, stage: Table, limit: int) -> tuple[int, list[tuple[int, str]]]:
    """Rows naming a customer_id that is not in the store: (count, [(row, customer_id)])."""
    where = stage.c[CUSTOMER_REF].is_(None)
    total = conn.execute(select(func.count()).select_from(stage).where(where)).scalar_one()
    rows = conn.execute(
        select(stage.c[ROW], stage.c.customer_id).where(where).order_by(stage.c[ROW]).limit(limit)
    )
    return int(total), [(int(r[0]), str(r[1])) for r in rows]


def create_missing_customers(conn: Connection, stage: Table) -> int:
    """Create a bare customer for each unknown customer_id in the stage (contracts, invoices); how many."""
    customers = TARGETS[RecordKind.CUSTOMERS]
    missing = select(stage.c.customer_id).where(stage.c[CUSTOMER_REF].is_(None)).distinct()
    # Counted up front: drivers disagree on rowcount for INSERT ... SELECT (psycopg reports -1).
    created = conn.execute(select(func.count()).select_from(missing.subquery())).scalar_one()
    if created:
        conn.execute(insert(customers).from_select(["external_id"], missing))
    resolve_customers(conn, stage)
    return int(created)


def _ensure_teams(conn: Connection, stage: Table) -> None:
    teams: Table = Team.__table__  # type: ignore[assignment]
    new = select(stage.c.team).where(stage.c.team.is_not(None)).distinct()
    new = new.where(~exists().where(teams.c.name == stage.c.team))
    conn.execute(insert(teams).from_select(["name"], new))
    lookup = select(teams.c.id).where(teams.c.name == stage.c.team).scalar_subquery()
    conn.execute(update(stage).values({TEAM_REF: lookup}))


def ensure_people(conn: Connection, stage: Table, kind: RecordKind, present: set[str]) -> int:
    """Create the teams and owners (or managers) a file names; fill their ids into the stage."""
    users = TARGETS[RecordKind.USERS]
    if "team" in present:
        _ensure_teams(conn, stage)
    person = "owner" if kind is RecordKind.CUSTOMERS else "manager"
    if person not in present:
        return 0
    login = stage.c[person]
    new = select(
        login,
        case((login.like("%@%"), login), else_=None),
        func.min(stage.c[TEAM_REF]) if kind is RecordKind.CUSTOMERS else literal(None),
        literal("manager" if kind is RecordKind.USERS else "rep"),
    ).where(login.is_not(None))
    if kind is RecordKind.USERS:
        listed = stage.alias("listed")
        new = new.where(~exists().where(listed.c.login == login))
    new = new.where(~exists().where(users.c.login == login)).group_by(login)
    created = conn.execute(select(func.count()).select_from(new.subquery())).scalar_one()
    conn.execute(insert(users).from_select(["login", "email", "team_id", "role"], new))
    if kind is RecordKind.CUSTOMERS:
        lookup = select(users.c.id).where(users.c.login == login).scalar_subquery()
        conn.execute(update(stage).values({OWNER_REF: lookup}))
    return int(created)


def record_owner_changes(conn: Connection, stage: Table, *, at: datetime, source: str) -> int:
    """Note every stored customer whose owner this file changes (its history; tasks follow from it)."""
    customers = TARGETS[RecordKind.CUSTOMERS]
    changes: Table = OwnerChange.__table__  # type: ignore[assignment]
    moved = (
        select(customers.c.id, customers.c.owner_id, stage.c[OWNER_REF], literal(at), literal(source))
        .join(stage, customers.c.external_id == stage.c.customer_id)
        .where(customers.c.owner_id.is_distinct_from(stage.c[OWNER_REF]))
    )
    count = conn.execute(select(func.count()).select_from(moved.subquery())).scalar_one()
    if count:
        columns = ["customer_id", "from_owner_id", "to_owner_id", "changed_at", "source"]
        conn.execute(insert(changes).from_select(columns, moved))
        _audit_owner_changes(conn, stage, at=at, source=source)
    return int(count)


def _audit_owner_changes(conn: Connection, stage: Table, *, at: datetime, source: str) -> None:
    # One audit entry per moved customer, as an owner change in the web app writes (`change_owner`).
    customers, users = TARGETS[RecordKind.CUSTOMERS], TARGETS[RecordKind.USERS]
    before, after = users.alias("before"), users.alias("after")
    moved = conn.execute(
        select(customers.c.external_id, before.c.login, after.c.login)
        .join(stage, customers.c.external_id == stage.c.customer_id)
        .outerjoin(before, before.c.id == customers.c.owner_id)
        .outerjoin(after, after.c.id == stage.c[OWNER_REF])
        .where(customers.c.owner_id.is_distinct_from(stage.c[OWNER_REF]))
    ).all()
    via = source if len(source) <= 200 else source[:197] + "..."
    entries = [
        {
            "at": at,
            "actor_id": None,
            "actor": "import",
            "action": "change_owner",
            "entity": "customer",
            "entity_id": str(external_id),
            "details": {"from": old, "to": new, "via": "import", "source": via},
        }
        for external_id, old, new in moved
    ]
    conn.execute(insert(AUDIT_LOG), entries)


def manager_changed(stage: Table) -> ColumnElement[bool]:
    """A stored user whose manager differs from the one the staged row names."""
    users = TARGETS[RecordKind.USERS]
    manager = users.alias("manager")
    named = select(manager.c.id).where(manager.c.login == stage.c.manager).scalar_subquery()
    return users.c.manager_id.is_distinct_from(named)


def assign_managers(conn: Connection, stage: Table) -> None:
    """After users are merged (managers may be new in the same file), set each user's manager."""
    users = TARGETS[RecordKind.USERS]
    manager = users.alias("manager")
    named = select(manager.c.id).where(manager.c.login == stage.c.manager).scalar_subquery()
    conn.execute(update(users).where(users.c.login == stage.c.login).values(manager_id=named))


def _distinct(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[bool]:
    return a.is_distinct_from(b)


def value_columns(
    spec: KindSpec, present: set[str], stage: Table, target: Table, dialect: str
) -> dict[str, ColumnElement[Any]]:
    """Target column → staged expression, for the columns this file carries."""
    renames = _RENAMES[spec.kind]
    values: dict[str, ColumnElement[Any]] = {}
    for name in present:
        target_name, stage_name = renames.get(name, (name, name))
        if target_name:
            values[target_name] = stage.c[stage_name]
    if "attributes" in present:
        json_type: TypeEngine[Any] = JSONB() if dialect == "postgresql" else JSON()
        values["attributes"] = (
            cast(stage.c.attributes, json_type) if dialect == "postgresql" else stage.c.attributes
        )
    return {k: v for k, v in values.items() if k in target.c}


def match_condition(spec: KindSpec, stage: Table, target: Table) -> ColumnElement[bool]:
    """How a staged row finds its stored twin."""
    target_key = "login" if spec.kind is RecordKind.USERS else "external_id"
    return target.c[target_key] == stage.c[spec.key]


def merge(
    conn: Connection,
    stage: Table,
    target: Table,
    match: ColumnElement[bool],
    values: dict[str, ColumnElement[Any]],
    *,
    also_changed: ColumnElement[bool] | None = None,
    insert_only: dict[str, ColumnElement[Any]] | None = None,
) -> MergeCounts:
    """Insert new rows, update changed ones, leave identical ones alone; count each.

    `also_changed` marks rows as updated for a column that a later step writes (a user's manager);
    `insert_only` columns are written for new rows and never compared (the import that created an event).
    """
    total = conn.execute(select(func.count()).select_from(stage)).scalar_one()
    matched = conn.execute(select(func.count()).select_from(stage).where(exists().where(match))).scalar_one()
    conditions = [_distinct(target.c[name], expr) for name, expr in values.items()]
    if also_changed is not None:
        conditions.append(also_changed)
    changed_cond = or_(*conditions)
    changed = conn.execute(
        select(func.count()).select_from(stage).join(target, match).where(changed_cond)
    ).scalar_one()
    if changed:
        conn.execute(update(target).where(match).where(changed_cond).values(values))
    columns = {**values, **(insert_only or {})}
    new_rows = select(*columns.values())
    if matched:  # a first import of new rows skips the per-row lookup in the target's unique index
        new_rows = new_rows.where(~exists().where(match))
    if total - matched:
        conn.execute(insert(target).from_select(list(columns), new_rows))
    return MergeCounts(inserted=int(total - matched), updated=int(changed), unchanged=int(matched - changed))


IMPORT_RUNS: Table = ImportRun.__table__  # type: ignore[assignment]
AUDIT_LOG: Table = AuditEntry.__table__  # type: ignore[assignment]


def start_run(conn: Connection, *, source: str, kind: str, started_at: datetime) -> int:
    """Open an import-log row inside the import's transaction; events point at it."""
    values = {"rows_read": 0, "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    result = conn.execute(
        insert(IMPORT_RUNS).values(
            source=source, kind=kind, status=ImportStatus.RUNNING.value, started_at=started_at, **values
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def finish_run(conn: Connection, run_id: int, **values: Any) -> None:
    """Record how an import ended."""
    conn.execute(update(IMPORT_RUNS).where(IMPORT_RUNS.c.id == run_id).values(**values))


def recent_runs(session: Session, limit: int) -> Sequence[ImportRun]:
    """The latest import-log rows, newest first, files and API batches alike."""
    return session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)).all()


def log_rejected_run(conn: Connection, **values: Any) -> None:
    """Record a rejected import (in its own transaction: the import's own was rolled back)."""
    conn.execute(insert(IMPORT_RUNS).values(**values))


def drop_stage(conn: Connection, stage: Table) -> None:
    """Remove the staging table."""
    stage.drop(conn)


# While an events run is pending, its row's `errors` lists the customers it created (store ids), so that a
# run that fails, or dies, before its lake commit can remove them again (see ingest.event_commit).
CREATED_CUSTOMERS = "created_customers"


def note_created_customers(conn: Connection, run_id: int, ids: list[int]) -> None:
    """Record on a pending run the customers it created (in the transaction that creates them)."""
    finish_run(conn, run_id, errors={"count": 0, "first": [], CREATED_CUSTOMERS: ids})


def created_customers(conn: Connection, run_id: int) -> list[int]:
    """The customers a pending run noted as its own."""
    errors = conn.execute(select(IMPORT_RUNS.c.errors).where(IMPORT_RUNS.c.id == run_id)).scalar_one()
    return [int(i) for i in (errors or {}).get(CREATED_CUSTOMERS, [])]


def remove_bare_customers(conn: Connection, ids: list[int]) -> int:
    """Delete those of `ids` that are still bare (no details or contracts); how many. The caller leaves out
    the customers with events or invoices in the lake."""
    customers, contracts = TARGETS[RecordKind.CUSTOMERS], TARGETS[RecordKind.CONTRACTS]
    bare = [customers.c[n].is_(None) for n in ("name", "owner_id", "team_id", "segment", "signup_date")]
    removed = 0
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        doomed = select(customers.c.id).where(
            customers.c.id.in_(chunk),
            *bare,
            ~exists().where(contracts.c.customer_id == customers.c.id),
        )
        found = [int(i) for i in conn.execute(doomed).scalars()]
        if found:
            conn.execute(delete(customers).where(customers.c.id.in_(found)))
        removed += len(found)
    return removed


def contract_customers(conn: Connection, contract_ids: list[str]) -> dict[str, str]:
    """The stored customer (its external id) of each of these contract ids that exists."""
    contracts, customers = TARGETS[RecordKind.CONTRACTS], TARGETS[RecordKind.CUSTOMERS]
    found: dict[str, str] = {}
    for start in range(0, len(contract_ids), 5_000):
        query = (
            select(contracts.c.external_id, customers.c.external_id)
            .join(customers, customers.c.id == contracts.c.customer_id)
            .where(contracts.c.external_id.in_(contract_ids[start : start + 5_000]))
        )
        found.update({str(k): str(c) for k, c in conn.execute(query)})
    return found


def customer_external_ids(conn: Connection, ids: list[int]) -> dict[int, str]:
    """Internal customer id -> external id, for these ids."""
    customers = TARGETS[RecordKind.CUSTOMERS]
    found: dict[int, str] = {}
    for start in range(0, len(ids), 5_000):
        query = select(customers.c.id, customers.c.external_id).where(
            customers.c.id.in_(ids[start : start + 5_000])
        )
        found.update({int(i): str(e) for i, e in conn.execute(query)})
    return found
