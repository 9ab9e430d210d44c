"""The data-health panel of the overview: stale or thinned feeds are the first thing an admin should see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.datahealth.checks import FeedState
from churnradar.datahealth.service import feed_health, source_health
from churnradar.models.people import Role
from churnradar.web.i18n import N_
from churnradar.web.nav import OverviewPanel, overview_panels

# States shown translated (the reasons are catalog messages, rendered in the reader's language).
STATE_LABELS = (N_("ok"), N_("stale"), N_("anomalous"), N_("new"), N_("unwatched"))
TROUBLE = (FeedState.STALE, FeedState.ANOMALOUS)


def data_health_panel(session: Session, _principal: Principal) -> dict[str, Any]:
    """Every event kind and import source with its state, the troubled ones first."""
    settings: Settings = session.info.get("settings") or Settings()
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    now = datetime.now(UTC).replace(tzinfo=None)
    today = datetime.now(settings.zone).date()
    feeds = feed_health(engine, today, settings.data_health, reuse=True)  # as today's evaluation counted
    sources = source_health(engine, now, settings.data_health)
    return {
        "feeds": sorted(feeds, key=lambda f: (f.state not in TROUBLE, f.kind)),
        "sources": sorted(sources, key=lambda s: (s.state not in TROUBLE, s.source)),
        "troubled": sum(f.state in TROUBLE for f in feeds) + sum(s.state in TROUBLE for s in sources),
        "as_of": today,
    }


overview_panels.add(
    "data_health",
    OverviewPanel(
        "data_health",
        "datahealth/_panel.html",
        data_health_panel,
        order=55,
        roles=frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER}),
        cached=True,
    ),
)
