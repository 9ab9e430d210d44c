"""Task routes and notification routing through the admin API: stored in order, refused whole with the place
named, exported and imported as YAML, admins only, in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

import yaml
from fastapi.testclient import TestClient

from churnradar.auth.schemas import Scope
from tests.web.conftest import World, bearer, csrf_of

RED_ENTERPRISE = {
    "name": "red on enterprise",
    "levels": ["red"],
    "segments": ["enterprise"],
    "assign_to": "owner_director",
    "notify": ["owner"],
}


def test_task_routes_are_stored_exported_and_imported_whole(
    world: World, token_for: Callable[..., str]
) -> None:
    api = TestClient(world.app, base_url="http://127.0.0.1")
    admin = bearer(token_for("admin", Scope.ADMIN))
    refused = api.put(
        "/api/v1/task-routes", json=[RED_ENTERPRISE], headers=bearer(token_for("mgr_east", Scope.ADMIN))
    )
    assert refused.status_code == 403
    stored = api.put("/api/v1/task-routes", json=[RED_ENTERPRISE, {"name": "rest"}], headers=admin)
    assert stored.status_code == 200, stored.text
    assert [r["name"] for r in api.get("/api/v1/task-routes", headers=admin).json()] == [
        "red on enterprise",
        "rest",
    ]

    text = api.get("/api/v1/task-routes/export", headers=admin).text
    document = yaml.safe_load(text)
    document["routes"][1]["levels"] = ["purple"]
    wrong = api.post("/api/v1/task-routes/import", content=yaml.safe_dump(document), headers=admin)
    assert wrong.status_code == 422
    assert "routes[1].levels" in wrong.json()["detail"]
    document["routes"] = document["routes"][:1]
    assert api.post("/api/v1/task-routes/import", content=yaml.safe_dump(document), headers=admin).json() == {
        "stored": 1
    }
    paths = api.get("/api/v1/openapi.json", headers=bearer(token_for("rep_east"))).json()["paths"]
    assert {"/api/v1/task-routes", "/api/v1/task-routes/import", "/api/v1/notification-routing"} <= set(paths)


def test_notification_routes_and_quiet_hours_stored_over_the_file_s(
    world: World, token_for: Callable[..., str]
) -> None:
    api = TestClient(world.app, base_url="http://127.0.0.1")
    admin = bearer(token_for("admin", Scope.ADMIN))
    assert api.get("/api/v1/notification-routing", headers=admin).json()["source"] == "file"
    shipped = api.get("/api/v1/notification-routing/export", headers=admin).text  # its routes name "email"
    back = api.post("/api/v1/notification-routing/import", content=shipped, headers=admin)
    assert back.status_code == 200, back.text  # round-trips with no channel configured yet
    assert api.delete("/api/v1/notification-routing", headers=admin).json() == {"removed": True}
    channel = {"type": "webhook", "secrets": {"url": "http://127.0.0.1:9/x", "secret": "s" * 16}}
    assert api.put("/api/v1/channels/robot", json=channel, headers=admin).status_code == 200
    body = {
        "routes": [{"events": ["alert_opened"], "levels": ["red"], "to": ["directors"], "channel": "robot"}],
        "quiet_start": "22:00:00",
    }
    wrong = api.put("/api/v1/notification-routing", json=body, headers=admin)
    assert wrong.status_code == 422
    assert "quiet_start and quiet_end" in wrong.json()["detail"]
    unknown = {**body, "quiet_end": "07:00:00", "routes": [{**body["routes"][0], "channel": "nowhere"}]}
    wrong = api.put("/api/v1/notification-routing", json=unknown, headers=admin)
    assert "routes[0].channel: unknown channel 'nowhere'" in wrong.json()["detail"]
    stored = api.put("/api/v1/notification-routing", json={**body, "quiet_end": "07:00:00"}, headers=admin)
    assert stored.status_code == 200, stored.text
    now = api.get("/api/v1/notification-routing", headers=admin).json()
    assert (now["source"], now["quiet_end"], now["routes"][0]["to"]) == ("stored", "07:00:00", ["directors"])
    exported = yaml.safe_load(api.get("/api/v1/notification-routing/export", headers=admin).text)
    assert exported["routes"][0]["channel"] == "robot"
    assert api.delete("/api/v1/notification-routing", headers=admin).json() == {"removed": True}
    assert api.get("/api/v1/notification-routing", headers=admin).json()["source"] == "file"


def test_keyword_lists_are_stored_and_the_settings_page_changes_them(
    world: World, token_for: Callable[..., str], client_for: Callable[[str], TestClient]
) -> None:
    api = TestClient(world.app, base_url="http://127.0.0.1")
    admin = bearer(token_for("admin", Scope.ADMIN))
    assert api.get("/api/v1/indicator-keywords", headers=admin).json()["balance_threshold"] == 100
    wrong = api.put("/api/v1/indicator-keywords", json={"deep_features": []}, headers=admin)
    assert wrong.status_code == 422
    assert "deep_features" in wrong.json()["detail"]
    stored = api.put("/api/v1/indicator-keywords", json={"balance_threshold": 250}, headers=admin).json()
    assert (stored["balance_threshold"], "salesforce" in stored["competitor_names"]) == (250, True)
    client = client_for("admin")
    form = {"csrf_token": csrf_of(client.get("/settings").text), "competitor_names": "RivalSoft，对手"}
    form |= {"deep_features": "workflow, api", "balance_threshold": "80"}
    assert client.post("/settings/indicator-keywords", data=form, follow_redirects=False).status_code == 303
    now = api.get("/api/v1/indicator-keywords", headers=admin).json()
    assert (now["competitor_names"], now["deep_features"], now["balance_threshold"]) == (
        ["RivalSoft", "对手"],
        ["workflow", "api"],
        80,
    )
