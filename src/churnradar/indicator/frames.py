"""The frame the indicator stage returns (`service.compute_indicators`): one row per customer and date."""

from __future__ import annotations

from typing import Any, ClassVar

import pandera.pandas as pa
from pandera.typing import Series

from churnradar.kit.frames import CustomerFrame


class IndicatorFrame(CustomerFrame):
    """`customer_id` (the store's id), `as_of`, then one float column per indicator (not declared: which
    indicators a frame has depends on the definitions selected)."""

    as_of: Series[Any] = pa.Field(nullable=False)

    class Config:
        unique: ClassVar[list[str]] = ["customer_id", "as_of"]
