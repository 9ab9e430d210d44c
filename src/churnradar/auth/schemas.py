"""The authenticated person as the rest of the code sees it, and the scopes an API token can carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from churnradar.models.people import Role


class Scope(StrEnum):
    """What an API token may do; a session in the browser may do what the role allows."""

    READ = "read"
    INGEST = "ingest"
    # Changes configuration (rules); only an admin's token may use it, whatever scopes it carries.
    ADMIN = "admin"
    WRITE = "write"  # change work items: follow-ups, closing and reassigning tasks


@dataclass(frozen=True)
class Principal:
    """Who is asking: the user's id, role and team, and for API tokens the scopes granted."""

    user_id: int
    login: str
    role: Role
    team_id: int | None = None
    display_name: str | None = None
    # None for a browser session (the role decides); a set for a token (the role and the scopes decide).
    scopes: frozenset[Scope] | None = None
    # Where the request came from, for the audit log: "web:<address>" (a page) or "api:<address>" (a token).
    source: str | None = None

    @property
    def label(self) -> str:
        """The name shown in the page header and the audit log."""
        return self.display_name or self.login

    def has_scope(self, scope: Scope) -> bool:
        """True for sessions, and for tokens that were granted `scope`."""
        return self.scopes is None or scope in self.scopes


class TokenRead(BaseModel):
    """An API token as listed: never the secret, only its first characters."""

    id: int
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
