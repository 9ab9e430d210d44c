"""Explicit data for intervention and notification tests: a team, people, customers, alert steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from churnradar.alert.lifecycle import StepResult
from churnradar.config import Settings
from churnradar.models import Customer, Team, User

NOW = datetime(2026, 6, 15, 8, 0)  # a Monday, 08:00 UTC


def seed(engine: Engine) -> None:
    """Team 1 (二组 / sales); director 1, manager 2, reps 3 (active) and 4 (inactive), rep 5 (active, team 1).

    Customers: 10 owned by rep 3, 11 owned by inactive rep 4, 12 without owner, 13 owned by rep 5.
    """
    with engine.begin() as conn:
        conn.execute(insert(Team), [{"id": 1, "name": "sales"}])
        people = [
            (1, "dora", "director", None, None, True),
            (2, "mia", "manager", 1, None, True),
            (3, "ray", "rep", 1, 2, True),
            (4, "ina", "rep", 1, 2, False),
            (5, "sam", "rep", 1, 2, True),
        ]
        conn.execute(
            insert(User),
            [
                {
                    "id": i,
                    "login": login,
                    "email": f"{login}@example.com",
                    "role": role,
                    "team_id": team,
                    "manager_id": manager,
                    "is_active": active,
                }
                for i, login, role, team, manager, active in people
            ],
        )
        conn.execute(
            insert(Customer),
            [
                {"id": 10, "external_id": "C10", "name": "Acme", "owner_id": 3, "team_id": 1},
                {"id": 11, "external_id": "C11", "name": "北京星河", "owner_id": 4, "team_id": 1},
                {"id": 12, "external_id": "C12", "name": "Orphan Ltd", "owner_id": None, "team_id": 1},
                {"id": 13, "external_id": "C13", "name": "Busy Co", "owner_id": 5, "team_id": 1},
            ],
        )


def step_result(rows: Sequence[dict[str, Any]], events: Sequence[tuple[int, str, str]]) -> StepResult:
    """A lifecycle step with the given open alerts and (customer, rule, kind) events."""
    state = pd.DataFrame(
        [
            {
                "template": "general",
                "muted": None,
                "reason_en": f"reason {r['rule']}",
                "reason_zh": f"原因 {r['rule']}",
                **r,
            }
            for r in rows
        ]
    )
    frame = pd.DataFrame(
        [
            {"customer_id": c, "rule": r, "kind": k, "from_level": None, "to_level": None, "cause": "test"}
            for c, r, k in events
        ]
    )
    return StepResult(state=state, resolved=pd.DataFrame(), events=frame)


def make_settings(**notifications: Any) -> Settings:
    """Settings for tests, with notification settings given by keyword."""
    return Settings(environment="test", secret_key="x" * 32, notifications=notifications)  # type: ignore[arg-type]
