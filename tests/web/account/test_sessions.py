"""Sessions end on the server (sign-out, new password, deactivation, expiry), and sign-in throttling slows a
guesser without locking the account's owner out; proxy headers count only from configured proxies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth import service as auth_service
from churnradar.auth.ratelimit import LoginThrottle
from churnradar.auth.schemas import Principal
from churnradar.config import WebSettings
from churnradar.db import session_scope
from churnradar.kit.clock import FrozenClock
from churnradar.models import AuditEntry, Role
from churnradar.web.app import create_app
from tests.web.conftest import World, csrf_of, sign_in
from tests.web.seed import PASSWORD

START = datetime(2026, 3, 2, 9, 0)


def _login(client: TestClient, login: str, password: str, **headers: str) -> int:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"login": login, "password": password, "csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    return response.status_code


def _copy(world: World, client: TestClient) -> TestClient:
    """Another browser holding a copy of `client`'s cookies (a stolen or shared cookie)."""
    thief = TestClient(world.app, base_url="http://127.0.0.1")
    for name, value in client.cookies.items():
        thief.cookies.set(name, value)
    return thief


def _signed_in(client: TestClient) -> bool:
    return client.get("/customers", follow_redirects=False).status_code == 200


class TestSessionsEndOnTheServer:
    def test_a_cookie_copied_before_logout_stops_working(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        rep = client_for("rep_east")
        copy = _copy(world, rep)
        assert _signed_in(copy)
        token = csrf_of(rep.get("/customers").text)
        assert rep.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
        assert not _signed_in(copy)
        assert not _signed_in(rep)

    def test_logout_ends_only_that_session(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        laptop, phone = client_for("rep_east"), client_for("rep_east")
        token = csrf_of(laptop.get("/customers").text)
        laptop.post("/logout", data={"csrf_token": token})
        assert _signed_in(phone)

    def test_a_new_password_ends_every_session(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        rep = client_for("rep_east")
        copy = _copy(world, rep)
        with session_scope(world.engine) as session:
            auth_service.set_password(session, login="rep_east", password="another long password")
        assert not _signed_in(rep)
        assert not _signed_in(copy)

    def test_deactivating_ends_sessions_for_good(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        rep = client_for("rep_east")
        copy = _copy(world, rep)  # not used while the account is off, so its cookie is never cleared
        admin = client_for("admin")
        token = csrf_of(admin.get("/admin/users").text)
        user_id = world.ids.users["rep_east"]
        form = {"csrf_token": token, "role": "rep", "team": "East", "manager": "mgr_east"}
        assert admin.post(f"/admin/users/{user_id}", data=form, follow_redirects=False).status_code == 303
        assert not _signed_in(rep)
        # Active again: a cookie from before stays dead; only a new sign-in works.
        form["is_active"] = "true"
        assert admin.post(f"/admin/users/{user_id}", data=form, follow_redirects=False).status_code == 303
        assert not _signed_in(copy)
        assert _signed_in(client_for("rep_east"))

    def test_a_session_expires_on_the_server_clock(self, world: World) -> None:
        clock = FrozenClock(START)
        app = create_app(world.settings, world.engine, WebSettings(session_hours=12), clock=clock)
        client = sign_in(TestClient(app, base_url="http://127.0.0.1"), "rep_east")
        clock.at = START + timedelta(hours=11, minutes=59)
        assert _signed_in(client)
        clock.at = START + timedelta(hours=12)
        assert not _signed_in(client)

    def test_sign_in_and_out_are_audited_without_the_password(
        self, world: World, anonymous: TestClient
    ) -> None:
        assert _login(anonymous, "rep_east", "a wrong guess!") == 401
        assert _login(anonymous, "rep_east", PASSWORD) == 303
        anonymous.post("/logout", data={"csrf_token": csrf_of(anonymous.get("/customers").text)})
        with world.engine.connect() as conn:
            rows = conn.execute(
                select(AuditEntry.actor, AuditEntry.action, AuditEntry.source, AuditEntry.details)
                .where(AuditEntry.entity == "session")
                .order_by(AuditEntry.id)
            ).all()
        assert [tuple(r[:3]) for r in rows] == [
            ("rep_east", "login_failed", "web:testclient"),
            ("rep_east", "login", "web:testclient"),
            ("rep_east", "logout", "web:testclient"),
        ]
        assert "wrong guess" not in repr(rows)
        assert PASSWORD not in repr(rows)


@pytest.fixture
def now() -> list[float]:
    """The throttle's clock, in seconds; tests move it by hand."""
    return [1000.0]


@pytest.fixture
def throttled(world: World, now: list[float]) -> World:
    """The world's app with a throttle on the test's clock (5 free failures per login and address)."""
    world.app.state.login_throttle = LoginThrottle.build(per_address=8, clock=lambda: now[0])
    return world


class TestThrottling:
    def test_a_guesser_is_slowed_down_progressively(self, throttled: World, now: list[float]) -> None:
        guesser = TestClient(throttled.app, base_url="http://127.0.0.1")
        for _ in range(5):
            assert _login(guesser, "mgr_east", "guess") == 401
        token = csrf_of(guesser.get("/login").text)
        refused = guesser.post("/login", data={"login": "mgr_east", "password": "x", "csrf_token": token})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        now[0] += 1
        assert _login(guesser, "mgr_east", "guess") == 401
        now[0] += 1.5
        assert _login(guesser, "mgr_east", "guess") == 429  # the wait doubled to 2 s
        now[0] += 0.5
        assert _login(guesser, "mgr_east", PASSWORD) == 303  # slowed, never locked out

    def test_a_guesser_elsewhere_does_not_lock_the_owner_out(
        self, throttled: World, client_for: Callable[[str], TestClient]
    ) -> None:
        owner = client_for("mgr_east")  # signed in before: this browser holds a device cookie
        owner.cookies.delete("churnradar_session")
        guesser = TestClient(throttled.app, base_url="http://127.0.0.1")
        for _ in range(7):
            _login(guesser, "mgr_east", "guess")
        assert _login(guesser, "mgr_east", PASSWORD) == 429
        # The owner's usual browser, from the very same address, and a new one from another address.
        assert _login(owner, "mgr_east", PASSWORD) == 303
        elsewhere = TestClient(throttled.app, base_url="http://127.0.0.1", client=("198.51.100.7", 4000))
        assert _login(elsewhere, "mgr_east", PASSWORD) == 303

    def test_spraying_from_one_address_spares_known_browsers(
        self, throttled: World, client_for: Callable[[str], TestClient]
    ) -> None:
        admin = client_for("admin")
        admin.cookies.delete("churnradar_session")
        sprayer = TestClient(throttled.app, base_url="http://127.0.0.1")
        for number in range(8):  # this throttle allows 8 per address
            assert _login(sprayer, f"sprayed{number}", "guess") == 401
        assert _login(sprayer, "director", PASSWORD) == 429
        assert _login(admin, "admin", PASSWORD) == 303

    def test_forwarded_headers_from_an_unconfigured_peer_are_ignored(self, throttled: World) -> None:
        local = TestClient(throttled.app, base_url="http://127.0.0.1", client=("127.0.0.1", 5000))
        for number in range(5):
            assert _login(local, "mgr_east", "guess", **{"X-Forwarded-For": f"203.0.113.{number}"}) == 401
        assert _login(local, "mgr_east", "guess", **{"X-Forwarded-For": "203.0.113.99"}) == 429

    def test_a_configured_proxy_names_the_client(self, world: World) -> None:
        options = WebSettings(trusted_proxies=["10.0.0.0/8"])
        app = create_app(world.settings, world.engine, options)
        proxy = TestClient(app, base_url="http://127.0.0.1", client=("10.1.2.3", 5000))
        for _ in range(5):
            headers = {"X-Forwarded-For": "192.0.2.66, 203.0.113.5, 10.0.0.9"}
            assert _login(proxy, "mgr_east", "guess", **headers) == 401
        assert _login(proxy, "mgr_east", PASSWORD, **{"X-Forwarded-For": "203.0.113.5"}) == 429
        assert _login(proxy, "mgr_east", PASSWORD, **{"X-Forwarded-For": "203.0.113.6"}) == 303
        with world.engine.connect() as conn:
            sources = conn.execute(select(AuditEntry.source).where(AuditEntry.entity == "session")).scalars()
            assert set(sources) == {"web:203.0.113.5", "web:203.0.113.6"}


def test_principal_source_reaches_the_audit_log(world: World) -> None:
    principal = Principal(
        user_id=world.ids.users["admin"], login="admin", role=Role.ADMIN, source="web:1.2.3.4"
    )
    with session_scope(world.engine) as session:
        auth_service.record(
            session, principal, "test", "thing", 1, {"password": "hunter2hunter2", "ok": True}
        )
    with world.engine.connect() as conn:
        row = conn.execute(
            select(AuditEntry.source, AuditEntry.details).where(AuditEntry.action == "test")
        ).one()
    assert row.source == "web:1.2.3.4"
    assert row.details == {"ok": True}


def test_the_server_does_not_let_a_local_client_pick_its_address(world: World) -> None:
    """Under uvicorn as `churnradar serve` runs it, X-Forwarded-For from loopback changes nothing."""
    import socket
    import threading
    import urllib.error
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    import uvicorn

    from churnradar.cli.web import uvicorn_config

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn_config(world.app, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    base = f"http://127.0.0.1:{port}"

    def attempt(forwarded: str) -> int:
        token = csrf_of(opener.open(f"{base}/login", timeout=10).read().decode())
        body = urllib.parse.urlencode({"login": "mgr_east", "password": "guess", "csrf_token": token})
        headers = {"X-Forwarded-For": forwarded}
        request = urllib.request.Request(f"{base}/login", body.encode(), headers)  # noqa: S310 (http)
        try:
            return int(opener.open(request, timeout=10).status)
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        for _ in range(100):
            if server.started:
                break
            threading.Event().wait(0.1)
        codes = [attempt(f"203.0.113.{n}") for n in range(6)]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert codes == [401] * 5 + [429]
    with world.engine.connect() as conn:
        sources = conn.execute(select(AuditEntry.source).where(AuditEntry.action == "login_failed")).scalars()
        assert set(sources) == {"web:127.0.0.1"}
