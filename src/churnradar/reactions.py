"""Every cross-domain reaction, subscribed in this one place: which domain answers which domain event.

A domain raises an event through the `Dispatcher` its caller hands it; the subscribers below run in the
caller's transaction, in the order subscribed, so a reaction commits or rolls back with the change that
caused it.

- `OwnersChanged` (customer: an owner change, an import, each evaluation): open tasks follow the new owner.
- `AlertsChanged` (alert: each stored evaluation step, `alert.service.record_step`): the CRM webhooks are
  queued; tasks are opened or upgraded, tagged and notified (or the customer is held out).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from churnradar.alert.events import AlertsChanged
from churnradar.config import Settings
from churnradar.customer.events import OwnersChanged
from churnradar.intervention import service as intervention_service
from churnradar.intervention.handover import follow_owner_changes
from churnradar.kit.events import Dispatcher
from churnradar.notification import webhooks

# What the task reaction adds to `AlertsChanged.outcomes`, by the name the evaluation summary gives it.
TASK_OUTCOMES = {"opened": "tasks opened", "upgraded": "tasks upgraded", "held_out": "customers held out"}


def dispatcher(settings: Settings) -> Dispatcher:
    """The dispatcher with every subscription, for one set of settings."""
    events = Dispatcher()

    def hand_over_tasks(conn: Connection, event: OwnersChanged) -> None:
        # Open tasks follow their customer's new owner (interventions.on_owner_change).
        event.count(follow_owner_changes(conn, settings=settings, now=event.at))

    def queue_webhooks(conn: Connection, event: AlertsChanged) -> None:
        # CRM endpoints hear of every alert change, committed with it (webhooks_out, docs/webhooks.md).
        queued = webhooks.queue_alert_changes(
            conn, event.step, as_of=event.as_of, now=event.at, settings=settings
        )
        event.outcomes["webhooks queued"] += queued

    def open_tasks(conn: Connection, event: AlertsChanged) -> None:
        # A task for the worst new or escalated alert of each customer, tagged and notified; a customer drawn
        # into the control group gets none, and its alerts are muted `holdout` in the step's state.
        applied = intervention_service.apply(
            conn, event.step, as_of=event.as_of, now=event.at, templates=event.templates, settings=settings
        )
        done = {"opened": applied.created, "upgraded": applied.upgraded, "held_out": applied.held_out}
        event.outcomes.update({TASK_OUTCOMES[key]: n for key, n in done.items()})

    events.subscribe(OwnersChanged, hand_over_tasks)
    events.subscribe(AlertsChanged, queue_webhooks)
    events.subscribe(AlertsChanged, open_tasks)
    return events
