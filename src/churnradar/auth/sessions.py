"""Browser sessions kept on the server: signing in starts one, signing out, a new password or a deactivated
account ends it, and a request counts only while its row is live (a copied cookie dies with it)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from churnradar.auth import repository as repo
from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.models.access import UserSession
from churnradar.models.people import User

SECRET_BYTES = 32
MAX_SECRET_CHARS = 100


def _digest(secret: str) -> str:
    # 256 random bits: a fast hash is enough, there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def start(session: Session, user: User, *, now: datetime, lifetime: timedelta, source: str | None) -> str:
    """Start a session for `user` (audited); returns the cookie's secret, of which only a hash is kept."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    repo.add_session(
        session,
        UserSession(user_id=user.id, secret_hash=_digest(secret), created_at=now, expires_at=now + lifetime),
    )
    auth_service.record_login(session, user.login, user_id=user.id, ok=True, at=now, source=source)
    return secret


def principal(session: Session, secret: str, *, now: datetime) -> Principal | None:
    """The principal of a live, unexpired session of a still active user; None otherwise."""
    if not secret or len(secret) > MAX_SECRET_CHARS:
        return None
    row = repo.get_session_by_hash(session, _digest(secret))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    user = repo.get_user(session, row.user_id)
    return auth_service.principal_for(user) if user is not None else None


def end(session: Session, secret: str, *, now: datetime, actor: Principal) -> None:
    """End one session (signing out), audited."""
    row = repo.get_session_by_hash(session, _digest(secret)) if len(secret) <= MAX_SECRET_CHARS else None
    if row is not None and row.ended_at is None:
        row.ended_at = now
    auth_service.record(session, actor, "logout", "session", actor.login, at=now)
