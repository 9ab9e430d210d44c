"""Users and API tokens: create, set passwords, authenticate, and record every change in the audit log."""

from __future__ import annotations

import getpass
import hashlib
import json
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from types import EllipsisType
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar.auth import passwords
from churnradar.auth import repository as repo
from churnradar.auth.exceptions import AuthError
from churnradar.auth.schemas import Principal, Scope, TokenRead
from churnradar.kit.clock import Clock, SystemClock
from churnradar.kit.phone import normalize_phone
from churnradar.models.access import ApiToken
from churnradar.models.people import Role, Team, User

TOKEN_PREFIX = "crk_"  # noqa: S105 (a marker, not a secret)
# last_used_at is written at most this often per token, so reads do not turn into writes on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
LOCALES = ("en", "zh_CN")
# Audit details never keep a value under a key naming one of these, and keep each value short.
SECRET_WORDS = ("password", "secret", "hash", "api_key", "private_key", "credential")
MAX_AUDIT_KEYS = 50
MAX_AUDIT_VALUE = 500


# Reads served as the repository answers them: other packages come through this service, never the repository.
get_user = repo.get_user
get_user_by_login = repo.get_user_by_login
list_users = repo.list_users
list_team_names = repo.list_team_names
list_audit = repo.list_audit
audit_page = repo.audit_page


def cli_source() -> str:
    """Where a command-line change comes from: `cli:` and the operating-system user running it."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment and none in the password database
        user = "unknown"
    return f"cli:{user}"[:200]


def _bounded(details: dict[str, Any] | None) -> dict[str, Any] | None:
    """Details as stored: never a value under a secret-sounding key, and each value of bounded size."""
    if not details:
        return None
    kept: dict[str, Any] = {}
    for key, value in list(details.items())[:MAX_AUDIT_KEYS]:
        if any(word in key.casefold() for word in SECRET_WORDS):
            continue
        if isinstance(value, str) and len(value) > MAX_AUDIT_VALUE:
            value = value[:MAX_AUDIT_VALUE] + "…"
        elif not isinstance(value, str | int | float | bool | type(None)):
            text = json.dumps(value, ensure_ascii=False, default=str)
            value = value if len(text) <= MAX_AUDIT_VALUE else text[:MAX_AUDIT_VALUE] + "…"
        kept[str(key)[:64]] = value
    return kept or None


def record(
    session: Session | Connection,
    actor: Principal | None,
    action: str,
    entity: str,
    entity_id: str | int | None,
    details: dict[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    at: datetime | None = None,
) -> None:
    """Audit who (None: the command line) did `action` to `entity`, when, and from where."""
    repo.add_audit(
        session,
        at=at or (clock or SystemClock()).now(),
        actor_id=actor.user_id if actor else None,
        actor=actor.login if actor else "cli",
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        details=_bounded(details),
        source=(actor.source if actor else cli_source()),
    )


def record_export(
    session: Session | Connection,
    actor: Principal | None,
    what: str,
    *,
    format: str,
    filters: Any = None,
) -> None:
    """Audit an export (who took which list, in what format, with which filters) before it is sent."""
    chosen = filters.model_dump(mode="json", exclude_defaults=True) if filters is not None else {}
    record(session, actor, "export", what, None, {"format": format, **chosen})


def record_login(
    session: Session, login: str, *, user_id: int | None, ok: bool, at: datetime, source: str | None
) -> None:
    """Audit a sign-in attempt by the login typed (never the password); failures name no user id."""
    repo.add_audit(
        session,
        at=at,
        actor_id=user_id,
        actor=login.strip()[:200],
        action="login" if ok else "login_failed",
        entity="session",
        entity_id=login.strip()[:200],
        details=None,
        source=source,
    )


def principal_for(user: User, scopes: frozenset[Scope] | None = None) -> Principal | None:
    """The principal of an active user with a known role; None otherwise (fail closed)."""
    if not user.is_active:
        return None
    try:
        role = Role(user.role)
    except ValueError:
        return None
    return Principal(
        user_id=user.id,
        login=user.login,
        role=role,
        team_id=user.team_id,
        display_name=user.display_name,
        scopes=scopes,
    )


def check_phone(phone: str | None) -> str | None:
    """The E.164 form of a phone number given (None for none), or AuthError when it is not one."""
    if phone is None or not phone.strip():
        return None
    normalized = normalize_phone(phone)
    if normalized is None:
        raise AuthError("a phone number needs the international form, like +8613800138000")
    return normalized


def create_user(
    session: Session,
    *,
    login: str,
    role: Role,
    password: str | None,
    team: str | None = None,
    email: str | None = None,
    display_name: str | None = None,
    manager: str | None = None,
    phone: str | None = None,
    actor: Principal | None = None,
) -> User:
    """Create a user (with a password when given); refuses a login that exists."""
    login = login.strip()
    if not login:
        raise AuthError("a login cannot be empty")
    if repo.get_user_by_login(session, login) is not None:
        raise AuthError(f"user {login!r} already exists")
    if password is not None and (problem := passwords.check_strength(password)):
        raise AuthError(problem)
    phone = check_phone(phone)
    manager_user = None
    if manager:
        manager_user = repo.get_user_by_login(session, manager)
        if manager_user is None:
            raise AuthError(f"manager {manager!r} does not exist")
    user = User(
        login=login,
        role=role.value,
        email=email,
        phone=phone,
        display_name=display_name,
        team_id=repo.get_or_create_team(session, team).id if team else None,
        manager_id=manager_user.id if manager_user else None,
        password_hash=passwords.hash_password(password) if password is not None else None,
        is_active=True,
    )
    session.add(user)
    session.flush()
    details = {"role": role.value, "team": team, "email": email, "phone": phone, "manager": manager}
    record(session, actor, "create", "user", user.login, {k: v for k, v in details.items() if v})
    return user


def create_team(session: Session, name: str, *, actor: Principal | None = None) -> Team:
    """Create a team; refuses an empty name or one that exists."""
    name = name.strip()
    if not name:
        raise AuthError("a team name cannot be empty")
    if name in repo.list_team_names(session):
        raise AuthError(f"team {name!r} already exists")
    team = repo.get_or_create_team(session, name)
    record(session, actor, "create", "team", team.name)
    return team


def set_password(
    session: Session,
    *,
    login: str,
    password: str,
    actor: Principal | None = None,
    clock: Clock | None = None,
) -> User:
    """Replace a user's password; their existing browser sessions end."""
    user = repo.get_user_by_login(session, login)
    if user is None:
        raise AuthError(f"no user {login!r}")
    if problem := passwords.check_strength(password):
        raise AuthError(problem)
    now = (clock or SystemClock()).now()
    user.password_hash = passwords.hash_password(password)
    ended = repo.end_sessions(session, user.id, now)
    record(session, actor, "set_password", "user", user.login, {"sessions_ended": ended}, at=now)
    return user


def authenticate(session: Session, *, login: str, password: str) -> User | None:
    """The active user whose password matches, or None; upgrades old hashes on the way."""
    user = repo.get_user_by_login(session, login)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or principal_for(user) is None:
        return None
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def parse_scopes(raw: Iterable[str]) -> frozenset[Scope]:
    """Scopes from names like "read", refusing unknown ones."""
    scopes: set[Scope] = set()
    for name in raw:
        name = name.strip().lower()
        if not name:
            continue
        try:
            scopes.add(Scope(name))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise AuthError(f"unknown scope {name!r} (known: {known})") from None
    if not scopes:
        raise AuthError("a token needs at least one scope")
    return frozenset(scopes)


def _digest(secret: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session,
    *,
    login: str,
    scopes: frozenset[Scope],
    name: str = "",
    expires_in: timedelta | None = None,
    actor: Principal | None = None,
    clock: Clock | None = None,
) -> tuple[ApiToken, str]:
    """A new API token for `login`; returns the stored row and the secret, which is shown only now."""
    user = repo.get_user_by_login(session, login)
    if user is None:
        raise AuthError(f"no user {login!r}")
    now = (clock or SystemClock()).now()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name or f"token for {user.login}",
        prefix=secret[:12],
        token_hash=_digest(secret),
        scopes=",".join(sorted(s.value for s in scopes)),
        created_at=now,
        expires_at=now + expires_in if expires_in else None,
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor,
        "create",
        "api_token",
        token.id,
        {"user": user.login, "scopes": token.scopes, "expires_at": str(token.expires_at or "")},
        clock=clock,
    )
    return token, secret


def token_principal(session: Session, secret: str, *, clock: Clock | None = None) -> Principal | None:
    """The principal of a valid, unexpired, unrevoked token, with its scopes; None otherwise."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = repo.get_token_by_hash(session, _digest(secret))
    now = (clock or SystemClock()).now()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    user = repo.get_user(session, token.user_id)
    if user is None:
        return None
    principal = principal_for(user, parse_scopes(token.scopes.split(",")))
    if principal and (token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION):
        token.last_used_at = now
    return principal


def revoke_token(
    session: Session,
    token_id: int,
    *,
    owner_id: int | None = None,
    actor: Principal | None = None,
    clock: Clock | None = None,
) -> bool:
    """Revoke a token (only `owner_id`'s, when given); False when there is no such live token."""
    token = session.get(ApiToken, token_id)
    if token is None or token.revoked_at is not None:
        return False
    if owner_id is not None and token.user_id != owner_id:
        return False
    token.revoked_at = (clock or SystemClock()).now()
    record(session, actor, "revoke", "api_token", token.id, clock=clock)
    return True


def list_tokens(session: Session, user_id: int) -> list[TokenRead]:
    """A user's tokens as they may be shown (no secrets)."""
    return [
        TokenRead(
            id=t.id,
            name=t.name,
            prefix=t.prefix,
            scopes=[Scope(s) for s in t.scopes.split(",") if s],
            created_at=t.created_at,
            last_used_at=t.last_used_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
        )
        for t in repo.list_tokens(session, user_id)
    ]


def update_user(
    session: Session,
    user_id: int,
    *,
    role: Role,
    team: str | None,
    manager: str | None,
    is_active: bool,
    phone: str | EllipsisType | None = ...,
    actor: Principal | None = None,
    clock: Clock | None = None,
) -> User:
    """Change a user's role, team, manager, phone (`...`: keep it) or active flag, audited with each old and
    new value; deactivating a user ends their browser sessions."""
    user = repo.get_user(session, user_id)
    if user is None:
        raise AuthError(f"no user {user_id}")
    manager_user = repo.get_user_by_login(session, manager) if manager else None
    if manager and manager_user is None:
        raise AuthError(f"manager {manager!r} does not exist")
    if manager_user is not None and manager_user.id == user.id:
        raise AuthError("a user cannot manage themselves")
    if actor is not None and actor.user_id == user.id and (role != Role(user.role) or not is_active):
        raise AuthError("you cannot change your own role or deactivate yourself")
    new_phone = user.phone if isinstance(phone, EllipsisType) else check_phone(phone)
    before = repo.describe_user(session, user)
    user.phone = new_phone
    user.role = role.value
    user.team_id = repo.get_or_create_team(session, team).id if team else None
    user.manager_id = manager_user.id if manager_user else None
    user.is_active = is_active
    after = repo.describe_user(session, user)
    changes: dict[str, Any] = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    now = (clock or SystemClock()).now()
    if not is_active and (ended := repo.end_sessions(session, user.id, now)):
        changes["sessions_ended"] = ended
    if changes:
        record(session, actor, "update", "user", user.login, changes, at=now)
    return user


def preferred_locale(session: Session, user_id: int) -> str | None:
    """The language a user chose in the interface, if any."""
    return repo.get_locale(session, user_id)


def choose_locale(session: Session, principal: Principal, locale: str) -> None:
    """Remember a user's interface language."""
    if locale not in LOCALES:
        raise AuthError(f"unsupported language {locale!r}")
    repo.set_locale(session, principal.user_id, locale)
