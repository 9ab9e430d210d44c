"""Who may see which customer (customer.access): the fields each role reads, the customers each user sees."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.customer.access import can_see, hidden_fields, scoped, sees_all, visible_customers
from churnradar.db import session_scope
from churnradar.models import Customer, Role, User
from churnradar.models.ledger import Contract
from tests.web.seed import seed


class TestFieldPermissions:
    def test_contract_value_is_hidden_from_reps_only(self) -> None:
        rep = Principal(user_id=1, login="r", role=Role.REP)
        manager = Principal(user_id=2, login="m", role=Role.MANAGER)
        assert not can_see(rep, "contract.value")
        assert can_see(manager, "contract.value")
        assert can_see(rep, "customer.name")  # unlisted fields are visible
        assert "value" in hidden_fields(rep, "contract")
        assert hidden_fields(manager, "contract") == frozenset()


def _visible(engine: Engine, login: str) -> set[str]:
    with session_scope(engine) as session:
        user = session.scalars(select(User).where(User.login == login)).one()
        principal = auth_service.principal_for(user)
        assert principal is not None
        return set(session.scalars(select(Customer.external_id).where(visible_customers(principal))))


class TestVisibleCustomers:
    def test_scope_per_role(self, engine: Engine, settings: Settings) -> None:
        seed(engine, settings, events_per_customer=1)
        everyone = {"E-001", "E-002", "E-003", "W-001", "W-002", "R-001", "N-001"}
        assert _visible(engine, "admin") == everyone
        assert _visible(engine, "director") == everyone
        # A manager: their own team, the teams of the people they manage, and those people's customers.
        assert _visible(engine, "mgr_east") == {"E-001", "E-002", "E-003", "R-001"}
        assert _visible(engine, "rep_east") == {"E-001", "E-003"}
        assert _visible(engine, "rep_roaming") == {"R-001"}

    def test_an_unknown_role_sees_nothing(self, engine: Engine, settings: Settings) -> None:
        seed(engine, settings, events_per_customer=1)
        principal = Principal(user_id=1, login="x", role="auditor")  # type: ignore[arg-type]
        with session_scope(engine) as session:
            assert session.scalars(select(Customer).where(visible_customers(principal))).all() == []
            user = session.scalars(select(User).where(User.login == "rep_east")).one()
            user.role = "auditor"
            assert auth_service.principal_for(user) is None

    def test_scoped_limits_a_customer_keyed_query_like_the_customer_list(
        self, engine: Engine, settings: Settings
    ) -> None:
        """`scoped` (alert figures, task lists) keeps the same customers `visible_customers` does, and leaves
        a see-all role's query without the scope's subquery."""
        seed(engine, settings, events_per_customer=1)
        with session_scope(engine) as session:
            for login in ("director", "mgr_east", "rep_east", "rep_roaming"):
                user = session.scalars(select(User).where(User.login == login)).one()
                principal = auth_service.principal_for(user)
                assert principal is not None
                query = scoped(select(Contract.customer_id).distinct(), Contract.customer_id, principal)
                ids = set(session.scalars(query))
                names = set(session.scalars(select(Customer.external_id).where(Customer.id.in_(ids))))
                assert names == _visible(engine, login) & _with_contracts(engine)
                assert sees_all(principal) == (login == "director")
                assert (" IN " in str(query)) != sees_all(principal)


def _with_contracts(engine: Engine) -> set[str]:
    with session_scope(engine) as session:
        query = select(Customer.external_id).join(Contract, Contract.customer_id == Customer.id)
        return set(session.scalars(query))
