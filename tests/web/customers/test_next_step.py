"""The 360 page's next step: the open task's first playbook action no follow-up has marked done."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from churnradar.db import session_scope
from churnradar.models import FollowUp, InterventionTask
from churnradar.web.customers.service import next_step
from tests.web.conftest import World
from tests.web.seed_risk import seed_risk

PLAYBOOK = {
    "actions_en": ["Call the buyer within two days", "Offer a review meeting"],
    "actions_zh": ["两天内致电采购负责人", "约一次回顾会议"],
}


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_next_step_moves_on_as_follow_ups_mark_actions_done(world: World) -> None:
    seed_risk(world.engine)
    customer = world.ids.customers["E-001"]
    with session_scope(world.engine) as session:
        session.execute(update(InterventionTask).values(playbook=PLAYBOOK))
        task_id = session.scalar(select(InterventionTask.id).where(InterventionTask.customer_id == customer))
        first = next_step(session, customer)
        assert first is not None
        assert (first.task_id, first.action_en, first.action_zh, first.done) == (
            task_id,
            "Call the buyer within two days",
            "两天内致电采购负责人",
            0,
        )
        assert next_step(session, world.ids.customers["E-002"]) is None  # no open task

        def follow_up(done: list[int]) -> None:
            session.add(
                FollowUp(
                    task_id=task_id,
                    customer_id=customer,
                    contacted_on=date(2026, 11, 24),
                    channel="call",
                    notes="called",
                    actions_done=done,
                    created_at=datetime(2026, 11, 24, 9),
                )
            )
            session.flush()

        follow_up([0])
        second = next_step(session, customer)
        assert second is not None
        assert (second.action_en, second.done, second.total) == ("Offer a review meeting", 1, 2)
        follow_up([1])
        assert next_step(session, customer) is None  # every step done
