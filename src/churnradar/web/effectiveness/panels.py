"""The overview's deadline-compliance panel: are tasks closed before their deadlines, month by month?"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.effectiveness import service as effectiveness_service
from churnradar.effectiveness.tasks import deadline_compliance
from churnradar.intervention.schemas import TaskStatus
from churnradar.kit.clock import Clock, SystemClock
from churnradar.web.nav import OverviewPanel, overview_panels

MONTHS_SHOWN = 3


def compliance_panel(session: Session, principal: Principal) -> dict[str, Any]:
    """The last months' compliance and the open tasks already past their deadline, in the user's scope."""
    settings: Settings = session.info.get("settings") or Settings()
    clock: Clock = session.info.get("clock") or SystemClock()
    utc_now = clock.now()
    until = utc_now.replace(tzinfo=UTC).astimezone(settings.zone).date() + timedelta(days=1)
    tasks = effectiveness_service.task_deadlines(session.connection(), until=until, principal=principal)
    now = pd.Timestamp(utc_now)
    passed = pd.to_datetime(tasks["deadline_at"]) < now  # due by now, not by the end of today
    overdue = int(((tasks["status"] == TaskStatus.OPEN.value) & passed).sum())
    months = deadline_compliance(tasks[passed], until=until)[-MONTHS_SHOWN:]
    return {"months": list(reversed(months)), "overdue": overdue}


overview_panels.add(
    "deadline_compliance",
    OverviewPanel(
        "deadline_compliance", "effectiveness/_compliance.html", compliance_panel, order=45, cached=True
    ),
)
