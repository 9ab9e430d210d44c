"""The effectiveness figures stored after an evaluation are the ones the page would compute, per viewer."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from churnradar.auth.schemas import Principal
from churnradar.effectiveness.service import effectiveness_report, json_safe, store_figures
from churnradar.models import Customer, EvaluationRun, InterventionTask, Role, User
from churnradar.web.effectiveness.service import report_for, scope_of
from tests.web.conftest import World
from tests.web.effectiveness.test_effectiveness import outcomes  # noqa: F401 (the seeded outcomes)

DAY = date(2025, 12, 1)  # the evaluation that stores the figures; the page on that day shows data up to it
UNTIL = DAY + timedelta(days=1)
VIEWERS = ("director", "admin", "mgr_east", "mgr_west")


def _principal(session: Session, login: str) -> Principal:
    user = session.scalars(select(User).where(User.login == login)).one()
    return Principal(user_id=user.id, login=login, role=Role(user.role), team_id=user.team_id)


def test_stored_figures_equal_the_live_report_for_every_viewer_then_follow_task_changes(
    outcomes: World,  # noqa: F811
) -> None:
    engine = outcomes.engine
    # Everyone's figures and each manager's (the seed has two).
    assert store_figures(engine, as_of=DAY, now=datetime(2025, 12, 1, 23)) == 3
    with Session(engine) as session:
        for login in VIEWERS:
            viewer = _principal(session, login)
            live = effectiveness_report(engine, until=UNTIL, scope=scope_of(session, viewer))
            assert report_for(engine, session, viewer, until=UNTIL, go_live=None) == json_safe(live), login

    # The page reads what was stored: with the evaluation gone, a live report would judge no warnings.
    with engine.begin() as conn:
        conn.execute(delete(EvaluationRun))
        # Tasks change between evaluations: the page's task figures follow them at once.
        east2 = conn.execute(select(Customer.id).where(Customer.external_id == "E-002")).scalar_one()
        conn.execute(
            update(InterventionTask)
            .where(InterventionTask.customer_id == east2)
            .values(status="closed", outcome="retained", closed_at=datetime(2025, 6, 2, 10))
        )
    with Session(engine) as session:
        east = _principal(session, "mgr_east")
        page = report_for(engine, session, east, until=UNTIL, go_live=None)
        live = effectiveness_report(engine, until=UNTIL, scope=scope_of(session, east))
        assert live["warnings"] is None
        assert page["warnings"] is not None
        assert page["tasks"] == json_safe(live["tasks"])
        assert page["tasks"]["by_team"][0]["retained"] == 2
        # A day without stored figures (and any go-live comparison) is computed when asked.
        later = report_for(engine, session, east, until=UNTIL + timedelta(days=1), go_live=None)
        assert later["warnings"] is None
