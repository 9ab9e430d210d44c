"""Queries for users, teams, API tokens, preferences and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from churnradar.models.access import ApiToken, AuditEntry, UserPreference
from churnradar.models.people import Team, User


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
    session: Session,
    *,
    at: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None,
    details: dict[str, Any] | None,
) -> AuditEntry:
    """Append one audit entry."""
    entry = AuditEntry(
        at=at,
        actor_id=actor_id,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=details,
    )
    session.add(entry)
    return entry


def list_audit(session: Session, *, entity: str | None = None, limit: int = 100) -> Sequence[AuditEntry]:
    """The latest audit entries, optionally for one kind of entity."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    return session.scalars(query).all()
