"""The frames of the alert stage: the open alerts a lifecycle step keeps, and the changes it made (which
the intervention stage and the CRM webhooks read)."""

from __future__ import annotations

from typing import Any, ClassVar

import pandera.pandas as pa
from pandera.typing import Series

from churnradar.alert.lifecycle import CAPPED, HOLDOUT, INHIBITED, SILENCED
from churnradar.kit.frames import CustomerFrame
from churnradar.kit.levels import DEFAULT_LEVELS

LEVELS = list(DEFAULT_LEVELS)
CHANGE_KINDS = ["opened", "escalated", "deescalated", "resolved", "muted"]


class AlertState(CustomerFrame):
    """One row per open alert (`lifecycle.STATE_COLUMNS`): a customer's rule is open once."""

    rule: Series[Any] = pa.Field(nullable=False)
    template: Series[Any] = pa.Field(nullable=False)
    level: Series[Any] = pa.Field(nullable=False, isin=LEVELS)
    opened_on: Series[Any] = pa.Field(nullable=False)
    last_fired_on: Series[Any] = pa.Field(nullable=True)
    last_evaluated_on: Series[Any] = pa.Field(nullable=True)
    false_streak: Series[Any] = pa.Field(nullable=False)
    muted: Series[Any] = pa.Field(nullable=True, isin=[INHIBITED, SILENCED, CAPPED, HOLDOUT])
    reason_en: Series[Any] = pa.Field(nullable=True)
    reason_zh: Series[Any] = pa.Field(nullable=True)
    values: Series[Any] = pa.Field(nullable=True)

    class Config:
        unique: ClassVar[list[str]] = ["customer_id", "rule"]


class AlertChanges(CustomerFrame):
    """Every change of a step (`lifecycle.EVENT_COLUMNS`), with the levels it moved between and why."""

    rule: Series[Any] = pa.Field(nullable=False)
    kind: Series[Any] = pa.Field(nullable=False, isin=CHANGE_KINDS)
    from_level: Series[Any] = pa.Field(nullable=True, isin=LEVELS)
    to_level: Series[Any] = pa.Field(nullable=True, isin=LEVELS)
    cause: Series[Any] = pa.Field(nullable=False)
