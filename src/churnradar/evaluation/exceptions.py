"""The evaluation's errors."""

from __future__ import annotations


class EvaluationError(RuntimeError):
    """An evaluation that cannot run as asked (e.g. going back before the last evaluated date)."""


class ExplainError(ValueError):
    """A customer's score cannot be explained: no active model, or no such customer at the date."""
