"""Security: authentication on every route, row-level access on every customer route, CSRF, XSS, SQLi."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient

from churnradar.auth.schemas import Scope
from churnradar.web.app import route_table
from tests.conftest import snapshot
from tests.web.conftest import World, bearer, csrf_of
from tests.web.seed import XSS_NAME

# The health endpoints answer without sign-in (they tell nothing private); /metrics is off unless a token or
# an allow-list is set (tests/web/health).
PUBLIC = {"/login", "/healthz", "/readyz", "/metrics"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _concrete(path: str, world: World) -> str:
    """Fill path parameters: customer ids by their kind (internal for pages, external for the API).

    Other `{..._id}` parameters (tasks, rules, alerts, tokens, ...) get 1: these tests only check that the
    request is refused before anything is looked up; each feature's own tests cover its row-level access.
    """
    api = path.startswith("/api/")
    value = "E-001" if api else str(world.ids.customers["E-001"])
    filled = path.replace("{customer_id}", value).replace("{user_id}", str(world.ids.users["rep_east"]))
    filled = re.sub(r"\{[a-z_]+_id\}", "1", filled).replace("{name}", "crm")  # a source's name
    filled = filled.replace("{template}", "general").replace("{level}", "red")  # a playbook's
    filled = filled.replace("{slug}", "renewal_intent").replace("{entity}", "customer")  # a custom field's
    filled = filled.replace("{entry_type}", "visit_feedback")  # an entry form's
    filled = filled.replace("{number}", "1").replace("{position}", "1")  # a rule version's, a route's
    assert "{" not in filled, f"teach _concrete the parameters of {path}"
    return filled


def _routes(world: World) -> list[tuple[str, str]]:
    routes = [
        (path, method)
        for path, methods in route_table(world.app)
        for method in sorted(methods - {"HEAD"})
        if not path.startswith("/static")
    ]
    assert len(routes) >= 15, routes  # the enumeration itself works
    return routes


class TestAuthenticationEverywhere:
    def test_every_route_but_login_refuses_an_anonymous_request(
        self, world: World, anonymous: TestClient
    ) -> None:
        for path, method in _routes(world):
            if path in PUBLIC:
                continue
            response = anonymous.request(method, _concrete(path, world), follow_redirects=False)
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, path, response.status_code)
            elif method == "GET":
                assert response.status_code == 303, (method, path)
                assert response.headers["location"].startswith("/login?next=")
            else:
                assert response.status_code in (401, 403), (method, path, response.status_code)
            assert "Eastwind" not in response.text

    def test_api_refuses_a_browser_session(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        # The API takes tokens only: a session cookie must not be enough, or CSRF would reach the API.
        admin = client_for("admin")
        for path, method in _routes(world):
            if path.startswith("/api/"):
                response = admin.request(method, _concrete(path, world))
                assert response.status_code == 401, (method, path)

    def test_static_files_are_public_and_the_vendored_libraries_are_served(
        self, anonymous: TestClient
    ) -> None:
        for path in (
            "/static/vendor/htmx/htmx.min.js",
            "/static/vendor/echarts/echarts.min.js",
            "/static/app.js",
        ):
            assert anonymous.get(path).status_code == 200

    def test_a_forged_session_cookie_is_ignored(self, anonymous: TestClient) -> None:
        anonymous.cookies.set("churnradar_session", "eyJ1aWQiOiAxfQ==.forged.signature")
        assert anonymous.get("/customers", follow_redirects=False).status_code == 303

    def test_a_new_password_ends_existing_sessions(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        from churnradar.auth import service as auth_service
        from churnradar.db import session_scope

        rep = client_for("rep_east")
        assert rep.get("/customers").status_code == 200
        with session_scope(world.engine) as session:
            auth_service.set_password(session, login="rep_east", password="another long password")
        assert rep.get("/customers", follow_redirects=False).status_code == 303


class TestRowLevelAccess:
    """A rep of East must not reach West's customers through any route that takes a customer."""

    @pytest.fixture
    def rep(self, client_for: Callable[[str], TestClient]) -> TestClient:
        return client_for("rep_east")

    def _customer_routes(self, world: World) -> list[tuple[str, str]]:
        routes = [(p, m) for p, m in _routes(world) if "{customer_id}" in p]
        assert len(routes) >= 4
        return routes

    def test_every_customer_route_hides_other_customers(
        self, world: World, rep: TestClient, token_for: Callable[..., str]
    ) -> None:
        token = bearer(token_for("rep_east", Scope.READ, Scope.INGEST))
        form = {"csrf_token": csrf_of(rep.get("/").text)}  # a page's form passes CSRF: the lookup answers
        # Another team's customers, a customer of a rep in no team, and one with no owner at all.
        for foreign in ("W-001", "W-002", "R-001", "N-001"):
            for path, method in self._customer_routes(world):
                if path.startswith("/api/"):
                    response = rep.request(method, path.replace("{customer_id}", foreign), headers=token)
                else:
                    internal = str(world.ids.customers[foreign])
                    data = form if method in UNSAFE else None
                    response = rep.request(method, path.replace("{customer_id}", internal), data=data)
                assert response.status_code == 404, (foreign, method, path, response.status_code)
                assert foreign not in response.text

    def test_own_customers_are_reachable_through_the_same_routes(
        self, world: World, rep: TestClient, token_for: Callable[..., str]
    ) -> None:
        token = bearer(token_for("rep_east"))
        for path, method in self._customer_routes(world):
            if path.startswith("/api/"):
                response = rep.request(method, path.replace("{customer_id}", "E-001"), headers=token)
            else:
                response = rep.request(
                    method, path.replace("{customer_id}", str(world.ids.customers["E-001"]))
                )
            if method in UNSAFE:  # found, then refused for the missing write scope or body, never 404
                assert response.status_code in (403, 422), (method, path, response.status_code)
            else:
                assert response.status_code == 200, (method, path)

    def test_lists_and_exports_hold_only_own_customers(
        self, world: World, rep: TestClient, token_for: Callable[..., str]
    ) -> None:
        token = bearer(token_for("rep_east"))
        api = rep.get("/api/v1/customers", headers=token, params={"per_page": 500}).json()
        assert sorted(c["customer_id"] for c in api["items"]) == ["E-001", "E-003"]
        for path in ("/customers", "/customers/export.csv", "/", "/customers?team=2", "/customers?owner=7"):
            body = rep.get(path).text
            assert "Westfield" not in body, path
            assert "W-001" not in body, path
        xlsx = rep.get("/customers/export.xlsx").content
        assert b"Westfield" not in xlsx

    def test_ingestion_refuses_events_for_customers_out_of_scope(
        self, world: World, token_for: Callable[..., str], anonymous: TestClient
    ) -> None:
        before = snapshot(world.engine)
        token = bearer(token_for("rep_east", Scope.INGEST))
        records = [
            {"customer_id": "E-001", "ts": "2024-06-01", "kind": "login"},
            {"customer_id": "W-001", "ts": "2024-06-01", "kind": "login"},
        ]
        response = anonymous.post("/api/v1/events", json=records, headers=token)
        assert response.status_code == 422
        errors = response.json()["summary"]["errors"]
        assert [(e["row"], e["column"]) for e in errors] == [(2, "customer_id")]
        assert snapshot(world.engine) == before

    SCOPES: ClassVar[dict[str, set[str]]] = {
        "admin": {"E-001", "E-002", "E-003", "W-001", "W-002", "R-001", "N-001"},
        "director": {"E-001", "E-002", "E-003", "W-001", "W-002", "R-001", "N-001"},
        "mgr_east": {"E-001", "E-002", "E-003", "R-001"},
        "mgr_west": {"W-001", "W-002"},
        "rep_east": {"E-001", "E-003"},
        "rep_roaming": {"R-001"},
    }

    def test_each_role_sees_its_scope_through_the_api(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        for login, expected in self.SCOPES.items():
            token = bearer(token_for(login))
            body = anonymous.get("/api/v1/customers", params={"per_page": 500}, headers=token).json()
            assert {c["customer_id"] for c in body["items"]} == expected, login
            assert body["total"] == len(expected), login


class TestCsrf:
    def _unsafe_page_routes(self, world: World) -> list[str]:
        paths = [p for p, m in _routes(world) if m in UNSAFE and not p.startswith("/api/")]
        assert {"/login", "/logout", "/language"} <= set(paths)
        return paths

    def test_every_form_post_is_refused_without_the_sessions_token(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        client = client_for("rep_east")
        for sent in (None, "", "wrong-token-wrong-token-wrong-token-1234"):
            for path in self._unsafe_page_routes(world):
                data = {"locale": "zh_CN", "login": "rep_east", "password": "x"}
                if sent is not None:
                    data["csrf_token"] = sent
                response = client.post(path, data=data, follow_redirects=False)
                assert response.status_code == 403, (sent, path, response.status_code)
        # Still signed in and still in English: none of the refused posts did anything.
        page = client.get("/customers")
        assert page.status_code == 200
        assert 'lang="en"' in page.text

    def test_a_token_from_another_session_is_refused(self, client_for: Callable[[str], TestClient]) -> None:
        alice, bob = client_for("rep_east"), client_for("rep_west")
        bobs_token = csrf_of(bob.get("/customers").text)
        response = alice.post("/language", data={"locale": "zh_CN", "csrf_token": bobs_token})
        assert response.status_code == 403

    def test_the_right_token_in_a_form_or_header_is_accepted(
        self, client_for: Callable[[str], TestClient]
    ) -> None:
        client = client_for("rep_east")
        token = csrf_of(client.get("/customers").text)
        assert client.post("/language", data={"locale": "zh_CN", "csrf_token": token}).status_code == 200
        headers = {"X-CSRF-Token": token}
        response = client.post("/language", data={"locale": "en"}, headers=headers, follow_redirects=False)
        assert response.status_code == 303


class TestInjection:
    def test_a_script_in_a_customer_name_is_rendered_inert(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        client = client_for("admin")
        pages = [
            client.get("/customers").text,
            client.get("/customers", params={"q": "alert"}).text,
            client.get(f"/customers/{world.ids.customers['W-002']}").text,
            client.get("/", params={"q": XSS_NAME}).text,
        ]
        for html in pages:
            assert XSS_NAME not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[2]
        # A reflected search box is escaped as well.
        reflected = client.get("/customers", params={"q": '"><script>alert(2)</script>'}).text
        assert "<script>alert(2)" not in reflected

    def test_pages_forbid_inline_scripts(self, client_for: Callable[[str], TestClient]) -> None:
        response = client_for("admin").get("/customers")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert response.headers["x-frame-options"] == "DENY"

    ATTACKS: ClassVar[list[dict[str, str]]] = [
        {"q": "' OR '1'='1"},
        {"q": "%' OR 1=1 --"},
        {"q": "_"},
        {"segment": "SMB' OR '1'='1"},
        {"industry": "retail'; DROP TABLE customers; --"},
        {"status": "active' UNION SELECT * FROM users --"},
        {"tier": 'high" OR ""="'},
        {"sort": "name; DROP TABLE customers"},
        {"sort": "(SELECT password_hash FROM users)"},
        {"owner": "1 OR 1=1"},
        {"team": "1) OR (1=1"},
        {"desc": "true; DELETE FROM customers"},
        {"page": "1; DROP TABLE events"},
        {"per_page": "10 OR 1=1"},
    ]

    def test_filter_parameters_that_try_sql_injection_change_nothing(
        self, world: World, client_for: Callable[[str], TestClient], token_for: Callable[..., str]
    ) -> None:
        before = snapshot(world.engine)
        rep = client_for("rep_east")
        token = bearer(token_for("rep_east"))
        for params in self.ATTACKS:
            for response in (
                rep.get("/customers", params=params),
                rep.get("/customers/export.csv", params=params),
                rep.get("/api/v1/customers", params=params, headers=token),
            ):
                assert response.status_code in (200, 422), (params, response.status_code)
                assert "Westfield" not in response.text, params
                assert "argon2" not in response.text, params
            api = rep.get("/api/v1/customers", params=params, headers=token)
            if api.status_code == 200:
                # Nothing widened: the attack matches no more than the rep's own customers (usually none).
                assert {c["customer_id"] for c in api.json()["items"]} <= {"E-001", "E-003"}, params
                if next(iter(params)) in ("q", "segment", "industry", "status", "tier"):
                    assert api.json()["total"] == 0, params
        assert snapshot(world.engine) == before

    def test_search_treats_like_wildcards_as_text(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        token = bearer(token_for("admin"))
        assert anonymous.get("/api/v1/customers", params={"q": "%"}, headers=token).json()["total"] == 0
        found = anonymous.get("/api/v1/customers", params={"q": "EASTWIND"}, headers=token).json()
        assert [c["customer_id"] for c in found["items"]] == ["E-001"]

    def test_export_cells_cannot_become_formulas(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        from churnradar.ingest.schemas import RecordKind
        from churnradar.ingest.service import import_records

        evil = [{"customer_id": "X-1", "name": '=HYPERLINK("http://evil","x")', "segment": "SMB"}]
        import_records(world.engine, evil, kind=RecordKind.CUSTOMERS, settings=world.settings, source="t")
        csv_text = (
            client_for("admin").get("/customers/export.csv", params={"q": "X-1"}).content.decode("utf-8-sig")
        )
        assert "'=HYPERLINK" in csv_text
        assert json.dumps(csv_text)  # decodable text


class TestCookies:
    @pytest.mark.parametrize("secure", [True, False])
    def test_the_session_cookie_is_secure_when_the_deployment_says_so(
        self, world: World, monkeypatch: pytest.MonkeyPatch, secure: bool
    ) -> None:
        from churnradar.config import Settings
        from churnradar.web.app import create_app
        from tests.web.seed import PASSWORD

        monkeypatch.setenv("CHURNRADAR_WEB__SECURE_COOKIES", str(secure).lower())
        monkeypatch.setenv("CHURNRADAR_WEB__SESSION_HOURS", "2")
        settings = Settings(environment="test", secret_key="c" * 40)  # type: ignore[arg-type]
        app = create_app(settings, world.engine)
        client = TestClient(app, base_url="https://testserver")
        token = csrf_of(client.get("/login").text)
        answer = client.post(
            "/login",
            data={"login": "admin", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        cookies = {c.split("=", 1)[0]: c.lower() for c in answer.headers.get_list("set-cookie")}
        cookie = cookies["churnradar_session"]
        assert ("; secure" in cookie) is secure
        assert "max-age=7200" in cookie
        assert ("; secure" in cookies["churnradar_device"]) is secure
        assert "httponly" in cookies["churnradar_device"]
