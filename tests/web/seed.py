"""A small, explicit organisation for web tests: two teams, every role, customers on both sides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.auth.passwords import hash_password
from churnradar.config import Settings
from churnradar.db import session_scope
from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import import_records
from churnradar.lake.service import lake_for
from churnradar.lake.snapshots import write_snapshot
from churnradar.models import Customer, Team, User

PASSWORD = "correct horse battery"
# One argon2 hash for every seeded user: hashing is deliberately slow, and the tests seed many databases.
_HASH = hash_password(PASSWORD)
XSS_NAME = "<script>alert(1)</script>"

# login, role, team, manager
PEOPLE = [
    ("admin", "admin", None, None),
    ("director", "director", None, None),
    ("mgr_east", "manager", "East", None),
    ("rep_east", "rep", "East", "mgr_east"),
    ("rep_east2", "rep", "East", "mgr_east"),
    ("mgr_west", "manager", "West", None),
    ("rep_west", "rep", "West", "mgr_west"),
    ("rep_roaming", "rep", None, "mgr_east"),
]

CUSTOMERS: list[dict[str, Any]] = [
    {
        "customer_id": "E-001",
        "name": "Eastwind Trading",
        "owner": "rep_east",
        "team": "East",
        "segment": "SMB",
        "industry": "retail",
        "tier": "high",
        "signup_date": "2023-02-01",
    },
    {
        "customer_id": "E-002",
        "name": "东方制造有限公司",
        "owner": "rep_east2",
        "team": "East",
        "segment": "enterprise",
        "industry": "manufacturing",
        "tier": "medium",
        "signup_date": "2022-06-15",
    },
    {
        "customer_id": "E-003",
        "name": "Early Birds School",
        "owner": "rep_east",
        "team": "East",
        "segment": "SMB",
        "industry": "education",
        "tier": "low",
        "signup_date": "2024-01-10",
        "status": "churned",
        "churned_at": "2024-09-30",
        "churn_reason": "price",
    },
    {
        "customer_id": "W-001",
        "name": "Westfield Logistics",
        "owner": "rep_west",
        "team": "West",
        "segment": "enterprise",
        "industry": "services",
        "tier": "high",
        "signup_date": "2021-11-03",
    },
    {
        "customer_id": "W-002",
        "name": XSS_NAME,
        "owner": "rep_west",
        "team": "West",
        "segment": "SMB",
        "industry": "saas",
        "tier": "low",
        "signup_date": "2023-08-20",
    },
    {
        "customer_id": "R-001",
        "name": "Roaming Rep Account",
        "owner": "rep_roaming",
        "segment": "SMB",
        "industry": "retail",
        "tier": "medium",
        "signup_date": "2023-03-03",
    },
    {"customer_id": "N-001", "name": "Nobody's Customer", "segment": "SMB", "industry": "retail"},
]


@dataclass(frozen=True)
class Seeded:
    """Ids the tests refer to."""

    users: dict[str, int]
    customers: dict[str, int]


def seed(engine: Engine, settings: Settings, *, events_per_customer: int = 30) -> Seeded:
    """Fill an empty migrated database with the organisation above, events, contracts and indicators."""
    with session_scope(engine) as session:
        teams = {name: Team(name=name) for name in ("East", "West")}
        session.add_all(teams.values())
        session.flush()
        users: dict[str, User] = {}
        for login, role, team, manager in PEOPLE:
            user = User(
                login=login,
                role=role,
                display_name=login.replace("_", " ").title(),
                email=f"{login}@example.com",
                team_id=teams[team].id if team else None,
                manager_id=users[manager].id if manager else None,
                password_hash=_HASH,
                is_active=True,
            )
            session.add(user)
            session.flush()
            users[login] = user
        user_ids = {login: u.id for login, u in users.items()}
    _imported(import_records(engine, CUSTOMERS, kind=RecordKind.CUSTOMERS, settings=settings, source="seed"))
    events = [
        {
            "customer_id": c["customer_id"],
            "ts": f"2024-{1 + n % 12:02d}-{1 + n % 27:02d}T{8 + n % 10:02d}:00:00",
            "kind": ("order", "login", "complaint")[n % 3],
            "event_id": f"{c['customer_id']}-{n}",
            "amount": 100 + n if n % 3 == 0 else None,
            "text": "slow delivery" if n % 3 == 2 else None,
        }
        for c in CUSTOMERS
        for n in range(events_per_customer)
    ]
    _imported(import_records(engine, events, kind=RecordKind.EVENTS, settings=settings, source="seed"))
    contracts = [
        {
            "contract_id": f"K-{c['customer_id']}",
            "customer_id": c["customer_id"],
            "start_date": "2024-01-01",
            "end_date": "2025-12-31",
            "value": 98765.43,
            "auto_renew": "true",
        }
        for c in CUSTOMERS
    ]
    _imported(import_records(engine, contracts, kind=RecordKind.CONTRACTS, settings=settings, source="seed"))
    invoices = [  # two per customer; the second one paid (invoices live in the lake)
        {
            "invoice_id": f"INV-{c['customer_id']}-{n}",
            "customer_id": c["customer_id"],
            "due_date": f"2024-0{n + 3}-30",
            "amount": 1000 + n,
            "paid_at": "2024-04-28" if n else None,
            "paid_amount": 1001 if n else None,
        }
        for c in CUSTOMERS
        for n in (0, 1)
    ]
    _imported(import_records(engine, invoices, kind=RecordKind.INVOICES, settings=settings, source="seed"))
    with session_scope(engine) as session:
        customer_ids = dict(session.execute(select(Customer.external_id, Customer.id)).all())
    months = [date(2024, month, 1) for month in range(1, 13)]
    wide = pd.DataFrame(
        {
            "customer_id": customer_ids["E-001"],
            "as_of": months,
            "orders_90d": [float(d.month * 2) for d in months],
            "days_since_last_login": [float(d.month * 3) for d in months],
        }
    )
    write_snapshot(lake_for(engine), wide)  # indicator snapshots live in the lake
    return Seeded(users=user_ids, customers=customer_ids)


def _imported(summary: Any) -> None:
    assert summary.status == "succeeded", summary.errors
