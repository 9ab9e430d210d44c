"""The analytics engines' errors."""

from __future__ import annotations


class SparkMissingError(RuntimeError):
    """pyspark is not installed (the `spark` extra)."""
