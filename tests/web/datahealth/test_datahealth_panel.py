"""The overview's data-health panel: a stopped feed is what admins and managers see first; reps don't."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert

from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import import_records
from churnradar.models import ImportRun
from tests.web.conftest import World


def _stop_the_order_feed(world: World) -> None:
    """Orders every day for four weeks, then nothing for the last week; an ERP file feed that stopped too."""
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    today = now.replace(hour=9, minute=0, second=0)
    orders = [
        {
            "customer_id": customer,
            "ts": (today - timedelta(days=day)).isoformat(),
            "kind": "order",
            "event_id": f"recent-{customer}-{day}",
            "amount": 120,
        }
        for day in range(8, 36)
        for customer in ("E-001", "E-002", "W-001")
    ]
    settings = world.settings
    summary = import_records(world.engine, orders, kind=RecordKind.EVENTS, settings=settings, source="t")
    assert summary.status == "succeeded", summary
    with world.engine.begin() as conn:
        conn.execute(
            insert(ImportRun),
            [
                {
                    "source": f"/in/erp_orders_{(now - timedelta(days=day)):%Y%m%d}.csv",
                    "kind": "events",
                    "status": "succeeded",
                    "started_at": now - timedelta(days=day),
                    "finished_at": now - timedelta(days=day),
                    "rows_read": 3,
                }
                for day in range(8, 36)
            ],
        )


def test_a_stopped_feed_is_flagged_for_admins_and_managers(
    world: World, client_for: Callable[[str], TestClient]
) -> None:
    _stop_the_order_feed(world)
    page = client_for("admin").get("/").text
    assert 'id="data-health"' in page
    assert "2 feeds need attention" in page
    kinds = page[page.index('id="data-health-kinds"') : page.index('id="data-health-sources"')]
    assert '<tr data-state="stale">\n        <td>order</td>' in kinds
    sources = page[page.index('id="data-health-sources"') :]
    assert '<tr data-state="stale">\n        <td class="text-cell">erp_orders</td>' in sources
    assert "nothing from erp_orders for 8.0 days; usually every 1 day" in sources
    assert 'id="data-health"' in client_for("mgr_east").get("/").text


def test_reps_do_not_see_the_panel_and_chinese_is_translated(
    world: World, client_for: Callable[[str], TestClient]
) -> None:
    assert 'id="data-health"' not in client_for("rep_east").get("/").text
    admin = client_for("admin")
    page = admin.get("/", headers={"accept-language": "zh-CN"}).text
    assert "数据健康" in page
    assert "所有数据源均按常规到达。" in page  # nothing recent in the seed: no feed is in trouble
