"""REST API for users and teams: admins' tokens with the admin scope only; refusals change nothing."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from churnradar.auth.schemas import Scope
from churnradar.models import AuditEntry, User
from tests.web.conftest import World, bearer


def _users(world: World) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(User)).scalar_one())


def test_only_an_admins_token_with_the_admin_scope_gets_in(
    world: World, anonymous: TestClient, token_for: Callable[..., str]
) -> None:
    for login, scopes in (("admin", (Scope.READ,)), ("mgr_east", (Scope.READ, Scope.ADMIN))):
        headers = bearer(token_for(login, *scopes))
        assert anonymous.get("/api/v1/users", headers=headers).status_code == 403
        body = {"login": "x", "role": "rep"}
        assert anonymous.post("/api/v1/users", json=body, headers=headers).status_code == 403
        assert anonymous.post("/api/v1/teams", json={"name": "North"}, headers=headers).status_code == 403
    admin = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
    users = anonymous.get("/api/v1/users", headers=admin).json()
    rep = next(u for u in users if u["login"] == "rep_east")
    assert (rep["role"], rep["team"], rep["manager"]) == ("rep", "East", "mgr_east")


def test_create_and_change_users_and_teams(
    world: World, anonymous: TestClient, token_for: Callable[..., str]
) -> None:
    admin = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
    before = _users(world)
    weak = {"login": "rep_north", "role": "rep", "password": "short"}
    assert anonymous.post("/api/v1/users", json=weak, headers=admin).status_code == 400
    taken = {"login": "rep_east", "role": "rep"}
    refused = anonymous.post("/api/v1/users", json=taken, headers=admin)
    assert (refused.status_code, refused.json()["detail"]) == (400, "user 'rep_east' already exists")
    assert _users(world) == before
    assert anonymous.post("/api/v1/teams", json={"name": "North"}, headers=admin).status_code == 201
    assert "North" in anonymous.get("/api/v1/teams", headers=admin).json()
    assert anonymous.post("/api/v1/teams", json={"name": "North"}, headers=admin).status_code == 400
    body = {"login": "rep_north", "role": "rep", "team": "North", "manager": "mgr_east", "email": "n@x.cn"}
    created = anonymous.post("/api/v1/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["team"], user["manager"], user["is_active"]) == ("North", "mgr_east", True)
    change = {"role": "manager", "team": "North", "manager": None, "is_active": False}
    changed = anonymous.put(f"/api/v1/users/{user['id']}", json=change, headers=admin).json()
    assert (changed["role"], changed["manager"], changed["is_active"]) == ("manager", None, False)
    assert anonymous.put("/api/v1/users/99999", json=change, headers=admin).status_code == 404
    with world.engine.connect() as conn:
        audited = conn.execute(
            select(AuditEntry.action, AuditEntry.entity).where(
                AuditEntry.entity_id.in_(["rep_north", "North"])
            )
        ).all()
    assert sorted(audited) == [("create", "team"), ("create", "user"), ("update", "user")]
