"""The alert panels of the overview and the alerts section of the customer 360 page, as registry entries."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from churnradar.alert.lifecycle import HOLDOUT
from churnradar.auth.schemas import Principal
from churnradar.kit.clock import Clock, SystemClock
from churnradar.kit.levels import Level
from churnradar.models import AlertStatus, Customer
from churnradar.models.people import Role
from churnradar.web.nav import CustomerSection, OverviewPanel, customer_sections, overview_panels
from churnradar.web.risk import service
from churnradar.web.risk.schemas import AlertRead

MUTED_EVENT = "muted"  # the alert event kind of every mute and unmute (lifecycle and control-group draw)


def _anchor(session: Session) -> date:
    """Figures run up to the latest evaluation (a store evaluated last month still shows its trend)."""
    clock: Clock = session.info.get("clock") or SystemClock()
    return service.latest_run_day(session) or clock.now().date()


def level_panel(session: Session, principal: Principal) -> dict[str, Any]:
    """Customers per level with their share of the customers in view."""
    counts, total = service.level_counts(session, principal)
    rows = [(level.value, counts.get(level, 0)) for level in reversed(Level)]
    return {"levels": rows, "total": total, "at_risk": sum(n for _, n in rows)}


def trend_panel(session: Session, principal: Principal) -> dict[str, Any]:
    """Customers per level at the latest evaluation of each recent week (charts) and month (a table)."""
    anchor = _anchor(session)
    days, series = service.level_trend(session, principal, anchor)
    months, monthly = service.level_trend(session, principal, anchor, by_month=True)
    levels = [level.value for level in reversed(Level)]
    return {
        "trend": [
            (level, [(day.isoformat(), n) for day, n in zip(days, series[level], strict=True)])
            for level in levels
        ],
        "levels": levels,
        "months": [(day, [monthly[level][i] for level in levels]) for i, day in enumerate(months)],
    }


def flow_panel(session: Session, principal: Principal) -> dict[str, Any]:
    """Alerts opened and resolved per week."""
    weeks = service.new_and_resolved(session, principal, _anchor(session))
    return {
        "weeks": weeks,
        "opened": [(week.isoformat(), n) for week, n, _ in weeks],
        "resolved": [(week.isoformat(), n) for week, _, n in weeks],
    }


def reasons_panel(session: Session, principal: Principal) -> dict[str, Any]:
    """The rules behind most open alerts, with both languages' names: one line per rule, the same rule of
    several templates (and rules of one name) merged."""
    names = service.rule_names(session)
    merged: dict[tuple[str, str], tuple[str, int]] = {}
    for template, rule, n in service.open_alerts_by_rule(session, principal, limit=100):
        name = names.of(rule, template)
        first, count = merged.get(name, (rule, 0))
        merged[name] = (first, count + n)
    top = sorted(merged.items(), key=lambda item: (-item[1][1], item[0]))[:10]
    return {
        "reasons": [(rule, name, n) for name, (rule, n) in top],
        "top": top[0][1][1] if top else 1,
        "total": sum(n for _, (_, n) in top),
    }


def blind_to_control_group(alert: AlertRead) -> AlertRead:
    """The alert as a rep sees it: no mute and no mute changes at all.

    Held-out customers have every open alert muted `holdout`, which a rep must not learn (they would work
    those customers anyway). Hiding only that mark is not enough: a capped, inhibited or silenced badge on
    the other customers would single out the held-out ones by its absence (a held-out customer is never
    inhibited or capped, and holdout overrides a silence). So a rep sees no mute of any kind and no `muted`
    history entry: held-out and capped customers (and all others) look alike.
    """
    if alert.muted is None and not any(e.kind == MUTED_EVENT for e in alert.events):
        return alert
    events = [e for e in alert.events if e.kind != MUTED_EVENT and HOLDOUT not in e.cause]
    return alert.model_copy(update={"muted": None, "events": events})


def blind_for(principal: Principal, alerts: list[AlertRead]) -> list[AlertRead]:
    """`alerts` as `principal` may see them: reps never see mutes (see `blind_to_control_group`)."""
    if principal.role is Role.REP:
        return [blind_to_control_group(alert) for alert in alerts]
    return alerts


def alerts_section(session: Session, principal: Principal, customer: Customer) -> dict[str, Any]:
    """Level, health score, probability, open alerts with their history, resolved alerts (collapsed)."""
    risk, score = service.risk_of(session, customer)
    alerts = blind_for(principal, service.alert_reads(session, customer.id))
    return {
        "risk": risk,
        "score": score,
        "open": [a for a in alerts if a.status == AlertStatus.OPEN],
        "resolved": [a for a in alerts if a.status != AlertStatus.OPEN],
        "cause_text": service.cause_text,
    }


def register() -> None:
    """Add the panels and the section to the web registries (once; the app imports this module once)."""
    for slug, template, load, order in (
        ("alerts_levels", "overview/_alerts_levels.html", level_panel, 20),
        ("alerts_trend", "overview/_alerts_trend.html", trend_panel, 25),
        ("alerts_flow", "overview/_alerts_flow.html", flow_panel, 30),
        ("alerts_reasons", "overview/_alerts_reasons.html", reasons_panel, 40),
    ):
        if slug not in overview_panels:
            overview_panels.add(slug, OverviewPanel(slug, template, load, order=order, cached=True))
    if "alerts" not in customer_sections:
        customer_sections.add(
            "alerts", CustomerSection("alerts", "risk/_section.html", alerts_section, order=10)
        )
