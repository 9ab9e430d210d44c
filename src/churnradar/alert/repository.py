"""Alert storage: load the open state for a step; write a step's result back in the caller's transaction."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar.alert.lifecycle import HOLDOUT, KEY, SILENCED, STATE_COLUMNS, StepResult
from churnradar.db import inserted_id, table_of
from churnradar.models import Alert, AlertEvent, AlertStatus, Customer, CustomerRisk, Silence

ALERTS = table_of(Alert)
EVENTS = table_of(AlertEvent)
SILENCES = table_of(Silence)
RISK = table_of(CustomerRisk)
CUSTOMERS = table_of(Customer)


def open_state(conn: Connection) -> pd.DataFrame:
    """Every open alert as a lifecycle state frame, with its database id."""
    columns = [ALERTS.c.id, *(ALERTS.c[c] for c in STATE_COLUMNS)]
    rows = conn.execute(select(*columns).where(ALERTS.c.status == AlertStatus.OPEN.value)).all()
    frame = pd.DataFrame(rows, columns=["id", *STATE_COLUMNS])
    return frame.astype({"customer_id": "int64", "false_streak": "int64"})


def recently_resolved(conn: Connection, as_of: date, days: int) -> pd.DataFrame:
    """(customer_id, rule, resolved_on) of alerts resolved within `days` before `as_of`, for cooldowns."""
    since = as_of - timedelta(days=days)
    query = select(ALERTS.c.customer_id, ALERTS.c.rule, ALERTS.c.resolved_on).where(
        ALERTS.c.status == AlertStatus.RESOLVED.value, ALERTS.c.resolved_on > since
    )
    return pd.DataFrame(conn.execute(query).all(), columns=[*KEY, "resolved_on"])


def active_silences(conn: Connection, at: datetime, until: datetime | None = None) -> pd.DataFrame:
    """Silences in force at any moment of [`at`, `until`) (at `at` alone without `until`): (customer_id,
    rule), either may be null (= any)."""
    end = until if until is not None and until > at else at + timedelta(microseconds=1)
    query = select(SILENCES.c.customer_id, SILENCES.c.rule).where(
        SILENCES.c.starts_at < end, SILENCES.c.ends_at > at, SILENCES.c.ends_at > SILENCES.c.starts_at
    )
    return pd.DataFrame(conn.execute(query).all(), columns=["customer_id", "rule"])


def owners(conn: Connection) -> pd.Series:
    """Owner id of every customer (null when unowned), for the per-owner cap."""
    rows = conn.execute(select(CUSTOMERS.c.id, CUSTOMERS.c.owner_id)).all()
    return pd.Series({int(c): o for c, o in rows}, dtype="object")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def save_step(
    conn: Connection, before: pd.DataFrame, result: StepResult, *, as_of: date, at: datetime
) -> None:
    """Write what a step changed: new alerts, updated open ones, resolved ones, and every event."""
    ids = {(int(c), str(r)): int(i) for i, c, r in before[["id", *KEY]].itertuples(index=False, name=None)}
    state = result.state
    stay = state[[(int(c), str(r)) in ids for c, r in state[KEY].itertuples(index=False, name=None)]]
    new = state[[(int(c), str(r)) not in ids for c, r in state[KEY].itertuples(index=False, name=None)]]
    changing = [c for c in STATE_COLUMNS if c not in KEY]
    updates = [
        {"_id": ids[(int(r["customer_id"]), str(r["rule"]))], **{f"v_{c}": _plain(r[c]) for c in changing}}
        for r in _records(stay)
    ]
    if updates:  # one executemany, not a statement per alert
        values: dict[str, BindParameter[Any]] = {
            c: bindparam(f"v_{c}") for c in changing
        }  # column names are reserved
        conn.execute(update(ALERTS).where(ALERTS.c.id == bindparam("_id")).values(values), updates)
    if not new.empty:
        rows = [
            {**{k: _plain(v) for k, v in r.items()}, "status": AlertStatus.OPEN.value}
            for r in _records(new[STATE_COLUMNS])
        ]
        conn.execute(insert(ALERTS), rows)
    for customer_id, rule, resolved_on in result.resolved[[*KEY, "resolved_on"]].itertuples(
        index=False, name=None
    ):
        key = (int(customer_id), str(rule))
        conn.execute(
            update(ALERTS)
            .where(ALERTS.c.id == ids[key])
            .values(status=AlertStatus.RESOLVED.value, resolved_on=resolved_on, last_evaluated_on=as_of)
        )
    if result.events.empty:
        return
    lookup = select(ALERTS.c.id, ALERTS.c.customer_id, ALERTS.c.rule).where(
        ALERTS.c.last_evaluated_on == as_of,
        or_(
            ALERTS.c.status == AlertStatus.OPEN.value,
            and_(ALERTS.c.status == AlertStatus.RESOLVED.value, ALERTS.c.resolved_on == as_of),
        ),
    )
    alert_ids = {(int(c), str(r)): int(i) for i, c, r in conn.execute(lookup)}
    rows = [
        {
            "alert_id": alert_ids[(int(e["customer_id"]), str(e["rule"]))],
            "as_of": as_of,
            "at": at,
            "kind": e["kind"],
            "from_level": _plain(e["from_level"]),
            "to_level": _plain(e["to_level"]),
            "cause": e["cause"],
        }
        for e in _records(result.events)
    ]
    conn.execute(insert(EVENTS), rows)


def open_alert_ids(conn: Connection, ids: Collection[int]) -> dict[tuple[int, str], int]:
    """(customer, rule) -> id of its open alert."""
    query = select(ALERTS.c.id, ALERTS.c.customer_id, ALERTS.c.rule).where(
        ALERTS.c.status == AlertStatus.OPEN.value, ALERTS.c.customer_id.in_(list(ids))
    )
    return {(int(c), str(r)): int(i) for i, c, r in conn.execute(query)}


def hold_out(
    conn: Connection, customer_ids: Collection[int], *, as_of: date, at: datetime, cause: str
) -> int:
    """Mute every open alert of these customers `holdout`, each with an alert event; returns alerts muted."""
    query = select(ALERTS.c.id, ALERTS.c.level).where(
        ALERTS.c.status == AlertStatus.OPEN.value, ALERTS.c.customer_id.in_(list(customer_ids))
    )
    alerts = list(conn.execute(query))
    if not alerts:
        return 0
    conn.execute(update(ALERTS).where(ALERTS.c.id.in_([a.id for a in alerts])).values(muted=HOLDOUT))
    events = [
        {"alert_id": a.id, "as_of": as_of, "at": at, "kind": "muted", "to_level": a.level, "cause": cause}
        for a in alerts
    ]
    conn.execute(insert(EVENTS), events)
    return len(alerts)


def replace_risk(conn: Connection, risk: pd.DataFrame) -> None:
    """Replace every customer's current risk row (one statement set, inside the evaluation transaction)."""
    conn.execute(delete(RISK))
    if not risk.empty:
        conn.execute(insert(RISK), [{k: _plain(v) for k, v in r.items()} for r in _records(risk)])


def _silence_query() -> Any:
    return select(
        SILENCES.c.id,
        CUSTOMERS.c.external_id,
        SILENCES.c.rule,
        SILENCES.c.starts_at,
        SILENCES.c.ends_at,
        SILENCES.c.created_by,
        SILENCES.c.reason,
    ).outerjoin(CUSTOMERS, CUSTOMERS.c.id == SILENCES.c.customer_id)


def silences(conn: Connection, *, where: ColumnElement[bool], now: datetime | None) -> list[Row[Any]]:
    """Silences matching `where`, newest first; with `now`, only those not over by then."""
    query = _silence_query().where(where).order_by(SILENCES.c.id.desc())
    if now is not None:
        query = query.where(SILENCES.c.ends_at > now, SILENCES.c.ends_at > SILENCES.c.starts_at)
    return list(conn.execute(query))


def silence(conn: Connection, silence_id: int, *, where: ColumnElement[bool]) -> Row[Any] | None:
    """One silence by id if it matches `where`."""
    return conn.execute(_silence_query().where(SILENCES.c.id == silence_id, where)).first()


def insert_silence(conn: Connection, **values: Any) -> int:
    """Store a silence; its id."""
    result = conn.execute(insert(SILENCES).values(**values))
    return inserted_id(result)


def end_silence(conn: Connection, silence_id: int, *, at: datetime) -> None:
    """Set a silence's end to `at`."""
    conn.execute(update(SILENCES).where(SILENCES.c.id == silence_id).values(ends_at=at))


def customer_alerts(
    session: Session, customer_id: int, limit: int = 200
) -> tuple[list[Alert], dict[int, list[AlertEvent]]]:
    """A customer's alerts (open first, then newest) and each one's changes, newest first."""
    alerts = list(
        session.scalars(
            select(Alert)
            .where(Alert.customer_id == customer_id)
            .order_by(
                (Alert.status == AlertStatus.OPEN.value).desc(), Alert.opened_on.desc(), Alert.id.desc()
            )
            .limit(limit)
        )
    )
    history: dict[int, list[AlertEvent]] = {a.id: [] for a in alerts}
    if alerts:
        changes = select(AlertEvent).where(AlertEvent.alert_id.in_(list(history)))
        for event in session.scalars(changes.order_by(AlertEvent.as_of.desc(), AlertEvent.id.desc())):
            history[event.alert_id].append(event)
    return alerts, history


def alert_spans(
    conn: Connection, since: date, *, where: ColumnElement[bool]
) -> list[tuple[int, str, date, date | None]]:
    """(customer, level, opened on, resolved on) of the unsilenced alerts matching `where` open at some time
    since `since`."""
    query = select(ALERTS.c.customer_id, ALERTS.c.level, ALERTS.c.opened_on, ALERTS.c.resolved_on).where(
        or_(ALERTS.c.resolved_on.is_(None), ALERTS.c.resolved_on > since),
        ALERTS.c.muted.is_distinct_from(SILENCED),
        where,
    )
    return [(int(c), str(lv), o, r) for c, lv, o, r in conn.execute(query)]


def alerts_per_day(
    conn: Connection, since: date, *, where: ColumnElement[bool]
) -> tuple[list[tuple[date, int]], list[tuple[date, int]]]:
    """(day, count) of the alerts matching `where` opened, and of those resolved, each day since `since`."""
    opened = (
        select(ALERTS.c.opened_on, func.count())
        .where(ALERTS.c.opened_on >= since, where)
        .group_by(ALERTS.c.opened_on)
    )
    resolved = (
        select(ALERTS.c.resolved_on, func.count())
        .where(ALERTS.c.resolved_on >= since, where)
        .group_by(ALERTS.c.resolved_on)
    )
    return (
        [(day, int(n)) for day, n in conn.execute(opened)],
        [(day, int(n)) for day, n in conn.execute(resolved)],
    )


def open_alerts_by_rule(
    conn: Connection, limit: int, *, where: ColumnElement[bool]
) -> list[tuple[str, str, int]]:
    """(template, rule, open alerts) of the rules behind most open unsilenced alerts matching `where`."""
    count = func.count()
    query = (
        select(ALERTS.c.template, ALERTS.c.rule, count)
        .where(ALERTS.c.status == AlertStatus.OPEN.value, ALERTS.c.muted.is_distinct_from(SILENCED), where)
        .group_by(ALERTS.c.template, ALERTS.c.rule)
        .order_by(count.desc(), ALERTS.c.rule)
        .limit(limit)
    )
    return [(t, r, int(n)) for t, r, n in conn.execute(query)]
