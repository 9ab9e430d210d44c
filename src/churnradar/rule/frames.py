"""The frame the rule stage hands the alert lifecycle: a row per rule whose condition holds for a customer."""

from __future__ import annotations

from typing import Any, ClassVar

import pandera.pandas as pa
from pandera.typing import Series

from churnradar.kit.frames import CustomerFrame
from churnradar.kit.levels import DEFAULT_LEVELS


class FiredRules(CustomerFrame):
    """Rules that fire today: the level each reached, its reasons in both languages (empty in a backtest)
    and the values its condition read (JSON); a rule fires once per customer."""

    rule: Series[Any] = pa.Field(nullable=False)
    template: Series[Any] = pa.Field(nullable=False)
    level: Series[Any] = pa.Field(nullable=False, isin=list(DEFAULT_LEVELS))
    reason_en: Series[Any] = pa.Field(nullable=True)
    reason_zh: Series[Any] = pa.Field(nullable=True)
    values: Series[Any] = pa.Field(nullable=True)

    class Config:
        unique: ClassVar[list[str]] = ["customer_id", "rule"]
