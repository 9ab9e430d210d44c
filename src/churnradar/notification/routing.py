"""Routing, pure: which receivers a notice goes to, and one grouped message per receiver and event."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from churnradar.config import NotificationSettings, Route
from churnradar.kit.phone import normalize_phone
from churnradar.notification import render
from churnradar.notification.schemas import Message, Notice


@dataclass(frozen=True)
class Contact:
    """A user as routing sees them."""

    id: int
    name: str
    email: str | None
    role: str
    team_id: int | None
    manager_id: int | None
    active: bool
    phone: str | None = None
    language: str | None = None  # the interface language they chose; None: the notifications' default


@dataclass(frozen=True)
class Directory:
    """Every user and team name, loaded once per run."""

    people: Mapping[int, Contact]
    teams: Mapping[int, str]


# Channel types that reach a person by phone number; the others by e-mail address.
PHONE_CHANNELS = frozenset({"sms"})


@dataclass(frozen=True)
class Receiver:
    """Where one message goes: a configured channel and an address in it (empty for group robots).

    `skipped` says why a person routed to cannot be reached on the channel (no phone number for a text
    message): the message is recorded with that reason and never sent, rather than sent to another address.
    """

    channel: str
    address: str
    skipped: str | None = None
    person: int | None = None
    # The reader's language (None: the configured default); not part of who the receiver is.
    language: str | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """A stable name for rate limits and dedup."""
        if self.skipped is not None:
            return f"{self.channel}:user:{self.person}"
        return f"{self.channel}:{self.address}"


def _address(person: Contact, channel: str, channel_type: str | None) -> Receiver | None:
    """The person's receiver on a channel: their phone for text messages, else their e-mail address."""
    if channel_type in PHONE_CHANNELS:
        if not person.phone:
            return Receiver(
                channel, "", skipped="no phone number", person=person.id, language=person.language
            )
        phone = normalize_phone(person.phone)
        if phone is None:
            return Receiver(
                channel, "", skipped="invalid phone number", person=person.id, language=person.language
            )
        return Receiver(channel, phone, language=person.language)
    return Receiver(channel, person.email, language=person.language) if person.email else None


@dataclass(frozen=True)
class Outgoing:
    """A grouped message for one receiver, ready for the outbox."""

    receiver: Receiver
    message: Message


def _team_managers(directory: Directory, team_id: int | None) -> list[Contact]:
    return [p for p in directory.people.values() if p.active and p.role == "manager" and p.team_id == team_id]


def _manager(directory: Directory, user_id: int | None, team_id: int | None) -> list[Contact]:
    seen: set[int] = set()
    current = directory.people.get(user_id) if user_id is not None else None
    while current is not None and current.manager_id is not None and current.manager_id not in seen:
        seen.add(current.manager_id)
        manager = directory.people.get(current.manager_id)
        if manager is not None and manager.active:
            return [manager]
        current = manager
    # Unassigned work, or an owner without a manager: the team's managers hear of it.
    return _team_managers(directory, team_id)


def _people(notice: Notice, target: str, directory: Directory) -> list[Contact]:
    assignee = directory.people.get(notice.assignee_id) if notice.assignee_id is not None else None
    if target in ("assignee", "on_duty"):
        found = [assignee] if assignee is not None else _team_managers(directory, notice.team_id)
        if target == "on_duty" and notice.role in ("owner_and_manager", "director"):
            found += _manager(directory, notice.assignee_id, notice.team_id)
        if target == "on_duty" and notice.role == "director":
            found += _people(notice, "directors", directory)
        # Whom a task route names to be told (the owner beside their director, say) hear it with the assignee.
        return found + [directory.people[i] for i in notice.also if i in directory.people]
    if target == "manager":
        return _manager(directory, notice.assignee_id, notice.team_id)
    if target in ("directors", "admins"):
        role = "director" if target == "directors" else "admin"
        return [p for p in directory.people.values() if p.active and p.role == role]
    return []


def receivers(
    notice: Notice,
    routes: Sequence[Route],
    directory: Directory,
    team_channels: Mapping[str, str],
    channel_types: Mapping[str, str] | None = None,
) -> list[Receiver]:
    """Every receiver that a route sends `notice` to, without duplicates, in route order.

    `channel_types` maps configured channel names to their type (sms, email, ...), which decides the
    address a person is reached at.
    """
    types = channel_types or {}
    found: dict[Receiver, None] = {}
    for route in routes:
        if notice.event not in route.events or (route.levels and notice.level not in route.levels):
            continue
        for target in route.to:
            if target == "team" and notice.team_id is not None:
                channel = team_channels.get(directory.teams.get(notice.team_id, ""))
                if channel:
                    found[Receiver(channel, "")] = None
            for person in _people(notice, target, directory):
                receiver = (
                    _address(person, route.channel, types.get(route.channel)) if person.active else None
                )
                if receiver is not None:
                    found[receiver] = None
    return list(found)


def group(
    notices: Iterable[Notice],
    directory: Directory,
    settings: NotificationSettings,
    *,
    scope: str | None = None,
) -> list[Outgoing]:
    """One message per (receiver, event) listing its notices, in the receiver's language (their own, else
    the configured one); the dedup key names the causes (or `scope`)."""
    buckets: dict[tuple[Receiver, str], list[Notice]] = defaultdict(list)
    types = {name: channel.type for name, channel in settings.channels.items()}
    for notice in notices:
        for receiver in receivers(notice, settings.routes, directory, settings.team_channels, types):
            buckets[(receiver, notice.event)].append(notice)
    out = []
    for (receiver, event), items in buckets.items():
        causes = sorted(n.cause for n in items)
        tag = scope or hashlib.sha256("\n".join(causes).encode()).hexdigest()[:24]
        language = render.language(receiver.language or settings.language)
        lines = [n.line.render(language) for n in items]
        message = Message(
            subject=render.subject(event, len(items), language),
            lines=lines,
            language=language,
            event=event,
            dedup_key=f"{event}:{tag}:{receiver.key}"[:400],
        )
        out.append(Outgoing(receiver, message))
    return out
