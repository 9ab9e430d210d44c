"""Pages: login and rate limit, overview, customer list and exports, customer 360, languages and formats."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from churnradar.models import UserPreference
from tests.web.conftest import World, csrf_of, sign_in
from tests.web.seed import PASSWORD


def _login(client: TestClient, login: str, password: str, address_token: str | None = None) -> int:
    token = address_token or csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"login": login, "password": password, "csrf_token": token}, follow_redirects=False
    )
    return response.status_code


class TestLogin:
    def test_wrong_password_then_right_one(self, anonymous: TestClient) -> None:
        assert _login(anonymous, "rep_east", "wrong password") == 401
        assert _login(anonymous, "REP_EAST", PASSWORD) == 303  # logins are not case-sensitive
        assert anonymous.get("/customers").status_code == 200

    def test_unknown_and_inactive_users_get_the_same_answer(
        self, world: World, anonymous: TestClient
    ) -> None:
        from churnradar.db import session_scope
        from churnradar.models import User

        with session_scope(world.engine) as session:
            session.scalars(select(User).where(User.login == "rep_west")).one().is_active = False
        assert _login(anonymous, "nobody", PASSWORD) == 401
        assert _login(anonymous, "rep_west", PASSWORD) == 401

    def test_next_only_goes_to_local_paths(self, anonymous: TestClient) -> None:
        token = csrf_of(anonymous.get("/login").text)
        for target, expected in (
            ("/customers?segment=SMB", "/customers?segment=SMB"),
            ("//evil.example", "/"),
            ("https://evil.example", "/"),
            ("/\\evil", "/"),
        ):
            response = anonymous.post(
                "/login",
                data={"login": "admin", "password": PASSWORD, "csrf_token": token, "next": target},
                follow_redirects=False,
            )
            assert response.headers["location"] == expected
            token = csrf_of(anonymous.get("/login").text)

    def test_logout_ends_the_session(self, client_for: Callable[[str], TestClient]) -> None:
        client = client_for("rep_east")
        token = csrf_of(client.get("/").text)
        assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
        assert client.get("/", follow_redirects=False).status_code == 303

    def test_the_session_cookie_is_http_only_and_same_site(self, anonymous: TestClient) -> None:
        token = csrf_of(anonymous.get("/login").text)
        response = anonymous.post(
            "/login",
            data={"login": "admin", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("churnradar_session=")
        )
        cookie = cookie.lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie


class TestOverview:
    def test_counts_and_breakdowns_are_scoped(self, client_for: Callable[[str], TestClient]) -> None:
        director = client_for("director").get("/").text
        rep = client_for("rep_east").get("/").text
        assert 'data-count="customers">7<' in director
        assert 'data-count="customers">2<' in rep
        assert 'data-count="events">60<' in rep
        assert "alerts-levels" in director  # the alert panels (web.risk) in place of the placeholder
        # Imports are an operator's concern: managers and up see them, reps do not.
        assert "recent-imports" in director
        assert "recent-imports" not in rep


class TestCustomerList:
    def test_filters_search_and_sort(self, client_for: Callable[[str], TestClient]) -> None:
        client = client_for("admin")
        html = client.get("/customers", params={"industry": "retail", "sort": "name", "desc": "true"}).text
        names = [n for n in ("Roaming Rep Account", "Nobody&#39;s Customer", "Eastwind Trading") if n in html]
        assert names == ["Roaming Rep Account", "Nobody&#39;s Customer", "Eastwind Trading"]
        assert html.index("Roaming") < html.index("Nobody") < html.index("Eastwind")
        assert "Westfield" not in html
        found = client.get("/customers", params={"q": "东方"}).text
        assert "东方制造有限公司" in found
        assert "Eastwind" not in found

    def test_htmx_gets_only_the_table(self, client_for: Callable[[str], TestClient]) -> None:
        client = client_for("admin")
        headers = {"HX-Request": "true", "HX-Target": "customer-table"}
        fragment = client.get("/customers", params={"team": "1"}, headers=headers).text
        assert "<html" not in fragment
        assert "Eastwind" in fragment
        assert "Westfield" not in fragment

    def test_pages(self, client_for: Callable[[str], TestClient]) -> None:
        client = client_for("admin")
        first = client.get("/customers", params={"per_page": 3, "sort": "customer_id"}).text
        second = client.get("/customers", params={"per_page": 3, "sort": "customer_id", "page": 2}).text
        assert "E-001" in first
        assert "E-001" not in second
        assert 'rel="next"' in first
        assert 'rel="prev"' in second

    def test_csv_and_excel_exports_follow_the_filter(self, client_for: Callable[[str], TestClient]) -> None:
        client = client_for("mgr_east")
        csv_text = client.get("/customers/export.csv", params={"segment": "SMB"}).content.decode("utf-8-sig")
        lines = csv_text.strip().splitlines()
        assert lines[0].startswith("Customer ID,Name,Owner")
        assert sorted(line.split(",")[0] for line in lines[1:]) == ["E-001", "E-003", "R-001"]
        workbook = load_workbook(
            io.BytesIO(client.get("/customers/export.xlsx", params={"segment": "SMB"}).content)
        )
        rows = list(workbook.active.iter_rows(values_only=True))
        assert sorted(r[0] for r in rows[1:]) == ["E-001", "E-003", "R-001"]


class TestCustomer360:
    def test_profile_contracts_and_indicators_by_family(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        html = client_for("mgr_east").get(f"/customers/{world.ids.customers['E-001']}").text
        assert "Eastwind Trading" in html
        assert "Rep East" in html  # the owner
        assert "98,765.43" in html  # managers see the contract value
        # The seven families, collapsed; readable names and units; "no data" instead of an empty chart.
        families = re.findall(r'<details class="family" data-family="(\w+)">', html)
        assert families == ["activity", "orders", "complaints", "response", "usage", "competitor", "contract"]
        orders = html[html.index('data-family="orders"') : html.index('data-family="complaints"')]
        row = re.search(r'<tr data-indicator="orders_90d">(.*?)</tr>', orders, re.S)
        assert row is not None
        assert "Orders in the last 90 days" in row.group(1)
        assert "24" in row.group(1)
        assert "orders" in row.group(1)
        assert "<polyline" in row.group(1)  # its history against the own baseline
        assert "1 indicator with data" in orders
        empty = re.search(r'<tr data-indicator="orders_30d">(.*?)</tr>', orders, re.S)
        assert empty is not None
        assert "no data" in empty.group(1)
        assert "<svg" not in empty.group(1)

    def test_reps_do_not_see_contract_values(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        html = client_for("rep_east").get(f"/customers/{world.ids.customers['E-001']}").text
        assert "98,765" not in html
        assert "hidden-field" in html

    def test_timeline_pages_and_kind_filter(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        client = client_for("rep_east")
        path = f"/customers/{world.ids.customers['E-001']}/events"
        page2 = client.get(path, params={"page": 2}, headers={"HX-Request": "true"}).text
        assert "<html" not in page2
        assert "Page 2 of 2" in page2
        complaints = client.get(path, params={"kind": "complaint"}).text
        assert "slow delivery" in complaints
        assert "<td>order</td>" not in complaints
        assert "<td>complaint</td>" in complaints
        hostile = client.get(path, params={"kind": "order' OR '1'='1"})  # user text: a value, never SQL
        assert hostile.status_code == 200
        assert "No events." in hostile.text


class TestForbidden:
    @pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
    def test_a_page_not_for_the_role_keeps_the_menu_without_its_link(
        self, client_for: Callable[[str], TestClient]
    ) -> None:
        response = client_for("rep_east").get("/admin/users", headers={"Accept-Language": "zh-CN"})
        assert response.status_code == 403
        menu = re.findall(r'<li><a href="([^"]+)"', response.text)
        assert {"/", "/risk", "/customers", "/tasks"} <= set(menu)  # the rep's own pages, to go on
        assert "/admin/users" not in menu  # no link to a page the role may not open
        assert "您的角色无权打开此页面" in response.text


class TestLanguages:
    def test_the_browser_language_is_the_default(self, world: World) -> None:
        client = TestClient(world.app, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
        assert "登录" in client.get("/login").text
        sign_in(client, "rep_east")
        html = client.get(f"/customers/{world.ids.customers['E-001']}").text
        assert "客户资料" in html
        assert "2023年2月1日" in html  # the signup date, written the Chinese way

    def test_a_users_choice_is_remembered_across_sessions(
        self, world: World, client_for: Callable[[str], TestClient]
    ) -> None:
        client = client_for("rep_east")
        token = csrf_of(client.get("/customers").text)
        client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "back": "/customers"})
        assert "客户" in client.get("/customers").text
        with world.engine.connect() as conn:
            assert conn.execute(select(UserPreference.locale)).scalar_one() == "zh_CN"
        # A new browser with an English Accept-Language still gets Chinese once this user signs in.
        fresh = sign_in(TestClient(world.app, headers={"Accept-Language": "en-US"}), "rep_east")
        assert 'lang="zh-CN"' in fresh.get("/").text

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("zh-CN", "zh_CN"),
            ("zh-Hans-CN,zh;q=0.8", "zh_CN"),
            ("zh", "zh_CN"),
            ("en-GB", "en"),
            ("fr-FR,de;q=0.5", "en"),
            ("", "en"),
            ("de, zh;q=0.1", "zh_CN"),
            ("zh-TW", "en"),
        ],
    )
    def test_negotiation(self, header: str, expected: str) -> None:
        from churnradar.web.i18n import negotiate

        assert negotiate(header) == expected
