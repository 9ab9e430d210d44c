"""Intervention tasks with their history, follow-ups (each contact) and customer tags."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class InterventionTask(Base):
    """The work one customer's warning asks for; at most one open per customer, it outlives its alert."""

    __tablename__ = "intervention_tasks"
    __table_args__ = (
        Index(
            "uq_intervention_tasks_open_customer",
            "customer_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_intervention_tasks_status_deadline", "status", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    rule: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    role: Mapped[str] = mapped_column(String(32))  # owner | owner_and_manager | director
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    playbook: Mapped[dict[str, Any]]
    opened_at: Mapped[datetime]
    deadline_at: Mapped[datetime]
    next_follow_up_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    snooze_reason: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    closed_by: Mapped[str | None] = mapped_column(String(200))
    close_note: Mapped[str | None] = mapped_column(Text)


class TaskEvent(Base):
    """One change of a task: created, upgraded, assigned, reassigned, snoozed, reminded, breached, closed."""

    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("intervention_tasks.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None]


class FollowUp(Base):
    """One contact with the customer: when, how, what was said, what comes next, which actions were done."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("intervention_tasks.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    contacted_on: Mapped[date]
    channel: Mapped[str] = mapped_column(String(32))  # call | visit | email | chat | meeting | other
    notes: Mapped[str] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    next_step_on: Mapped[date | None]
    actions_done: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(200))


class CustomerTag(Base):
    """A label on a customer (流失风险, 重点跟进, ...), set by a rule or by hand."""

    __tablename__ = "customer_tags"
    __table_args__ = (UniqueConstraint("customer_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200))  # rule:<slug> | user:<login>
    created_at: Mapped[datetime]


class StoredPlaybook(Base):
    """An admin's playbook for one template and level; it replaces the template's own for new tasks."""

    __tablename__ = "playbooks"

    template: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(32), primary_key=True)
    body: Mapped[dict[str, Any]]  # a rule.schemas.Playbook, as JSON
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(200))
