"""Playbooks through the admin API and the settings page: store, refuse with the field named, reset, YAML."""

from __future__ import annotations

import html
from collections.abc import Callable

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth.schemas import Scope
from churnradar.intervention import playbooks
from churnradar.models import AuditEntry
from tests.web.conftest import World, bearer, csrf_of

RED = {
    "role": "director",
    "team": "East",
    "deadline_hours": 12,
    "follow_up_every_hours": 24,
    "escalate_to": "director",
    "notify": ["owner_and_manager"],
    "actions_en": ["Director calls the decision maker"],
    "actions_zh": ["总监致电决策人"],
}


def _stored(world: World) -> dict[tuple[str, str], int]:
    with world.engine.connect() as conn:
        return {key: book.deadline_hours for key, book in playbooks.stored(conn).items()}


class TestApi:
    def test_admins_store_list_export_import_and_reset(
        self, world: World, token_for: Callable[..., str]
    ) -> None:
        api = TestClient(world.app, base_url="http://127.0.0.1")
        admin = bearer(token_for("admin", Scope.ADMIN))
        for login, scopes in (("admin", (Scope.READ,)), ("mgr_east", (Scope.ADMIN,))):
            refused = api.put(
                "/api/v1/playbooks/general/red", json=RED, headers=bearer(token_for(login, *scopes))
            )
            assert refused.status_code == 403
        stored = api.put("/api/v1/playbooks/general/red", json=RED, headers=admin)
        assert stored.status_code == 200, stored.text
        assert (stored.json()["deadline_hours"], stored.json()["team"]) == (12, "East")
        listed = api.get("/api/v1/playbooks", headers=admin).json()
        red = next(p for p in listed if (p["template"], p["level"]) == ("general", "red"))
        assert (red["source"], red["deadline_hours"], red["escalate_to"]) == ("stored", 12, "director")
        assert {p["source"] for p in listed if p["template"] == "saas"} == {"template"}

        exported = api.get("/api/v1/playbooks/export", headers=admin)
        assert exported.headers["content-type"].startswith("application/yaml")
        document = yaml.safe_load(exported.text)
        for entry in document["playbooks"]:
            if (entry["template"], entry["level"]) == ("saas", "orange"):
                entry["deadline_hours"] = 60
        imported = api.post("/api/v1/playbooks/import", content=yaml.safe_dump(document), headers=admin)
        assert imported.json() == {"stored": len(document["playbooks"])}
        assert _stored(world)[("saas", "orange")] == 60
        assert _stored(world)[("general", "red")] == 12

        assert api.delete("/api/v1/playbooks/general/red", headers=admin).json()["removed"] is True
        assert ("general", "red") not in _stored(world)
        assert api.delete("/api/v1/playbooks/general/red", headers=admin).status_code == 404
        with world.engine.connect() as conn:
            audit = [
                (a.action, a.entity)
                for a in conn.execute(
                    select(AuditEntry)
                    .where(AuditEntry.entity.in_(["playbook", "playbooks"]))
                    .order_by(AuditEntry.id)
                )
            ]
        assert audit == [
            ("update", "playbook"),
            ("export", "playbooks"),
            ("import", "playbook"),
            ("delete", "playbook"),
        ]

    def test_bad_input_is_refused_with_the_field_named_and_nothing_stored(
        self, world: World, token_for: Callable[..., str]
    ) -> None:
        api = TestClient(world.app, base_url="http://127.0.0.1")
        admin = bearer(token_for("admin", Scope.ADMIN))
        cases = [
            ("general/red", {**RED, "deadline_hours": -1}, "deadline_hours"),
            ("general/red", {**RED, "role": "janitor"}, "role"),
            ("general/red", {**RED, "team": "Nowhere"}, "team: unknown team 'Nowhere'"),
            ("nowhere/red", RED, "template: unknown template 'nowhere'"),
            ("general/purple", RED, "level: unknown level 'purple'"),
        ]
        for path, body, named in cases:
            refused = api.put(f"/api/v1/playbooks/{path}", json=body, headers=admin)
            assert refused.status_code == 422, path
            assert named in refused.json()["detail"]
        wrong = {"playbooks": [{"template": "general", "level": "red", **RED, "deadline_hours": 0}]}
        refused = api.post("/api/v1/playbooks/import", content=yaml.safe_dump(wrong), headers=admin)
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith("playbooks[0].deadline_hours")
        assert _stored(world) == {}


class TestPage:
    def test_an_admin_changes_the_red_deadline_and_a_negative_one_is_refused(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        client = client_for("admin")
        token = csrf_of(client.get("/settings").text)
        saved = client.post(
            "/settings/playbooks/general/red",
            data={"csrf_token": token, "deadline_hours": "8", "follow_up_every_hours": "24"},
            follow_redirects=False,
        )
        assert saved.status_code == 303
        assert _stored(world) == {("general", "red"): 8}
        page = html.unescape(client.get("/settings").text)
        form = page[page.index('action="/settings/playbooks/general/red"') :]
        assert 'name="deadline_hours" value="8"' in form[:600]
        refused = client.post(
            "/settings/playbooks/general/red", data={"csrf_token": token, "deadline_hours": "-3"}
        )
        assert refused.status_code == 422
        assert "deadline_hours: Input should be greater than 0" in html.unescape(refused.text)
        assert _stored(world) == {("general", "red"): 8}
        rep = client_for("rep_east")
        rep_token = csrf_of(rep.get("/account").text)
        denied = rep.post(
            "/settings/playbooks/general/red", data={"csrf_token": rep_token, "deadline_hours": "2"}
        )
        assert denied.status_code == 403
        assert _stored(world) == {("general", "red"): 8}

    def test_the_whole_form_edits_every_field_and_names_a_wrong_one(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        client = client_for("admin")
        token = csrf_of(client.get("/settings").text)
        form = {
            "csrf_token": token,
            "deadline_hours": "36",
            "follow_up_every_hours": "",
            "role": "owner_and_manager",
            "team": "West",
            "business_hours": "yes",
            "notify": ["director"],
            "escalate_to": "director",
            "actions_en": "Call the customer\n\nVisit with sales",
            "actions_zh": "致电客户\n与销售一同拜访",
        }
        saved = client.post("/settings/playbooks/general/orange", data=form, follow_redirects=False)
        assert saved.status_code == 303
        with world.engine.connect() as conn:
            book = playbooks.stored(conn)[("general", "orange")]
        assert (book.role.value, book.team, book.business_hours, book.follow_up_every_hours) == (
            "owner_and_manager",
            "West",
            True,
            None,
        )
        assert ([r.value for r in book.notify], book.escalate_to) == (["director"], "director")
        assert (book.actions_en, book.actions_zh) == (
            ["Call the customer", "Visit with sales"],
            ["致电客户", "与销售一同拜访"],
        )
        page = html.unescape(client.get("/settings").text)
        shown = page[page.index('action="/settings/playbooks/general/orange"') :][:6000]
        assert '<option value="West" selected>' in shown
        refused = client.post("/settings/playbooks/general/orange", data={**form, "actions_zh": "致电客户"})
        assert refused.status_code == 422
        assert "actions_en and actions_zh must list the same actions" in html.unescape(refused.text)

    def test_refusals_are_in_the_reader_s_language(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        client = client_for("admin")
        client.post(
            "/language", data={"csrf_token": csrf_of(client.get("/settings").text), "locale": "zh_CN"}
        )
        token = csrf_of(client.get("/settings").text)
        form = {"csrf_token": token, "deadline_hours": "8", "role": "owner", "team": "Nowhere"}
        form |= {"actions_en": "Call", "actions_zh": "致电"}
        refused = client.post("/settings/playbooks/general/red", data=form)
        assert "team：未知团队 'Nowhere'" in html.unescape(refused.text)
        route = {"csrf_token": token, "name": "r", "teams": "Nowhere", "assign_to": "owner"}
        refused = client.post("/settings/task-routes", data=route)
        assert "routes[0].teams：未知团队 'Nowhere'" in html.unescape(refused.text)
        channel = {"csrf_token": token, "name": "Bad Name", "type": "webhook"}
        refused = client.post("/settings/channels", data=channel)
        assert "name：请使用 1-64 个小写字母" in html.unescape(refused.text)
