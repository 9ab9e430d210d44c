"""The simulated customer base of the evaluation tests, shared here."""

from tests.evaluation.conftest import db, demo_db

__all__ = ["db", "demo_db"]
