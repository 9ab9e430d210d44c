"""The effectiveness report in a viewer's scope, and the chart series the page draws from it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar.auth.schemas import Principal
from churnradar.customer import service as customer_service
from churnradar.effectiveness.service import effectiveness_report


def scope_of(session: Session, principal: Principal) -> list[int] | None:
    """The customer ids whose figures the principal may see (None: everyone's)."""
    return customer_service.visible_ids(session, principal)


def report_for(
    engine: Engine, session: Session, principal: Principal, *, until: date, go_live: date | None
) -> dict[str, Any]:
    """The effectiveness report over the customers the principal may see."""
    return effectiveness_report(engine, until=until, go_live=go_live, scope=scope_of(session, principal))


def chart_data(report: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    """Series for the page's charts, as JSON data (no code): churn rate, save rate, compliance, outcomes."""
    months = report["churn_by_month"]
    save = report["save_rate"]
    compliance = report["tasks"]["deadline_compliance"]["months"]
    teams = report["tasks"]["by_team"]
    outcomes = ("retained", "churned", "false_alarm", "unreachable")
    return {
        "churn": {
            "title": gettext("Churn rate per month"),
            "x": [m["month"] for m in months],
            "series": [{"name": gettext("churn rate"), "data": [m["churn_rate"] for m in months]}],
            "percent": True,
            "mark": (report["before_after"] or {}).get("go_live", "")[:7] or None,
        },
        "save_rate": {
            "title": gettext("Retained share by arm"),
            "x": [gettext("intervened"), gettext("held out")],
            "series": [
                {
                    "name": gettext("retained share"),
                    "data": [save["intervened"]["retained_share"], save["held_out"]["retained_share"]],
                }
            ],
            "percent": True,
            "bar": True,
        },
        "compliance": {
            "title": gettext("Deadline compliance per month"),
            "x": [m["month"] for m in compliance],
            "series": [{"name": gettext("closed on time"), "data": [m["share"] for m in compliance]}],
            "percent": True,
            "bar": True,
        },
        "teams": {
            "title": gettext("Task outcomes by team"),
            "x": [t["team"] or gettext("(no team)") for t in teams],
            "series": [
                {"name": gettext(o.replace("_", " ")), "data": [t[o] for t in teams], "stack": "outcome"}
                for o in outcomes
            ],
            "bar": True,
        },
    }
