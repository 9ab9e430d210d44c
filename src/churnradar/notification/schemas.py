"""What other domains hand to notification (a Notice), and what a channel sends (a Message)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from churnradar import i18n


class OutboxStatus(StrEnum):
    """Where a message is: waiting (or retrying), delivered, or given up (dead letter)."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    SKIPPED = "skipped"  # the receiver cannot be reached on the channel (a person without a phone number)


@dataclass(frozen=True)
class Notice:
    """One thing worth telling someone about; `cause` is unique per thing, so it is told once."""

    event: str  # alert_opened | alert_escalated | task_assigned | deadline_*| digest | data_health
    cause: str
    level: str | None
    customer_id: int | None
    assignee_id: int | None
    team_id: int | None
    line: i18n.Message  # rendered in each receiver's language
    role: str | None = None  # the playbook's role on duty: owner | owner_and_manager | director
    also: tuple[int, ...] = ()  # people a task route names to be told too (user ids), beside those on duty


@dataclass(frozen=True)
class Message:
    """A rendered message: a subject and lines, in one language; channels format it their way."""

    subject: str
    lines: list[str] = field(default_factory=list)
    language: str = "en"
    event: str = ""
    dedup_key: str = ""
    # A machine-readable document sent as it is (webhooks out to a CRM), instead of subject and lines.
    document: dict[str, object] | None = None

    def as_payload(self) -> dict[str, object]:
        """The JSON stored in the outbox."""
        payload: dict[str, object] = {"subject": self.subject, "lines": self.lines}
        payload |= {"language": self.language, "event": self.event}
        return payload if self.document is None else payload | {"document": self.document}

    @classmethod
    def from_payload(cls, payload: dict[str, object], dedup_key: str) -> Message:
        """Back from the outbox JSON."""
        lines = payload.get("lines", [])
        return cls(
            subject=str(payload.get("subject", "")),
            lines=[str(line) for line in lines] if isinstance(lines, list) else [],
            language=str(payload.get("language", "en")),
            event=str(payload.get("event", "")),
            dedup_key=dedup_key,
            document=document if isinstance(document := payload.get("document"), dict) else None,
        )
