"""The customer service's own logic, without a database: scope answers, owner-change checks, the event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import pytest
from sqlalchemy.orm import Session

from churnradar.auth.schemas import Principal
from churnradar.customer import service
from churnradar.customer.events import OwnersChanged
from churnradar.customer.exceptions import CustomerNotFoundError, OwnerChangeError
from churnradar.kit.events import Dispatcher
from churnradar.models import Customer, Role, User

NOW = datetime(2026, 3, 2, 9, 0)
ADMIN = Principal(user_id=1, login="boss", role=Role.ADMIN)
MANAGER = Principal(user_id=2, login="lead", role=Role.MANAGER, team_id=5)
REP = Principal(user_id=3, login="rep", role=Role.REP, team_id=5)


@dataclass
class FakeSession:
    """Stands in for the ORM session: the service only flushes and asks for the connection."""

    flushed: int = 0
    conn: object = field(default_factory=object)

    def flush(self) -> None:
        self.flushed += 1

    def connection(self) -> object:
        return self.conn


def _user(user_id: int, login: str, *, team_id: int | None = 5, active: bool = True) -> User:
    return User(id=user_id, login=login, role=Role.REP.value, team_id=team_id, is_active=active)


def _customer(customer_id: int, external_id: str, owner_id: int | None) -> Customer:
    return Customer(id=customer_id, external_id=external_id, owner_id=owner_id, team_id=4)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Users by login, who each principal may assign to, and what the service recorded."""
    users = {
        "ana": _user(10, "ana"),
        "old": _user(11, "old", team_id=None),
        "gone": _user(12, "gone", active=False),
    }
    state: dict[str, Any] = {"users": users, "assignable": [users["ana"]], "changes": [], "audit": []}
    monkeypatch.setattr(service.auth_service, "get_user_by_login", lambda _s, login: users.get(login))
    monkeypatch.setattr(service.repo, "assignable_users", lambda _s, _p: state["assignable"])
    monkeypatch.setattr(
        service.repo, "logins", lambda _s, ids: {u.id: u.login for u in users.values() if u.id in ids}
    )
    monkeypatch.setattr(
        service.repo,
        "add_owner_change",
        lambda _s, customer, to_owner_id, *, at, source: state["changes"].append(
            (customer.id, customer.owner_id, to_owner_id, at, source)
        ),
    )
    monkeypatch.setattr(
        service.auth_service,
        "record",
        lambda _s, _p, action, *args, **kw: state["audit"].append((action, args)),
    )
    return state


def _change(principal: Principal, customers: list[Customer], login: str, events: Dispatcher) -> Any:
    return service.change_owner(
        cast(Session, FakeSession()), principal, customers, login, events=events, via="api", now=NOW
    )


class TestOwnerChange:
    def test_a_change_is_recorded_audited_and_raises_the_event(self, world: dict[str, Any]) -> None:
        raised: list[tuple[object, OwnersChanged]] = []

        def answer(conn: Any, event: OwnersChanged) -> None:
            raised.append((conn, event))
            event.count({"task moved": 1})

        events = Dispatcher()
        events.subscribe(OwnersChanged, answer)
        moved, kept = _customer(1, "C1", owner_id=11), _customer(2, "C2", owner_id=10)
        results = _change(ADMIN, [moved, kept], "ana", events)
        assert [(r.customer_id, r.from_owner, r.to_owner, r.changed) for r in results] == [
            ("C1", "old", "ana", True),
            ("C2", "ana", "ana", False),
        ]
        assert all(r.tasks == {"task moved": 1} for r in results)
        assert world["changes"] == [(1, 11, 10, NOW, "api by boss")]
        assert moved.owner_id == 10
        assert moved.team_id == 5  # joins the new owner's team
        assert [a for a, _ in world["audit"]] == ["change_owner"]
        [(_conn, event)] = raised
        assert event.at == NOW
        assert event.customer_ids == (1,)

    def test_the_event_is_raised_even_when_nothing_moved(self, world: dict[str, Any]) -> None:
        # Imports may have left changes unhandled; the handover settles them all, as it always did.
        raised: list[OwnersChanged] = []
        events = Dispatcher()
        events.subscribe(OwnersChanged, lambda _c, e: raised.append(e))
        _change(ADMIN, [_customer(2, "C2", owner_id=10)], "ana", events)
        assert [e.customer_ids for e in raised] == [()]

    @pytest.mark.parametrize(
        ("principal", "customers", "login", "status", "text"),
        [
            (REP, [_customer(1, "C1", 11)], "ana", 403, "Reps cannot"),
            (ADMIN, [], "ana", 400, "at least one"),
            (ADMIN, [_customer(1, "C1", 11)], "nobody", 400, "Unknown or inactive user: nobody"),
            (ADMIN, [_customer(1, "C1", 11)], "gone", 400, "Unknown or inactive user: gone"),
            (MANAGER, [_customer(1, "C1", 11)], "old", 403, "your team's reps, not to old"),
            (ADMIN, [_customer(1, "C1", 11)], "old", 403, "reps and managers, not to old"),
        ],
    )
    def test_refusals_change_nothing_and_raise_no_event(
        self,
        world: dict[str, Any],
        principal: Principal,
        customers: list[Customer],
        login: str,
        status: int,
        text: str,
    ) -> None:
        raised: list[OwnersChanged] = []
        events = Dispatcher()
        events.subscribe(OwnersChanged, lambda _c, e: raised.append(e))
        with pytest.raises(OwnerChangeError) as refused:
            _change(principal, customers, login, events)
        assert refused.value.status_code == status
        assert text in refused.value.message
        assert world["changes"] == []
        assert world["audit"] == []
        assert raised == []


class TestScope:
    def test_a_customer_out_of_scope_is_not_found(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(service.repo, "get_customer", lambda _s, _p, _i: None)
        monkeypatch.setattr(service.repo, "get_customer_by_external_id", lambda _s, _p, _i: None)
        session = cast(Session, FakeSession())
        with pytest.raises(CustomerNotFoundError):
            service.visible(session, REP, 1)
        with pytest.raises(CustomerNotFoundError):
            service.visible_by_external_id(session, REP, "C1")

    def test_one_invisible_customer_refuses_a_bulk_change(self, monkeypatch: pytest.MonkeyPatch) -> None:
        found = [_customer(1, "C1", 3)]
        monkeypatch.setattr(
            service.repo, "customers_by_ids", lambda _s, _p, ids: [c for c in found if c.id in ids]
        )
        session = cast(Session, FakeSession())
        assert service.visible_by_ids(session, MANAGER, [1]) == found
        with pytest.raises(OwnerChangeError) as refused:
            service.visible_by_ids(session, MANAGER, [1, 2])
        assert refused.value.status_code == 404
