"""The demo's logins: one per role, each saying its role, each with a password printed once."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.engine import Engine

from churnradar.auth import service as auth_service
from churnradar.config import Settings
from churnradar.db import session_scope
from churnradar.demo import service
from churnradar.models import Role, User
from tests.web.seed import seed


def test_every_role_gets_a_login_and_a_fresh_password_once(engine: Engine, settings: Settings) -> None:
    seed(engine, settings)
    with session_scope(engine) as session:  # as the demo's generated people: nobody has a password yet
        session.execute(update(User).values(password_hash=None))
        session.execute(update(User).where(User.login == "admin").values(role=Role.ADMIN.value))
    accounts = service.demo_accounts(engine)
    assert [role for _, role, _ in accounts] == [Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.REP]
    assert all(password for _, _, password in accounts)  # the director too
    with session_scope(engine) as session:
        for login, _, password in accounts:
            assert password is not None
            assert auth_service.authenticate(session, login=login, password=password) is not None, login
    assert set(service.ROLE_WORDS) == set(Role)
    # A second run keeps the passwords it gave and prints none again.
    assert [password for _, _, password in service.demo_accounts(engine)] == [None] * 4
