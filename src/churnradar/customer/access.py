"""Who may see which customer, in one place: the customers a user may see, and the fields each role may read.

The customer domain's rule, written as SQL clauses over `customers` (no session, no I/O), so that every query
of any domain that touches a customer (lists, counts, tasks, alerts, silences) filters the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, select, true

from churnradar.auth.schemas import Principal
from churnradar.models.customer import Customer
from churnradar.models.people import Role, User

# Field-level permissions as data: a field listed here is shown only to these roles; others see nothing.
# Keys are "<entity>.<field>" as the pages and the API name them.
FIELD_ROLES: Mapping[str, frozenset[Role]] = {
    "contract.value": frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER}),
    "customer.attributes": frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER}),
}
SEE_ALL = frozenset({Role.ADMIN, Role.DIRECTOR})
AnySelect = TypeVar("AnySelect", bound="Select[*tuple[Any, ...]]")


def sees_all(principal: Principal) -> bool:
    """True when the principal's role sees every customer (admins, directors)."""
    return principal.role in SEE_ALL


def can_see(principal: Principal, field: str) -> bool:
    """True when the principal's role may read `field` (fields not listed are readable by every role)."""
    allowed = FIELD_ROLES.get(field)
    return allowed is None or principal.role in allowed


def hidden_fields(principal: Principal, entity: str) -> frozenset[str]:
    """The field names of `entity` this principal must not see."""
    prefix = f"{entity}."
    return frozenset(
        key.removeprefix(prefix)
        for key, roles in FIELD_ROLES.items()
        if key.startswith(prefix) and principal.role not in roles
    )


def visible_customers(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on `customers` selecting exactly the customers this principal may see.

    Admins and directors see every customer. A manager sees the customers of their own team, of the teams
    of the people they manage, and those owned by themselves or by the people they manage. A rep sees the
    customers they own. Every page and API route that touches a customer filters with this clause.
    """
    if principal.role in SEE_ALL:
        return true()
    if principal.role == Role.MANAGER:
        reports = select(User.id).where(User.manager_id == principal.user_id)
        teams = select(User.team_id).where(
            or_(User.id == principal.user_id, User.manager_id == principal.user_id),
            User.team_id.is_not(None),
        )
        return or_(
            Customer.team_id.in_(teams),
            Customer.owner_id == principal.user_id,
            Customer.owner_id.in_(reports),
        )
    if principal.role == Role.REP:
        return Customer.owner_id == principal.user_id
    return false()


def scoped(query: AnySelect, column: Any, principal: Principal) -> AnySelect:
    """Limit a query on a customer-keyed table to the principal's customers (no join for see-all roles)."""
    if sees_all(principal):
        return query
    return query.where(column.in_(select(Customer.id).where(visible_customers(principal))))
