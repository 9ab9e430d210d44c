"""The demo's store: what it holds after loading, and accounts to try the dashboard with."""

from __future__ import annotations

import secrets

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar.auth import service as auth_service
from churnradar.demo import repository
from churnradar.lake.invoices import count_invoices
from churnradar.lake.service import lake_for
from churnradar.lake.timeline import count_events
from churnradar.models import Role


def counts(engine: Engine) -> dict[str, int]:
    """Users, customers, events, contracts, invoices and tasks in the store and its lake, in that order."""
    found = repository.store_counts(engine)
    lake = lake_for(engine)  # events and invoices are the lake's; the store's own tables above
    found.update(events=count_events(lake), invoices=count_invoices(lake))
    order = ("users", "customers", "events", "contracts", "invoices", "tasks")
    return {name: found[name] for name in order}


# The role of each demo login, as the command prints it.
ROLE_WORDS = {
    Role.ADMIN: "admin: configures rules, channels and users",
    Role.DIRECTOR: "sales director: sees every customer",
    Role.MANAGER: "manager: sees the team's customers",
    Role.REP: "sales rep: sees their own customers",
}


def demo_accounts(engine: Engine) -> list[tuple[str, Role, str | None]]:
    """An admin, a director, a manager and a rep, each with a fresh password (returned once), to try the
    dashboard as each role.

    Each is (login, role, password), the password None for an account that already had one.
    """
    accounts: list[tuple[str, Role, str | None]] = []
    with Session(engine) as session, session.begin():
        if repository.user_by_login(session, "admin") is None:
            password = secrets.token_urlsafe(12)
            auth_service.create_user(
                session, login="admin", role=Role.ADMIN, password=password, display_name="Demo admin"
            )
            accounts.append(("admin", Role.ADMIN, password))
        for role in (Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.REP):
            if role == Role.ADMIN and accounts:
                continue  # just created, with its password above
            user = (
                repository.user_by_login(session, "admin")
                if role == Role.ADMIN
                else repository.first_of_role(session, role)
            )
            if user is None:
                continue
            if user.password_hash is None:
                password = secrets.token_urlsafe(12)
                auth_service.set_password(session, login=user.login, password=password)
                accounts.append((user.login, role, password))
            else:
                accounts.append((user.login, role, None))
    return accounts
