"""Every cross-domain reaction, subscribed in this one place: which domain answers which domain event.

A domain raises an event through the `Dispatcher` its caller hands it; the subscribers below run in the
caller's transaction, so a reaction commits or rolls back with the change that caused it.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from churnradar.config import Settings
from churnradar.customer.events import OwnersChanged
from churnradar.intervention.handover import follow_owner_changes
from churnradar.kit.events import Dispatcher


def dispatcher(settings: Settings) -> Dispatcher:
    """The dispatcher with every subscription, for one set of settings."""
    events = Dispatcher()

    def hand_over_tasks(conn: Connection, event: OwnersChanged) -> None:
        # Open tasks follow their customer's new owner (interventions.on_owner_change).
        event.count(follow_owner_changes(conn, settings=settings, now=event.at))

    events.subscribe(OwnersChanged, hand_over_tasks)
    return events
