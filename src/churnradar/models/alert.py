"""Rules, alerts with their history, silences, evaluation runs and each customer's current risk."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class AlertStatus(StrEnum):
    """Open while its rule holds (or until auto-resolve); resolved for good (a new alert opens next time)."""

    OPEN = "open"
    RESOLVED = "resolved"


class RunStatus(StrEnum):
    """An evaluation run: running until it commits, then succeeded (a crashed one stays running)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"


class Rule(Base):
    """A warning rule of a template, editable; `definition` holds the typed RuleDef as JSON."""

    __tablename__ = "rules"
    __table_args__ = (UniqueConstraint("template", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool]
    definition: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(200))


class RuleVersion(Base):
    """One saved state of a rule (`template`, `slug`): every change appends one; `definition` is the rule as
    its template applied it after the change (null: deleted). Restoring an old state appends a new one."""

    __tablename__ = "rule_versions"
    __table_args__ = (UniqueConstraint("template", "slug", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    action: Mapped[str] = mapped_column(String(32))
    definition: Mapped[dict[str, Any] | None]
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(200))


class Alert(Base):
    """A warning for one customer from one rule; at most one open per (customer, rule)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_customer_rule",
            "customer_id",
            "rule",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_alerts_status_level", "status", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # AlertStatus
    muted: Mapped[str | None] = mapped_column(String(16))  # inhibited | silenced | capped
    opened_on: Mapped[date]
    last_fired_on: Mapped[date]
    last_evaluated_on: Mapped[date]
    false_streak: Mapped[int]
    resolved_on: Mapped[date | None]
    reason_en: Mapped[str] = mapped_column(Text)
    reason_zh: Mapped[str] = mapped_column(Text)
    values: Mapped[dict[str, Any] | None]


class AlertEvent(Base):
    """One change of an alert: opened, escalated, de-escalated, muted, unmuted, resolved; with its cause."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    as_of: Mapped[date]
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    from_level: Mapped[str | None] = mapped_column(String(32))
    to_level: Mapped[str | None] = mapped_column(String(32))
    cause: Mapped[str] = mapped_column(Text)


class Silence(Base):
    """Mutes alerts of a customer, a rule, or both, until a time; who and why are required."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    rule: Mapped[str | None] = mapped_column(String(100))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class EvaluationRun(Base):
    """One `churnradar evaluate`: its as-of date, when it ran, and what it did."""

    __tablename__ = "evaluation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[dict[str, Any] | None]


class CustomerRisk(Base):
    """Each customer's current level, health score and probability, for lists and dashboards to read."""

    __tablename__ = "customer_risk"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    as_of: Mapped[date]
    level: Mapped[str | None] = mapped_column(String(32), index=True)
    health_score: Mapped[float | None] = mapped_column(index=True)
    health_change: Mapped[float | None]
    health_level: Mapped[str | None] = mapped_column(String(32))
    churn_probability: Mapped[float | None] = mapped_column(index=True)
    open_alerts: Mapped[int]
    reasons_en: Mapped[str | None] = mapped_column(Text)
    reasons_zh: Mapped[str | None] = mapped_column(Text)
