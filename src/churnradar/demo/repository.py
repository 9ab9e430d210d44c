"""What the demo command reads from the store: row counts of its tables, and the first user of a role."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar.models import Contract, Customer, InterventionTask, Role, User


def store_counts(engine: Engine) -> dict[str, int]:
    """Rows in the store's users, customers, contracts and tasks tables."""
    with engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(model)).scalar_one())
            for name, model in (
                ("users", User),
                ("customers", Customer),
                ("contracts", Contract),
                ("tasks", InterventionTask),
            )
        }


def user_by_login(session: Session, login: str) -> User | None:
    """The user with exactly this login."""
    return session.execute(select(User).where(User.login == login)).scalar_one_or_none()


def first_of_role(session: Session, role: Role) -> User | None:
    """The user of this role whose login sorts first."""
    return session.execute(select(User).where(User.role == role.value).order_by(User.login)).scalars().first()
