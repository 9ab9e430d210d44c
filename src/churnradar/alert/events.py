"""What happens to alerts that other domains react to (subscribers are wired in `churnradar.reactions`).

An evaluation step changes thousands of alerts at once (a first run over 100k customers opens ~7,000), and
its reactions work on the whole step: a customer gets one task for the worst of its new and escalated
alerts, written in one statement. So the alert domain raises one `AlertsChanged` per stored step, and a
subscriber reads the changes it answers as typed records (`opened`, `escalated`, `resolved`: each alert
once) or, for batch work, the step itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from churnradar.alert.lifecycle import KEY, StepResult
from churnradar.kit.levels import Level
from churnradar.rule.schemas import Template


@dataclass(frozen=True)
class AlertOpened:
    """An alert opened: the rule's condition holds for the customer (a muted one opens muted)."""

    customer_id: int
    rule: str
    template: str
    level: Level
    muted: str | None


@dataclass(frozen=True)
class AlertEscalated:
    """An open alert moved to a higher level."""

    customer_id: int
    rule: str
    template: str
    from_level: Level
    to_level: Level
    muted: str | None


@dataclass(frozen=True)
class AlertResolved:
    """An open alert resolved: its condition stayed false long enough."""

    customer_id: int
    rule: str
    level: Level
    resolved_on: date


def _muted(value: object) -> str | None:
    return value if isinstance(value, str) else None  # None or NaN: not muted


@dataclass
class AlertsChanged:
    """One evaluation step's alert changes, raised once after they are stored, in the same transaction.

    `step` is the step as the lifecycle computed it (open state, resolved alerts, every change with its
    cause); `templates` are the rule templates in force (playbooks, tags). A subscriber may mute open alerts
    `holdout` in `step.state` (the control group), which the raiser then stores in the risk table, and
    adds what it did to `outcomes` (e.g. {"tasks opened": 3}), which the raiser reports back.
    """

    as_of: date
    at: datetime
    step: StepResult
    templates: Mapping[str, Template] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)

    def _changes(self, kind: str) -> pd.DataFrame:
        events = self.step.events
        if events.empty:
            return events.iloc[0:0]
        return events[events["kind"] == kind]

    def _with_state(self, kind: str) -> pd.DataFrame:
        state = self.step.state.reindex(columns=[*KEY, "template", "muted"])
        return self._changes(kind).merge(state, on=KEY, how="left")

    @property
    def opened(self) -> tuple[AlertOpened, ...]:
        """The alerts the step opened."""
        return tuple(
            AlertOpened(int(c), str(r), str(t), Level(str(level)), _muted(m))
            for c, r, t, level, m in self._with_state("opened")[
                [*KEY, "template", "to_level", "muted"]
            ].itertuples(index=False, name=None)
        )

    @property
    def escalated(self) -> tuple[AlertEscalated, ...]:
        """The alerts the step moved to a higher level."""
        return tuple(
            AlertEscalated(int(c), str(r), str(t), Level(str(old)), Level(str(new)), _muted(m))
            for c, r, t, old, new, m in self._with_state("escalated")[
                [*KEY, "template", "from_level", "to_level", "muted"]
            ].itertuples(index=False, name=None)
        )

    @property
    def resolved(self) -> tuple[AlertResolved, ...]:
        """The alerts the step resolved."""
        resolved = self.step.resolved
        return tuple(
            AlertResolved(int(c), str(r), Level(str(level)), pd.Timestamp(on).date())
            for c, r, level, on in resolved[[*KEY, "level", "resolved_on"]].itertuples(index=False, name=None)
        )
