"""Channels stored through the admin API: secrets sealed, never shown; a real send-test; bad input named."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth.schemas import Scope
from churnradar.models import AuditEntry, StoredChannel
from tests.notification.receivers import HttpReceiver, http_receiver
from tests.web.conftest import World, bearer, csrf_of

SIGNING_SECRET = "stored-signing-secret-7d2b"


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


def test_an_admin_stores_a_channel_tests_it_and_never_sees_its_secret_again(
    world: World, hook: HttpReceiver, token_for: Callable[..., str]
) -> None:
    api = TestClient(world.app, base_url="http://127.0.0.1")
    admin = bearer(token_for("admin", Scope.ADMIN))
    body = {"type": "webhook", "secrets": {"url": hook.url + "/stored", "secret": SIGNING_SECRET}}
    refused = api.put("/api/v1/channels/robot", json=body, headers=bearer(token_for("mgr_east", Scope.ADMIN)))
    assert refused.status_code == 403
    stored = api.put("/api/v1/channels/robot", json=body, headers=admin)
    assert stored.status_code == 200, stored.text
    assert stored.json()["secrets_set"] == ["secret", "url"]
    listed = api.get("/api/v1/channels", headers=admin)
    assert [c["name"] for c in listed.json()] == ["robot"]
    assert SIGNING_SECRET not in listed.text
    assert hook.url not in listed.text
    with world.engine.connect() as conn:
        sealed = conn.execute(select(StoredChannel.sealed_secrets)).scalar_one()
        audit = conn.execute(select(AuditEntry.details).where(AuditEntry.entity == "channel")).scalars().all()
    assert SIGNING_SECRET not in sealed
    assert "stored" not in sealed
    assert SIGNING_SECRET not in json.dumps(audit)

    sent = api.post("/api/v1/channels/robot/test", headers=admin).json()
    assert (sent["ok"], sent["error"]) == (True, None)
    (request,) = hook.requests
    assert request.path == "/stored"
    assert json.loads(request.body)["subject"] == "churnradar test message"

    # Options changed without secrets keep the stored ones; the receiver's refusal is reported.
    hook.status = 500
    kept = api.put("/api/v1/channels/robot", json={"type": "webhook"}, headers=admin)
    assert kept.json()["secrets_set"] == ["secret", "url"]
    failed = api.post("/api/v1/channels/robot/test", headers=admin).json()
    assert failed["ok"] is False
    assert "500" in failed["error"]

    assert api.delete("/api/v1/channels/robot", headers=admin).json()["removed"] is True
    assert api.post("/api/v1/channels/robot/test", headers=admin).status_code == 404


def test_bad_channels_are_refused_with_the_field_named(world: World, token_for: Callable[..., str]) -> None:
    api = TestClient(world.app, base_url="http://127.0.0.1")
    admin = bearer(token_for("admin", Scope.ADMIN))
    cases = [
        ("robot", {"type": "pigeon"}, "type: unknown channel type 'pigeon'"),
        ("robot", {"type": "webhook"}, "url"),
        ("Bad Name!", {"type": "webhook"}, "name:"),
    ]
    for name, body, named in cases:
        refused = api.put(f"/api/v1/channels/{name}", json=body, headers=admin)
        assert refused.status_code == 422, (name, refused.text)
        assert named in refused.json()["detail"]
    assert api.get("/api/v1/channels", headers=admin).json() == []


def test_the_settings_page_adds_a_channel_whose_secret_is_not_shown_and_tests_it(
    world: World, hook: HttpReceiver, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("admin")
    token = csrf_of(client.get("/settings").text)
    secrets = f"url: {hook.url}/page\nsecret: {SIGNING_SECRET}\n"
    form = {"csrf_token": token, "name": "ops-robot", "type": "webhook", "options": "", "secrets": secrets}
    saved = client.post("/settings/channels", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = client.get("/settings").text
    assert 'id="channel-ops-robot"' in page
    assert SIGNING_SECRET not in page
    tested = client.post("/settings/channels/ops-robot/test", data={"csrf_token": token})
    assert tested.status_code == 200
    (request,) = hook.requests
    assert request.path == "/page"
    refused = client.post("/settings/channels", data=form | {"name": "x", "secrets": "- not a mapping"})
    assert refused.status_code == 422
    assert "secrets: expected lines of name: value" in refused.text
