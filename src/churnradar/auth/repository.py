"""Queries for users, teams, browser sessions, API tokens, preferences and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from churnradar.models.access import ApiToken, AuditEntry, UserPreference, UserSession
from churnradar.models.people import Team, User

AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]


def get_user(session: Session, user_id: int) -> User | None:
    """The user with this id."""
    return session.get(User, user_id)


def get_user_by_login(session: Session, login: str) -> User | None:
    """The user with this login, compared without regard to case."""
    return session.scalars(select(User).where(func.lower(User.login) == login.casefold())).first()


def get_or_create_team(session: Session, name: str) -> Team:
    """The team with this name, created when missing."""
    team = session.scalars(select(Team).where(Team.name == name)).first()
    if team is None:
        team = Team(name=name)
        session.add(team)
        session.flush()
    return team


def describe_user(session: Session, user: User) -> dict[str, Any]:
    """The fields an administrator edits, by name (team and manager as names, for the audit log)."""
    team = session.get(Team, user.team_id) if user.team_id else None
    manager = session.get(User, user.manager_id) if user.manager_id else None
    return {
        "role": user.role,
        "phone": user.phone,
        "team": team.name if team else None,
        "manager": manager.login if manager else None,
        "is_active": bool(user.is_active),
    }


def list_users(session: Session) -> list[tuple[User, str | None, str | None]]:
    """Every user with their team's name and their manager's login, by login."""
    manager = aliased(User)
    query = (
        select(User, Team.name, manager.login)
        .outerjoin(Team, Team.id == User.team_id)
        .outerjoin(manager, manager.id == User.manager_id)
        .order_by(User.login)
    )
    return [(user, team, boss) for user, team, boss in session.execute(query)]


def list_team_names(session: Session) -> list[str]:
    """Every team name, sorted."""
    return list(session.scalars(select(Team.name).order_by(Team.name)))


def get_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    """The token whose secret hashes to `token_hash`."""
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()


def list_tokens(session: Session, user_id: int) -> Sequence[ApiToken]:
    """A user's tokens, newest first."""
    return session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    ).all()


def get_locale(session: Session, user_id: int) -> str | None:
    """The language a user chose, if any."""
    pref = session.get(UserPreference, user_id)
    return pref.locale if pref else None


def set_locale(session: Session, user_id: int, locale: str) -> None:
    """Remember the language a user chose."""
    pref = session.get(UserPreference, user_id)
    if pref is None:
        session.add(UserPreference(user_id=user_id, locale=locale))
    else:
        pref.locale = locale


def add_audit(
    session: Session | Connection,
    *,
    at: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None,
    details: dict[str, Any] | None,
    source: str | None = None,
) -> None:
    """Append one audit entry (through an ORM session or a plain connection, in the caller's transaction)."""
    values = {
        "at": at,
        "actor_id": actor_id,
        "actor": actor[:200],
        "action": action[:64],
        "entity": entity[:64],
        "entity_id": None if entity_id is None else entity_id[:200],
        "details": details,
        "source": None if source is None else source[:200],
    }
    if isinstance(session, Session):
        session.add(AuditEntry(**values))  # written at the session's next flush, with its other changes
    else:
        session.execute(insert(AUDIT), [values])


def list_audit(session: Session, *, entity: str | None = None, limit: int = 100) -> Sequence[AuditEntry]:
    """The latest audit entries, optionally for one kind of entity."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    return session.scalars(query).all()


def audit_page(
    session: Session,
    *,
    actor: str | None,
    action: str | None,
    entity: str | None,
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[AuditEntry], int]:
    """One page of audit entries, newest first, matching every filter given, and how many match in all."""
    conditions = []
    if actor is not None:
        conditions.append(func.lower(AuditEntry.actor) == actor.casefold())
    if action is not None:
        conditions.append(AuditEntry.action == action)
    if entity is not None:
        conditions.append(AuditEntry.entity == entity)
    if since is not None:
        conditions.append(AuditEntry.at >= since)
    if until is not None:
        conditions.append(AuditEntry.at < until)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    query = query.offset(offset).limit(limit)
    return session.scalars(query).all(), int(total)


def add_session(session: Session, row: UserSession) -> None:
    """Store a new browser session, first dropping sessions that expired a day ago or more."""
    session.execute(delete(UserSession).where(UserSession.expires_at < row.created_at - timedelta(days=1)))
    session.add(row)


def get_session_by_hash(session: Session, secret_hash: str) -> UserSession | None:
    """The browser session whose secret hashes to `secret_hash`."""
    return session.scalars(select(UserSession).where(UserSession.secret_hash == secret_hash)).first()


def end_sessions(session: Session, user_id: int, at: datetime) -> int:
    """End every live browser session of a user; returns how many."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None), UserSession.expires_at > at)
        .values(ended_at=at)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
