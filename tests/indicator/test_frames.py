"""The indicator stage's declared frame: a row per customer and date; indicators are whatever is selected."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from pandera.errors import SchemaError

from churnradar.indicator.frames import IndicatorFrame
from churnradar.kit.frames import checked

DAY = date(2026, 6, 1)


def test_a_wide_frame_passes_and_a_repeated_customer_date_fails() -> None:
    wide = pd.DataFrame({"customer_id": [1, 2], "as_of": [DAY, DAY], "logins_30d": [3.0, None]})
    assert checked(IndicatorFrame, wide) is wide
    with pytest.raises(SchemaError, match="not unique"):
        checked(IndicatorFrame, pd.concat([wide, wide], ignore_index=True))
    with pytest.raises(SchemaError, match="as_of"):
        checked(IndicatorFrame, wide.drop(columns="as_of"))
    with pytest.raises(SchemaError, match="customer_id"):
        checked(IndicatorFrame, wide.assign(customer_id=[1.5, 2.5]))
