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


class TestPhoneNumbers:
    def test_the_api_takes_checks_and_keeps_a_phone_number(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        admin = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
        before = _users(world)
        for bad in ("13800138000", "+86 abc", "+1" + "2" * 20, "x" * 40):
            body = {"login": "rep_sms", "role": "rep", "phone": bad}
            assert anonymous.post("/api/v1/users", json=body, headers=admin).status_code in (400, 422), bad
        assert _users(world) == before
        body = {"login": "rep_sms", "role": "rep", "phone": "+86 138-0013-8000"}
        created = anonymous.post("/api/v1/users", json=body, headers=admin).json()
        assert created["phone"] == "+8613800138000"
        change = {"role": "rep", "team": "East", "is_active": True}
        kept = anonymous.put(f"/api/v1/users/{created['id']}", json=change, headers=admin).json()
        assert kept["phone"] == "+8613800138000"  # not given: left alone
        cleared = anonymous.put(
            f"/api/v1/users/{created['id']}", json=change | {"phone": None}, headers=admin
        ).json()
        assert cleared["phone"] is None
        with world.engine.connect() as conn:
            details = conn.execute(
                select(AuditEntry.details).where(AuditEntry.entity_id == "rep_sms").order_by(AuditEntry.id)
            ).scalars()
            assert [d.get("phone") for d in details][-1] == ["+8613800138000", None]

    def test_the_users_page_sets_a_phone_number(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        from tests.web.conftest import csrf_of

        admin = client_for("admin")
        page = admin.get("/admin/users").text
        token = csrf_of(page)
        user_id = world.ids.users["rep_east"]
        form = {
            "csrf_token": token,
            "role": "rep",
            "team": "East",
            "manager": "mgr_east",
            "is_active": "true",
        }
        refused = admin.post(f"/admin/users/{user_id}", data=form | {"phone": "call me"})
        assert refused.status_code == 400
        assert "+8613800138000" in refused.text  # the message shows the form expected
        ok = admin.post(
            f"/admin/users/{user_id}", data=form | {"phone": "+44 20 7946 0958"}, follow_redirects=False
        )
        assert ok.status_code == 303
        assert 'value="+442079460958"' in admin.get("/admin/users").text
