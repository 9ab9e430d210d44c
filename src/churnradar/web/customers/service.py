"""The customer 360 page's shapes: indicators grouped by family with readable names, units and a sparkline,
and the next step of the customer's open playbook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from churnradar.customer.schemas import IndicatorSeries
from churnradar.i18n import N_
from churnradar.indicator import service as indicator_service
from churnradar.indicator.schemas import Family, Indicator
from churnradar.intervention import service as intervention_service
from churnradar.intervention.schemas import TaskStatus
from churnradar.kit.levels import Level

# Each family's heading, in the catalog's order of the seven families.
FAMILY_LABELS: dict[Family, str] = {
    Family.ACTIVITY: N_("Activity and contact"),
    Family.ORDERS: N_("Orders and spending"),
    Family.COMPLAINTS: N_("Complaints and satisfaction"),
    Family.RESPONSE: N_("Service response"),
    Family.USAGE: N_("Product usage"),
    Family.COMPETITOR: N_("Competitor signals"),
    Family.CONTRACT: N_("Contract and payments"),
}
# The built-in indicators' units (indicator/definitions/*.yaml), shown translated; a custom unit as written.
UNIT_LABELS = (
    N_("channels"),
    N_("days"),
    N_("days per week"),
    N_("features"),
    N_("flag"),
    N_("hours"),
    N_("invoices"),
    N_("money"),
    N_("orders"),
    N_("orders per month"),
    N_("per month"),
    N_("per quarter"),
    N_("ratio"),
    N_("returns"),
    N_("score"),
    N_("share"),
    N_("signals"),
    N_("users"),
)
SPARK_WIDTH, SPARK_HEIGHT = 120, 28


@dataclass(frozen=True)
class IndicatorRow:
    """One indicator of the customer as the page shows it: latest known value against its own baseline."""

    slug: str
    name_en: str
    name_zh: str
    unit: str
    latest: float | None
    latest_on: date | None
    baseline: float | None
    spark: str  # SVG polyline points of the history ("" with fewer than two known values)
    spark_baseline: float | None  # the baseline's y in the sparkline

    def name(self, zh: bool) -> str:
        """The name in the reader's language."""
        return (self.name_zh or self.name_en) if zh else self.name_en


@dataclass(frozen=True)
class FamilyGroup:
    """The indicators of one family, those with data first."""

    family: Family
    label: str
    rows: list[IndicatorRow]

    @property
    def with_data(self) -> int:
        """How many of the family's indicators have a known value."""
        return sum(row.latest is not None for row in self.rows)


def _spark(points: Sequence[tuple[date, float | None]], baseline: float | None) -> tuple[str, float | None]:
    known = [(day, value) for day, value in points if value is not None]
    if len(known) < 2:
        return "", None
    values = [v for _, v in known] + ([baseline] if baseline is not None else [])
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = SPARK_WIDTH / (len(known) - 1)

    def y(value: float) -> float:
        return round(SPARK_HEIGHT - 2 - (value - low) / span * (SPARK_HEIGHT - 4), 1)

    line = " ".join(f"{round(i * step, 1)},{y(v)}" for i, (_, v) in enumerate(known))
    return line, (y(baseline) if baseline is not None else None)


def _row(indicator: Indicator, found: IndicatorSeries | None) -> IndicatorRow:
    points = sorted(found.points) if found else []
    known = [(day, value) for day, value in points if value is not None]
    latest_on, latest = known[-1] if known else (None, None)
    baseline = found.baseline if found else None
    spark, spark_baseline = _spark(points, baseline)
    return IndicatorRow(
        indicator.slug,
        indicator.name_en,
        indicator.name_zh,
        indicator.unit,
        latest,
        latest_on,
        baseline,
        spark,
        spark_baseline,
    )


def indicator_rows(series: Sequence[IndicatorSeries]) -> dict[str, IndicatorRow]:
    """Every catalogued indicator (built-in and custom) by slug, with the customer's history where known.

    Columns of the history that are no indicator (health, the model's probability and features) are left
    out: the page shows them in words elsewhere.
    """
    by_slug = {s.indicator: s for s in series}
    return {i.slug: _row(i, by_slug.get(i.slug)) for i in indicator_service.selected_indicators()}


def family_groups(rows: dict[str, IndicatorRow]) -> list[FamilyGroup]:
    """The indicators grouped by the seven families, each family's indicators with data first."""
    families: dict[Family, list[IndicatorRow]] = {family: [] for family in FAMILY_LABELS}
    for indicator in indicator_service.selected_indicators():
        families[indicator.family].append(rows[indicator.slug])
    return [
        FamilyGroup(family, FAMILY_LABELS[family], sorted(found, key=lambda r: r.latest is None))
        for family, found in families.items()
        if found
    ]


@dataclass(frozen=True)
class NextStep:
    """The first playbook action of the customer's open task that no follow-up has marked done."""

    task_id: int
    level: Level
    action_en: str
    action_zh: str
    done: int  # actions marked done so far
    total: int
    deadline_at: datetime


def next_step(session: Session, customer_id: int) -> NextStep | None:
    """What to do next for the customer: its open task's first action not yet done (None without one)."""
    tasks = [row[0] for row in intervention_service.customer_tasks(session, customer_id)]
    task = next((t for t in tasks if t.status == TaskStatus.OPEN.value), None)
    if task is None:
        return None
    playbook = task.playbook or {}
    actions_en: list[str] = list(playbook.get("actions_en") or [])
    actions_zh: list[str] = list(playbook.get("actions_zh") or actions_en)
    done: set[int] = set()
    for follow_up in intervention_service.follow_up_records(session, task_id=task.id):
        done.update(follow_up.actions_done or [])
    pending = [i for i in range(len(actions_en)) if i not in done]
    if not pending:
        return None
    first = pending[0]
    zh = actions_zh[first] if first < len(actions_zh) else actions_en[first]
    return NextStep(
        task.id, Level(task.level), actions_en[first], zh, len(done), len(actions_en), task.deadline_at
    )
