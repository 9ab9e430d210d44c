"""The navigation and the overview panels as registries, so later domains (alerts, tasks, rules) plug in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from churnradar.auth.schemas import Principal
from churnradar.kit.registry import Registry
from churnradar.models.people import Role

ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class NavItem:
    """One entry of the top navigation: a label (an English msgid, translated when shown) and a path."""

    slug: str
    label: str
    path: str
    order: int = 100
    roles: frozenset[Role] = ALL_ROLES


@dataclass(frozen=True)
class OverviewPanel:
    """One block of the overview page: a template fragment and what fills it, scoped to the principal."""

    slug: str
    template: str
    load: Callable[[Session, Principal], dict[str, Any]]
    order: int = 100
    roles: frozenset[Role] = field(default=ALL_ROLES)
    # Reuse the loaded figures for a minute (per user): for panels whose queries scan whole tables.
    cached: bool = False


@dataclass(frozen=True)
class CustomerSection:
    """One block of the customer 360 page (alerts, tasks, notes...): a template fragment and what fills it.

    `load` gets the customer row the principal may already see (row-level access is checked before), and
    returns the fragment's context.
    """

    slug: str
    template: str
    load: Callable[[Session, Principal, Any], dict[str, Any]]
    order: int = 100
    roles: frozenset[Role] = field(default=ALL_ROLES)


nav_items: Registry[NavItem] = Registry("navigation item")
overview_panels: Registry[OverviewPanel] = Registry("overview panel")
customer_sections: Registry[CustomerSection] = Registry("customer section")


def visible_nav(principal: Principal) -> list[NavItem]:
    """The navigation entries this principal's role may use, in order."""
    items = [nav_items.get(slug) for slug in nav_items]
    items = [item for item in items if principal.role in item.roles]
    return sorted(items, key=lambda item: item.order)


def visible_panels(principal: Principal) -> list[OverviewPanel]:
    """The overview panels this principal's role may see, in order."""
    panels = [overview_panels.get(slug) for slug in overview_panels]
    panels = [panel for panel in panels if principal.role in panel.roles]
    return sorted(panels, key=lambda panel: panel.order)


def visible_sections(principal: Principal) -> list[CustomerSection]:
    """The customer 360 sections this principal's role may see, in order."""
    sections = [customer_sections.get(slug) for slug in customer_sections]
    sections = [section for section in sections if principal.role in section.roles]
    return sorted(sections, key=lambda section: section.order)
