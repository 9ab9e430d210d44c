"""What an evaluation run records: its summary, stored as JSON with the run and read back by the overview's
trend and /metrics."""

from __future__ import annotations

from typing import Any, TypedDict


class DataHealthSummary(TypedDict, total=False):
    """What data health held in a run: the stale or anomalous feeds, the rules held, whether it was forced
    (empty for a run that checked none)."""

    feeds: list[dict[str, Any]]
    held_rules: list[str]
    forced: bool


class RunSummary(TypedDict, total=False):
    """A run's summary as stored (`EvaluationSummary.as_dict`). Every key may be missing from a run stored by
    an older version, so readers `.get` them."""

    as_of: str
    customers: int
    rules_fired: int
    alerts: dict[str, int]  # opened, escalated, de-escalated, resolved, open, ...
    customers_by_level: dict[str, int]
    data_health: DataHealthSummary
    tasks: dict[str, int]
    rules_left_out: list[str]
    scored: int
