"""Declared frame schemas: what a pipeline stage hands the next, checked where it crosses.

The stages (indicator → rule → alert → intervention) pass pandas frames. Each domain declares the frames it
returns as pandera `DataFrameModel`s in its `frames.py`; the caller that passes a frame on validates it at
the boundary with `checked`, so a missing column, a duplicate key or a level that is not one fails there,
naming the column, instead of as a wrong result two stages later. Columns beyond the declared ones pass
through (an indicator frame has one column per indicator).

Text columns are declared without a dtype: pandas 3 holds text as `str` or `object` depending on where a
frame came from (a query, an empty constructor, a concat), and either is right.
"""

from __future__ import annotations

from typing import Any, TypeVar

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

M = TypeVar("M", bound=pa.DataFrameModel)


class CustomerFrame(pa.DataFrameModel):
    """A stage's frame, keyed by the store's customer id: the declared columns must be there and valid;
    others pass through."""

    customer_id: Series[Any] = pa.Field(nullable=False)

    @pa.check("customer_id", name="integers")
    @classmethod
    def _store_ids(cls, series: pd.Series) -> bool:
        # An empty frame's object column holds no id that is not an integer.
        return series.empty or pd.api.types.is_integer_dtype(series)

    class Config:
        strict = False


def checked(model: type[M], frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` itself (not a copy) if it is a valid `model`; else a `pandera.errors.SchemaError` saying which
    column or key is wrong and showing the failing values."""
    model.validate(frame, inplace=True)
    return frame
