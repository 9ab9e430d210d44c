"""Administration and the account page: admins manage users, everyone their own tokens; all of it audited."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth.schemas import Scope
from churnradar.models import ApiToken, AuditEntry, User
from churnradar.web.app import route_table
from tests.web.conftest import World, bearer, csrf_of


def _audit(world: World) -> list[tuple[str, str, str, str | None]]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity, AuditEntry.entity_id)
            .where(AuditEntry.entity != "session")  # sign-ins and sign-outs
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


class TestAdministration:
    def test_every_admin_route_refuses_other_roles(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        routes = [(p, m) for p, ms in route_table(world.app) for m in ms - {"HEAD"} if p.startswith("/admin")]
        assert len(routes) >= 4
        for login in ("director", "mgr_east", "rep_east"):
            client = client_for(login)
            token = csrf_of(client.get("/customers").text)
            for path, method in routes:
                concrete = path.replace("{user_id}", str(world.ids.users["rep_east"]))
                data = {"csrf_token": token, "role": "admin", "login": "x", "password": "long enough pass"}
                response = client.request(method, concrete, data=data if method == "POST" else None)
                assert response.status_code == 403, (login, method, path, response.status_code)
            assert "/admin/users" not in client.get("/").text  # not in their navigation either
        with world.engine.connect() as conn:
            assert conn.execute(select(User.role).where(User.login == "rep_east")).scalar_one() == "rep"

    def test_an_admin_creates_and_changes_users_and_the_audit_log_says_so(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        admin = client_for("admin")
        token = csrf_of(admin.get("/admin/users").text)
        created = admin.post(
            "/admin/users",
            data={
                "csrf_token": token,
                "login": "new_rep",
                "role": "rep",
                "team": "West",
                "manager": "mgr_west",
                "password": "a fresh password",
            },
            follow_redirects=False,
        )
        assert created.status_code == 303
        duplicate = admin.post(
            "/admin/users",
            data={"csrf_token": token, "login": "new_rep", "role": "rep", "password": "x" * 10},
        )
        assert duplicate.status_code == 400
        assert "already exists" in duplicate.text
        rep_east = world.ids.users["rep_east"]
        moved = admin.post(
            f"/admin/users/{rep_east}",
            data={"csrf_token": token, "role": "manager", "team": "West", "manager": "", "is_active": "true"},
            follow_redirects=False,
        )
        assert moved.status_code == 303
        assert (
            admin.post(
                f"/admin/users/{world.ids.users['admin']}", data={"csrf_token": token, "role": "rep"}
            ).status_code
            == 400
        )  # not yourself
        assert _audit(world) == [
            ("admin", "create", "user", "new_rep"),
            ("admin", "update", "user", "rep_east"),
        ]
        with world.engine.connect() as conn:
            details = (
                conn.execute(select(AuditEntry.details).order_by(AuditEntry.id.desc())).scalars().first()
            )
        assert details == {
            "role": ["rep", "manager"],
            "team": ["East", "West"],
            "manager": ["mgr_east", None],
        }
        page = admin.get("/admin/audit").text
        assert "new_rep" in page
        assert "rep → manager" in page

    def test_a_deactivated_user_is_signed_out(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        rep = client_for("rep_west")
        admin = client_for("admin")
        token = csrf_of(admin.get("/admin/users").text)
        admin.post(f"/admin/users/{world.ids.users['rep_west']}", data={"csrf_token": token, "role": "rep"})
        assert rep.get("/customers", follow_redirects=False).status_code == 303


class TestAccountTokens:
    def test_create_use_and_revoke_a_token_from_the_page(
        self, world: World, client_for: Callable[[str], TestClient], anonymous: TestClient
    ) -> None:
        rep = client_for("rep_east")
        token = csrf_of(rep.get("/account").text)
        page = rep.post("/account/tokens", data={"csrf_token": token, "name": "crm", "scopes": ["read"]}).text
        secret = re.search(r'<pre id="new-token">(crk_[^<]+)</pre>', page)
        assert secret is not None
        assert anonymous.get("/api/v1/customers", headers=bearer(secret.group(1))).status_code == 200
        assert secret.group(1) not in rep.get("/account").text  # shown once only
        with world.engine.connect() as conn:
            token_id = conn.execute(select(ApiToken.id).where(ApiToken.name == "crm")).scalar_one()
        revoked = rep.post(
            f"/account/tokens/{token_id}/revoke", data={"csrf_token": token}, follow_redirects=False
        )
        assert revoked.status_code == 303
        assert anonymous.get("/api/v1/customers", headers=bearer(secret.group(1))).status_code == 401
        assert [a for _, a, e, _ in _audit(world) if e == "api_token"] == ["create", "revoke"]

    def test_nobody_revokes_someone_elses_token(
        self,
        world: World,
        client_for: Callable[[str], TestClient],
        token_for: Callable[..., str],
        anonymous: TestClient,
    ) -> None:
        secret = token_for("rep_west", Scope.READ)
        with world.engine.connect() as conn:
            token_id = conn.execute(select(ApiToken.id)).scalar_one()
        for login in ("rep_east", "admin"):
            client = client_for(login)
            token = csrf_of(client.get("/account").text)
            assert (
                client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": token}).status_code
                == 404
            )
        assert anonymous.get("/api/v1/customers", headers=bearer(secret)).status_code == 200

    def test_a_token_needs_a_known_scope(self, client_for: Callable[[str], TestClient]) -> None:
        rep = client_for("rep_east")
        token = csrf_of(rep.get("/account").text)
        assert rep.post("/account/tokens", data={"csrf_token": token, "scopes": ["root"]}).status_code == 400
        assert rep.post("/account/tokens", data={"csrf_token": token}).status_code == 400
