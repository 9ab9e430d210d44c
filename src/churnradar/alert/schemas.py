"""Typed values the alert domain takes and returns."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class StepInputs:
    """What a lifecycle step starts from, as stored: the open alerts (`before`, a state frame with each
    alert's database id), alerts resolved within the cooldown, the silences in force on the day, and each
    customer's owner (for the per-owner cap)."""

    before: pd.DataFrame
    recent_resolved: pd.DataFrame
    silences: pd.DataFrame
    owners: pd.Series
