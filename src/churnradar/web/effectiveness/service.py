"""The effectiveness report in a viewer's scope, and the chart series the page draws from it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar.auth.schemas import Principal
from churnradar.customer import service as customer_service
from churnradar.effectiveness.service import effectiveness_report, scope_key, stored_report


def scope_of(session: Session, principal: Principal) -> list[int] | None:
    """The customer ids whose figures the principal may see (None: everyone's)."""
    return customer_service.visible_ids(session, principal)


def report_for(
    engine: Engine, session: Session, principal: Principal, *, until: date, go_live: date | None
) -> dict[str, Any]:
    """The effectiveness report over the customers the principal may see: as stored after the day's
    evaluation when it was (the task figures computed now), else computed now (and with a go-live date)."""
    scope = scope_of(session, principal)
    if go_live is None:
        stored = stored_report(engine, until=until, key=scope_key(principal), scope=scope)
        if stored is not None:
            return stored
    return effectiveness_report(engine, until=until, go_live=go_live, scope=scope)


def alert_dates(report: dict[str, Any]) -> dict[str, date]:
    """The warnings' judged and pending dates as dates, for the page to write in the reader's locale."""
    dates = (report["warnings"] or {}).get("dates", {})
    return {key: date.fromisoformat(value) for key, value in dates.items() if isinstance(value, str)}


def _has_values(chart: dict[str, Any], *, counts: bool) -> bool:
    """Shares draw from any known value (0% included); counts only when one is above zero."""
    values = [value for series in chart["series"] for value in series["data"] if value is not None]
    return any(values) if counts else bool(values)


def chart_data(report: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    """Series for the page's charts, as JSON data (no code): churn rate, save rate, compliance, outcomes.

    A chart with nothing to draw carries `empty`, the reason the page shows instead of a blank chart.
    """
    charts = _series(report, gettext)
    reasons = {
        "churn": gettext("No churn rate yet: a month counts once customers were active before it began."),
        "save_rate": gettext(
            "Nothing to draw yet: no customer of either arm has been judged (see the note above)."
        ),
        "compliance": gettext("No task deadline has passed yet."),
        "teams": gettext("No task has been closed with an outcome yet."),
    }
    for name, chart in charts.items():
        chart["empty"] = None if chart["x"] and _has_values(chart, counts=name == "teams") else reasons[name]
    return charts


def _series(report: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
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
