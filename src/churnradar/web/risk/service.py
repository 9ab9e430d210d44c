"""A customer's alerts for its 360 page, and the alert figures of the overview."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from churnradar.alert import service as alert_service
from churnradar.auth.schemas import Principal
from churnradar.customer import service as customer_service
from churnradar.customer.access import sees_all
from churnradar.evaluation import service as evaluation_service
from churnradar.i18n import Message, msg, nmsg
from churnradar.intervention.control import DRAW_CAUSE
from churnradar.kit.levels import Level, level_ranks
from churnradar.rule import service as rule_service
from churnradar.web.risk.schemas import AlertEventRead, AlertRead, RuleNames

TREND_WEEKS = 26


# The risk list is the customer domain's; the pages reach it through here.
list_risk = customer_service.list_risk
iter_risk = customer_service.iter_risk
risk_tags = customer_service.visible_tags
risk_of = customer_service.risk_of
level_counts = customer_service.level_counts


def latest_run_day(session: Session) -> date | None:
    """The as-of date of the latest succeeded evaluation."""
    return evaluation_service.latest_run_day(session.connection())


def open_alerts_by_rule(
    session: Session, principal: Principal, limit: int = 10
) -> list[tuple[str, str, int]]:
    """(template, rule, open alerts) of the rules behind most open alerts the principal may see."""
    return alert_service.open_alerts_by_rule(session, principal, limit)


def rule_names(session: Session) -> RuleNames:
    """Every stored rule's names in both languages, looked up by rule id (and template when known)."""
    return RuleNames(rule_service.rule_names(session.connection()))


def alert_reads(session: Session, customer_id: int) -> list[AlertRead]:
    """A customer's alerts with their history, reasons and rule names in both languages."""
    alerts, history = alert_service.customer_alerts(session, customer_id)
    names = rule_names(session)
    reads = []
    for alert in alerts:
        name_en, name_zh = names.of(alert.rule, alert.template)
        reads.append(
            AlertRead(
                id=alert.id,
                rule=alert.rule,
                rule_name_en=name_en,
                rule_name_zh=name_zh,
                level=alert.level,
                status=alert.status,
                muted=alert.muted,
                opened_on=alert.opened_on,
                last_fired_on=alert.last_fired_on,
                resolved_on=alert.resolved_on,
                reason_en=alert.reason_en,
                reason_zh=alert.reason_zh,
                values=read_values(alert.values),
                events=[
                    AlertEventRead(
                        as_of=e.as_of,
                        kind=e.kind,
                        from_level=e.from_level,
                        to_level=e.to_level,
                        cause=e.cause,
                    )
                    for e in history[alert.id]
                ],
            )
        )
    return reads


# Why an alert changed, as the lifecycle words it (stored in English), shown in the reader's language.
CAUSES = {
    "the rule's condition holds": msg("the rule's condition holds"),
    "the condition for a higher level holds": msg("the condition for a higher level holds"),
    "only a lower level's condition holds": msg("only a lower level's condition holds"),
    DRAW_CAUSE: msg("muted: holdout (control group draw)"),
}
CONDITION_FALSE = re.compile(r"^condition false for (\d+) evaluations$")
MUTE_CHANGE = re.compile(r"^(muted|unmuted): ([a-z_]+)$")


def cause_text(cause: str) -> Message | None:
    """An alert change's cause in words a reader understands (None for one the page cannot word)."""
    if cause in CAUSES:
        return CAUSES[cause]
    if found := CONDITION_FALSE.match(cause):
        n = int(found.group(1))
        return nmsg("condition false for {num} evaluation", "condition false for {num} evaluations", n, num=n)
    if found := MUTE_CHANGE.match(cause):
        why = msg(found.group(2))  # inhibited, silenced, capped, holdout: the risk page's value labels
        return msg("muted: {why}", why=why) if found.group(1) == "muted" else msg("unmuted: {why}", why=why)
    return None


def read_values(stored: object) -> dict[str, Any]:
    """An alert's stored values (JSON text, as the evaluation writes them, or a mapping) as a mapping."""
    if isinstance(stored, str):
        try:
            stored = json.loads(stored)
        except ValueError:
            return {}
    return dict(stored) if isinstance(stored, dict) else {}


def week_of(day: date) -> date:
    """The Monday that starts `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def month_of(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def last_per_period(days: Iterable[date], period: Callable[[date], date] = week_of) -> list[date]:
    """The latest of `days` in each period (week by default), oldest period first."""
    latest: dict[date, date] = {}
    for day in days:
        start = period(day)
        latest[start] = max(day, latest.get(start, day))
    return [latest[start] for start in sorted(latest)]


def per_week(counts: Iterable[tuple[date | None, int]]) -> dict[date, int]:
    """Day counts summed per week (keyed by the week's Monday)."""
    weeks: Counter[date] = Counter()
    for day, n in counts:
        if day is not None:
            weeks[week_of(day)] += int(n)
    return dict(weeks)


def levels_on(
    spans: Sequence[tuple[int, str, date, date | None]], days: Sequence[date]
) -> dict[str, list[int]]:
    """Customers at each level on each of `days`, from alert spans (customer, level, opened, resolved).

    A customer's level on a day is the worst level among its alerts open that day (opened on or before it,
    not yet resolved); an alert counts at its latest level.
    """
    rank = level_ranks()
    series: dict[str, list[int]] = {level.value: [] for level in Level}
    for day in days:
        worst: dict[int, int] = {}
        for customer, level, opened, resolved in spans:
            if opened <= day and (resolved is None or resolved > day) and level in rank:
                worst[customer] = max(rank[level], worst.get(customer, -1))
        tally = Counter(worst.values())
        for name, i in rank.items():
            series[name].append(tally.get(i, 0))
    return series


def level_trend(
    session: Session, principal: Principal, today: date, *, by_month: bool = False
) -> tuple[list[date], dict[str, list[int]]]:
    """Customers per level at the last evaluation of each recent week (or month), in the principal's scope.

    Directors and admins read the counts each evaluation recorded; others count their own customers' alerts.
    """
    since = today - (timedelta(days=366) if by_month else timedelta(weeks=TREND_WEEKS))
    summaries = dict(evaluation_service.run_summaries(session.connection(), since))
    days = last_per_period(summaries, month_of if by_month else week_of)
    if sees_all(principal):
        levels = {day: summaries[day].get("customers_by_level", {}) for day in days}
        return days, {level.value: [int(levels[day].get(level, 0)) for day in days] for level in Level}
    return days, levels_on(alert_service.alert_spans(session, principal, since), days)


def new_and_resolved(session: Session, principal: Principal, today: date) -> list[tuple[date, int, int]]:
    """(week, alerts opened, alerts resolved) for each recent week with either, oldest first."""
    opened, resolved = alert_service.alerts_per_day(session, principal, today - timedelta(weeks=TREND_WEEKS))
    new, done = per_week(opened), per_week(resolved)
    return [(week, new.get(week, 0), done.get(week, 0)) for week in sorted(new.keys() | done.keys())]
