"""Every configuration object over the API: listed in the OpenAPI document with YAML export and import,
admins only, and a round trip of the objects that gained export/import here (rules, channels, keyword lists);
a template clone removed, refused while a template choice applies it."""

from __future__ import annotations

import html
from collections.abc import Callable

import yaml
from fastapi.testclient import TestClient

from churnradar.auth.schemas import Scope
from churnradar.intervention import playbooks
from tests.web.conftest import World, bearer, csrf_of, sign_in

# Each configuration object's YAML export and import.
EXCHANGES = {
    "rules": ("/api/v1/rules/export", "/api/v1/rules/import"),
    "indicators": ("/api/v1/indicators/export", "/api/v1/indicators/import"),
    "fields and entry forms": ("/api/v1/fields/export", "/api/v1/fields/import"),
    "playbooks": ("/api/v1/playbooks/export", "/api/v1/playbooks/import"),
    "task routes": ("/api/v1/task-routes/export", "/api/v1/task-routes/import"),
    "notification routing": ("/api/v1/notification-routing/export", "/api/v1/notification-routing/import"),
    "templates": ("/api/v1/template-choices/export", "/api/v1/template-choices/import"),
    "channels": ("/api/v1/channels/export", "/api/v1/channels/import"),
    "keyword lists": ("/api/v1/indicator-keywords/export", "/api/v1/indicator-keywords/import"),
}
HOOK = {"name": "ops_hook", "type": "webhook", "options": {}, "secrets": {"url": "http://127.0.0.1:9/h"}}


def test_each_object_exports_and_imports_yaml_for_admins_only(
    world: World, token_for: Callable[..., str]
) -> None:
    api = TestClient(world.app, base_url="http://127.0.0.1")
    admin = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
    paths = api.get("/api/v1/openapi.json", headers=admin).json()["paths"]
    for what, (export, imported) in EXCHANGES.items():
        assert "get" in paths.get(export, {}), f"{what}: no export in the OpenAPI document"
        assert "post" in paths.get(imported, {}), f"{what}: no import in the OpenAPI document"
    assert "delete" in paths["/api/v1/templates/{template}"]
    outsiders = [bearer(token_for("mgr_east", Scope.ADMIN)), bearer(token_for("admin", Scope.READ))]
    for what, (export, imported) in EXCHANGES.items():
        for headers in outsiders:
            assert api.get(export, headers=headers).status_code == 403, what
            assert api.post(imported, content="{}", headers=headers).status_code == 403, what
        assert api.get(export, headers=admin).status_code == 200, what

    # Channels: a secret goes in, never out; a wrong channel refuses the document whole, located.
    document = yaml.safe_dump({"channels": [HOOK]})
    assert api.post("/api/v1/channels/import", content=document, headers=admin).json() == {"channels": 1}
    exported = api.get("/api/v1/channels/export", headers=admin).text
    assert "127.0.0.1:9" not in exported
    assert yaml.safe_load(exported)["channels"][0]["secrets_set"] == ["url"]
    wrong = {"channels": [{**HOOK, "name": "second"}, {"name": "pager", "type": "pigeon"}]}
    refused = api.post("/api/v1/channels/import", content=yaml.safe_dump(wrong), headers=admin)
    assert refused.status_code == 422
    assert "channels[1] (pager): type: unknown channel type 'pigeon'" in refused.json()["detail"]
    names = [c["name"] for c in api.get("/api/v1/channels", headers=admin).json()]
    assert names == ["ops_hook"]  # "second" was checked, then left out with the rest

    # Keyword lists and rules: exported, changed, imported back.
    keywords = yaml.safe_load(api.get("/api/v1/indicator-keywords/export", headers=admin).text)
    keywords["competitor_names"] = ["RivalSoft"]
    back = api.post("/api/v1/indicator-keywords/import", content=yaml.safe_dump(keywords), headers=admin)
    assert back.json()["competitor_names"] == ["RivalSoft"]
    bad = api.post("/api/v1/indicator-keywords/import", content="balance_threshold: lots", headers=admin)
    assert (bad.status_code, "balance_threshold" in bad.text) == (422, True)
    rules = yaml.safe_load(api.get("/api/v1/rules/export?template=saas", headers=admin).text)
    assert list(rules) == ["saas"]
    rules["saas"][0]["enabled"] = False
    again = api.post("/api/v1/rules/import", json={"document": yaml.safe_dump(rules)}, headers=admin)
    assert again.status_code == 200, again.text
    first = rules["saas"][0]["slug"]
    assert api.get(f"/api/v1/rules/saas.{first}", headers=admin).json()["rule"]["enabled"] is False


def test_a_clone_is_removed_with_its_playbooks_unless_a_choice_applies_it(
    world: World, token_for: Callable[..., str]
) -> None:
    api = TestClient(world.app, base_url="http://127.0.0.1")
    admin = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
    names = {"slug": "retail_key", "name_en": "Key retail", "name_zh": "重点零售"}
    assert api.post("/api/v1/templates/retail/clone", json=names, headers=admin).status_code == 200
    red = api.get("/api/v1/playbooks", headers=admin).json()
    book = next(p for p in red if (p["template"], p["level"]) == ("retail_key", "red"))
    book = {k: v for k, v in book.items() if k not in ("template", "level", "source")} | {"deadline_hours": 6}
    assert api.put("/api/v1/playbooks/retail_key/red", json=book, headers=admin).status_code == 200
    choice = [{"segments": ["enterprise"], "template": "retail_key"}]
    assert api.put("/api/v1/template-choices", json=choice, headers=admin).status_code == 200

    refused = api.delete("/api/v1/templates/retail_key", headers=admin)
    assert refused.status_code == 422
    assert "applied by choices[0] (industries: any; segments: enterprise)" in refused.json()["detail"]
    assert api.delete("/api/v1/templates/retail", headers=admin).status_code == 422  # shipped
    manager = bearer(token_for("mgr_east", Scope.ADMIN))
    assert api.delete("/api/v1/templates/retail_key", headers=manager).status_code == 403

    # The settings page offers the removal for the clone only, and says why it is refused.
    page = sign_in(TestClient(world.app, base_url="http://127.0.0.1"), "admin")
    shown = page.get("/settings").text
    assert 'id="remove-retail_key"' in shown
    assert 'id="remove-retail"' not in shown
    answer = page.post("/settings/templates/retail_key/remove", data={"csrf_token": csrf_of(shown)})
    assert answer.status_code == 422
    assert "is applied by choices[0]" in html.unescape(answer.text)

    assert api.put("/api/v1/template-choices", json=[], headers=admin).status_code == 200
    removed = api.delete("/api/v1/templates/retail_key", headers=admin)
    assert removed.status_code == 200, removed.text
    assert (removed.json()["removed"], removed.json()["playbooks"]) == (True, 1)
    with world.engine.connect() as conn:
        assert not any(t == "retail_key" for t, _ in playbooks.stored(conn))
    assert "retail_key" not in {p["template"] for p in api.get("/api/v1/playbooks", headers=admin).json()}
    assert api.get("/api/v1/rules?template=retail_key", headers=admin).json()["total"] == 0
    audit = api.get("/api/v1/audit?entity=template", headers=admin)
    assert [(e["action"], e["entity_id"]) for e in audit.json()["items"]][:2] == [
        ("delete", "retail_key"),
        ("clone", "retail_key"),
    ]
