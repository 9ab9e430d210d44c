"""The customer table an evaluation works on: who is still a customer at the as-of date, with their fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from churnradar.analytics.source import Source
from churnradar.db import table_of
from churnradar.evaluation.labels import label_snapshots
from churnradar.models import Customer, Team, User
from churnradar.rule.fields import CUSTOMER_FIELDS, customer_fields
from churnradar.rule.language import FieldType
from churnradar.rule.schemas import Template
from churnradar.rule.template_settings import TemplateChoice, template_slugs

CUSTOMERS = table_of(Customer)
USERS = table_of(User)
TEAMS = table_of(Team)
TEXT_FIELDS = ("tier", "segment", "industry", "team", "owner", "status")


def all_customers(conn: Connection, *, external_id: str | None = None) -> pd.DataFrame:
    """Every customer (or the one with `external_id`) with owner login and team name; dates as datetime64."""
    owner, team = USERS.alias("owner"), TEAMS.alias("team")
    query = (
        select(
            CUSTOMERS.c.id.label("customer_id"),
            CUSTOMERS.c.external_id,
            CUSTOMERS.c.name,
            CUSTOMERS.c.tier,
            CUSTOMERS.c.segment,
            CUSTOMERS.c.industry,
            team.c.name.label("team"),
            owner.c.login.label("owner"),
            CUSTOMERS.c.owner_id,
            CUSTOMERS.c.status,
            CUSTOMERS.c.signup_date,
            CUSTOMERS.c.churned_at,
            CUSTOMERS.c.attributes,
        )
        .select_from(CUSTOMERS)
        .outerjoin(owner, owner.c.id == CUSTOMERS.c.owner_id)
        .outerjoin(team, team.c.id == CUSTOMERS.c.team_id)
    )
    if external_id is not None:
        query = query.where(CUSTOMERS.c.external_id == external_id)
    frame = pd.DataFrame(conn.execute(query).all(), columns=list(query.selected_columns.keys()))
    for column in ("signup_date", "churned_at"):
        frame[column] = pd.to_datetime(frame[column])
    return with_custom_fields(frame)


def with_custom_fields(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a column per custom customer field rules may read, from its `attributes` (dropped)."""
    attributes = frame.pop("attributes").map(lambda a: a if isinstance(a, dict) else {})
    for name, kind in customer_fields().items():
        if name in CUSTOMER_FIELDS:
            continue
        values = attributes.map(lambda a, n=name: a.get(n))
        if kind is FieldType.NUMBER:
            frame[name] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            frame[name] = values.map(lambda v: None if v is None else str(v)).astype(object)
    return frame


def customers_at(
    customers: pd.DataFrame,
    as_of: date,
    templates: Mapping[str, Template],
    choices: Sequence[TemplateChoice] = (),
) -> pd.DataFrame:
    """Those still customers at `as_of` (signed up before, not lost before), with tenure and template: the
    first matching template choice's (by industry or segment), else the industry's, else general."""
    day = pd.Timestamp(as_of)
    signed = customers["signup_date"].isna() | (customers["signup_date"] < day)
    lost = customers["churned_at"].notna() & (customers["churned_at"] < day)
    current = customers[signed & ~lost].copy()
    current["status"] = "active"  # as seen at the as-of date, whatever happened later
    current["tenure_days"] = (day - current["signup_date"]).dt.days.astype("float64")
    current["template"] = template_slugs(
        current["industry"].tolist(), current["segment"].tolist(), templates, choices
    )
    for column in TEXT_FIELDS:
        current[column] = current[column].astype(object).where(current[column].notna(), None)
    return current.reset_index(drop=True)


def activity_frame(source: Source, kinds: Sequence[str]) -> pd.DataFrame:
    """(customer_id, day): one row per day a customer had an event of one of `kinds`."""
    events = source.events
    days = (
        events.filter(events.kind.isin(list(kinds)))
        .select(customer_id=events.customer_id, day=events.ts.date())
        .distinct()
    )
    frame: pd.DataFrame = days.to_pyarrow().to_pandas()
    return frame


def labelled_customers(
    engine: Engine,
    activity: pd.DataFrame,
    contracts: pd.DataFrame,
    dates: Sequence[date],
    *,
    horizon_days: int,
    inactivity_days: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every customer, and who was at risk at each date and churned within the horizon (CONTRACT §3)."""
    with engine.connect() as conn:
        customers = all_customers(conn)
    labels = label_snapshots(
        customers, activity, contracts, dates, horizon_days=horizon_days, inactivity_days=inactivity_days
    )
    return customers, labels
