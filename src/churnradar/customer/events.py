"""What happens to customers that other domains react to (subscribers are wired in `churnradar.reactions`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class OwnersChanged:
    """Customers changed owner: each change is a row of `owner_changes` not yet handled.

    Raised by a person's owner change and after imports that recorded changes. Subscribers settle the
    pending changes (the intervention handover moves, keeps or hands on open tasks) and add what they did
    to `outcomes`, which the raiser reports back (e.g. {"task moved": 2}).
    """

    at: datetime
    customer_ids: tuple[int, ...] = ()
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcomes: dict[str, int]) -> None:
        """Add a subscriber's counts by outcome."""
        for outcome, n in outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + n
