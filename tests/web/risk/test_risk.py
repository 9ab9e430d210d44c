"""High-risk list, owner changes (pages and API), alert panels and the 360 alerts section."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, insert, select, update

from churnradar.auth.schemas import Scope
from churnradar.db import session_scope
from churnradar.kit.clock import FrozenClock
from churnradar.models import (
    Alert,
    AlertEvent,
    AuditEntry,
    Customer,
    CustomerScore,
    InterventionTask,
    OwnerChange,
    TaskEvent,
)
from churnradar.web.risk import service
from tests.web.conftest import World, bearer, csrf_of
from tests.web.seed_risk import TASK_DEADLINE, seed_risk

ROW = re.compile(r'<tr data-customer="([^"]+)"')
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


# The seeded alerts run to 2026-11-23 and a task is due 2026-11-26: the pages see them as on that morning,
# whatever today is (the overview's compliance panel counts deadlines passed by "now").
RISK_NOW = datetime(2026, 11, 23, 9, 0)


@pytest.fixture
def risk(world: World) -> World:
    seed_risk(world.engine)
    world.app.state.clock = FrozenClock(RISK_NOW)
    return world


def listed(html: str) -> list[str]:
    """The customer ids of the risk table, in order."""
    return ROW.findall(html)


def owners(world: World) -> dict[str, int | None]:
    with session_scope(world.engine) as session:
        return dict(session.execute(select(Customer.external_id, Customer.owner_id)).all())  # type: ignore[arg-type]


def assign(client: TestClient, owner: str, *customers: int, one: int | None = None) -> object:
    token = csrf_of(client.get("/risk").text)
    data: dict[str, object] = {"csrf_token": token, "owner": owner, "customer": [str(c) for c in customers]}
    if one is not None:
        data["one"] = str(one)
    return client.post("/risk/assign", data=data, follow_redirects=False)


class TestRiskList:
    def test_worst_first_and_scoped_per_role(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        assert listed(client_for("admin").get("/risk?level=all").text) == [
            "W-001",
            "E-001",
            "E-002",
            "W-002",
            "R-001",
            "N-001",
        ]
        # The East manager: their team and the reps they lead (the roaming rep), never the West.
        assert listed(client_for("mgr_east").get("/risk?level=all").text) == ["E-001", "E-002", "R-001"]
        assert listed(client_for("rep_east").get("/risk?level=all").text) == ["E-001"]
        assert listed(client_for("mgr_west").get("/risk?level=all").text) == ["W-001", "W-002"]

    def test_the_page_opens_on_customers_with_a_warning_worst_first(
        self, risk: World, client_for: Callable[[str], TestClient], token_for: Callable[..., str]
    ) -> None:
        # Level first (red before orange before yellow), then the lowest health; no customer without a level.
        html = client_for("admin").get("/risk").text
        assert listed(html) == ["W-001", "E-001", "E-002", "W-002"]
        assert '<option value="any" selected>Customers with a warning</option>' in html
        # A visible way to every customer, keeping the other filters.
        assert 'id="show-all" href="/risk?level=all"' in html
        assert 'id="show-all"' not in client_for("admin").get("/risk?level=all").text
        assert listed(client_for("mgr_east").get("/risk").text) == ["E-001", "E-002"]
        assert "显示全部客户" in client_for("admin").get("/risk", headers=ZH).text
        # The API keeps its documented default: every customer with a risk row.
        api = client_for("admin").get("/api/v1/risk", headers=bearer(token_for("admin"))).json()
        assert api["total"] == 6

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("level=red", ["W-001", "E-001"]),
            ("level=any", ["W-001", "E-001", "E-002", "W-002"]),
            ("score_max=20", ["W-001", "E-001"]),
            ("score_min=60&score_max=80", ["W-002", "R-001"]),
            ("probability_min=0.4", ["W-001", "E-001", "E-002"]),
            ("tag=流失风险", ["E-001"]),
            ("segment=enterprise", ["W-001", "E-002"]),
            ("industry=retail", ["E-001", "R-001", "N-001"]),
            ("q=west", ["W-001"]),
            ("q=E-00", ["E-001", "E-002"]),
            ("sort=name&desc=false", ["W-002", "E-001", "N-001", "R-001", "W-001", "E-002"]),
            ("sort=probability", ["W-001", "E-001", "E-002", "W-002", "R-001", "N-001"]),
            ("sort=score&desc=false", ["W-001", "E-001", "E-002", "W-002", "R-001", "N-001"]),
            ("sort=level&per_page=2&page=2", ["E-002", "W-002"]),
            ("sort=level&per_page=4&page=2", ["R-001", "N-001"]),
        ],
    )
    def test_filters_sort_and_pages(
        self, risk: World, client_for: Callable[[str], TestClient], query: str, expected: list[str]
    ) -> None:
        query = query if "level=" in query else f"{query}&level=all"  # every customer, not only the warned
        assert listed(client_for("admin").get(f"/risk?{query}").text) == expected

    def test_team_and_owner_filters(self, risk: World, client_for: Callable[[str], TestClient]) -> None:
        admin = client_for("admin")
        rep_west = risk.ids.users["rep_west"]
        assert listed(admin.get(f"/risk?owner={rep_west}&level=all").text) == ["W-001", "W-002"]
        with session_scope(risk.engine) as session:
            east = session.scalar(select(Customer.team_id).where(Customer.external_id == "E-001"))
        assert listed(admin.get(f"/risk?team={east}&level=all").text) == ["E-001", "E-002"]

    def test_a_row_without_alerts_shows_the_models_reasons(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        with session_scope(risk.engine) as session:
            r1 = session.scalar(select(Customer.id).where(Customer.external_id == "R-001"))
            session.add(
                CustomerScore(
                    customer_id=r1,
                    as_of=date(2026, 11, 23),
                    model_version=1,
                    churn_probability=0.1,
                    reasons_en="Logins in the last 30 days: down 9 in 4 weeks",
                    reasons_zh="近30天登录：4周内减少9",
                )
            )
        admin = client_for("admin")
        # Not warned, so not in the default list (warned customers first): shown with every customer.
        assert "Logins in the last 30 days: down 9 in 4 weeks" in admin.get("/risk?q=R-001&level=all").text
        assert "近30天登录：4周内减少9" in admin.get("/risk?q=R-001&level=all", headers=ZH).text
        # A customer with alerts shows the rules' reasons, not the model's.
        html = admin.get("/risk?q=E-001").text
        assert "No order for 75 days" in html
        assert "orders fell" not in html

    def test_a_row_shows_level_reasons_owner_and_open_task(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        html = client_for("mgr_east").get("/risk?level=red").text
        assert 'data-level="red"' in html
        assert "No order for 75 days" in html
        assert "Rep East" in html  # the owner's display name
        assert "Nov 26, 2026" in html  # the open task's deadline
        chinese = client_for("mgr_east").get("/risk?level=red", headers=ZH).text
        assert "75 天未下单" in chinese
        assert "红色" in chinese

    def test_filter_changes_return_the_table_alone_to_htmx(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        response = client_for("admin").get(
            "/risk?level=orange", headers={"HX-Request": "true", "HX-Target": "risk-table"}
        )
        assert listed(response.text) == ["E-002"]
        assert "<html" not in response.text
        assert 'id="filters"' not in response.text

    def test_bad_filter_values_are_refused_with_the_field_named(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        admin = client_for("admin")
        response = admin.get("/risk?level=purple")
        assert response.status_code == 422
        assert "level" in response.text
        response = admin.get("/risk?score_min=80&score_max=20")
        assert response.status_code == 422
        assert "score_min" in response.text

    def test_csv_and_excel_exports_hold_the_filtered_rows(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        manager = client_for("mgr_east")
        response = manager.get("/risk/export.csv?level=any")
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][:4] == ["Customer ID", "Name", "Level", "Health score"]
        assert [r[0] for r in rows[1:]] == ["E-001", "E-002"]
        assert rows[1][2] == "red"
        assert "No order for 75 days" in rows[1]
        assert "Model reasons" in rows[0]
        assert rows[1][rows[0].index("Model reasons")] == "orders fell"
        chinese = manager.get("/risk/export.csv?level=red", headers=ZH).content.decode("utf-8-sig")
        assert "75 天未下单" in chinese
        assert "订单下降" in chinese
        workbook = load_workbook(io.BytesIO(manager.get("/risk/export.xlsx?sort=name&desc=false").content))
        sheet = workbook.active
        assert sheet is not None
        values = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert [v[0] for v in values[1:]] == ["E-001", "R-001", "E-002"]
        assert values[1][3] == 18  # a number stays a number
        assert values[1][4] == -5  # and a negative one is not quoted as a formula


class TestRowLevelAccess:
    def test_a_rep_never_sees_another_teams_customer(
        self, risk: World, client_for: Callable[[str], TestClient], token_for: Callable[..., str]
    ) -> None:
        rep = client_for("rep_east")
        for path in ("/risk", "/risk?level=red", "/risk/export.csv", "/risk?q=W-001", "/", "/risk?sort=name"):
            body = rep.get(path).text
            assert "Westfield" not in body, path
            assert set(listed(body)) <= {"E-001"}, path
        xlsx = load_workbook(io.BytesIO(rep.get("/risk/export.xlsx").content)).active
        assert xlsx is not None
        assert [row[0] for row in xlsx.iter_rows(min_row=2, values_only=True)] == ["E-001"]
        west = risk.ids.customers["W-001"]
        assert rep.get(f"/customers/{west}").status_code == 404
        api = rep.get("/api/v1/risk", headers=bearer(token_for("rep_east"))).json()
        assert [r["customer_id"] for r in api["items"]] == ["E-001"]

    def test_owner_changes_of_foreign_customers_are_not_found(
        self, risk: World, client_for: Callable[[str], TestClient], token_for: Callable[..., str]
    ) -> None:
        before = owners(risk)
        manager = client_for("mgr_east")
        response = assign(manager, "rep_east2", risk.ids.customers["W-001"])
        assert response.status_code == 404  # type: ignore[attr-defined]
        token = bearer(token_for("mgr_east", Scope.READ, Scope.WRITE))
        response = manager.post("/api/v1/customers/W-001/owner", headers=token, json={"owner": "rep_east2"})
        assert response.status_code == 404
        assert "Westfield" not in response.text
        assert owners(risk) == before


class TestAssignment:
    def test_a_manager_assigns_two_customers_in_bulk_and_the_open_task_follows(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        manager = client_for("mgr_east")
        e1, e2 = risk.ids.customers["E-001"], risk.ids.customers["E-002"]
        response = assign(manager, "rep_east2", e1, e2)
        assert response.status_code == 303  # type: ignore[attr-defined]
        assert response.headers["location"] == "/risk"  # type: ignore[attr-defined]
        assert owners(risk)["E-001"] == risk.ids.users["rep_east2"]
        assert owners(risk)["E-002"] == risk.ids.users["rep_east2"]  # already theirs: unchanged
        page = manager.get("/risk").text
        assert "1 customer assigned to rep_east2." in page  # E-002 already had this owner
        with session_scope(risk.engine) as session:
            task = session.scalars(select(InterventionTask).where(InterventionTask.customer_id == e1)).one()
            assert task.assignee_id == risk.ids.users["rep_east2"]
            assert task.deadline_at == TASK_DEADLINE
            kinds = list(session.scalars(select(TaskEvent.kind).where(TaskEvent.task_id == task.id)))
            assert "reassigned" in kinds
            change = session.scalars(select(OwnerChange).where(OwnerChange.customer_id == e1)).one()
            assert change.from_owner_id == risk.ids.users["rep_east"]
            assert change.handled_at is not None
            assert change.outcome == "task moved"
            assert change.source == "web by mgr_east"
            audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "change_owner")).all()
            assert [(a.actor, a.entity_id, a.details) for a in audit] == [
                ("mgr_east", "E-001", {"from": "rep_east", "to": "rep_east2", "via": "web"})
            ]
        # The flash message is shown once.
        assert "assigned to" not in manager.get("/risk").text

    def test_one_click_assigns_only_the_row_pressed(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        admin = client_for("admin")
        e1, w1 = risk.ids.customers["E-001"], risk.ids.customers["W-001"]
        assert assign(admin, "rep_west", e1, w1, one=e1).status_code == 303  # type: ignore[attr-defined]
        after = owners(risk)
        assert after["E-001"] == risk.ids.users["rep_west"]
        with session_scope(risk.engine) as session:
            # The customer joined the new owner's team, so the West manager sees it now.
            moved = session.scalars(select(Customer).where(Customer.id == e1)).one()
            west = session.scalars(select(Customer.team_id).where(Customer.id == w1)).one()
            assert moved.team_id == west
        assert "E-001" in listed(client_for("mgr_west").get("/risk").text)

    @pytest.mark.parametrize(
        ("login", "owner", "status", "message"),
        [
            ("rep_east", "rep_east2", 403, "Reps cannot change a customer&#39;s owner"),
            ("mgr_east", "rep_west", 403, "only to your team&#39;s reps, not to rep_west"),
            ("mgr_east", "mgr_west", 403, "only to your team&#39;s reps"),
            ("mgr_east", "nobody", 400, "Unknown or inactive user: nobody."),
            ("admin", "director", 403, "only to reps and managers"),
        ],
    )
    def test_refusals_are_clear_and_change_nothing(
        self,
        risk: World,
        client_for: Callable[[str], TestClient],
        login: str,
        owner: str,
        status: int,
        message: str,
    ) -> None:
        before = owners(risk)
        response = assign(client_for(login), owner, risk.ids.customers["E-001"])
        assert response.status_code == status  # type: ignore[attr-defined]
        assert message in response.text  # type: ignore[attr-defined]
        assert owners(risk) == before
        with session_scope(risk.engine) as session:
            assert session.scalar(select(func.count()).select_from(OwnerChange)) == 0
            changes = select(func.count()).select_from(AuditEntry).where(AuditEntry.entity != "session")
            assert session.scalar(changes) == 0

    def test_the_refusal_speaks_the_users_language(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        manager = client_for("mgr_east")
        manager.headers.update(ZH)
        response = assign(manager, "rep_west", risk.ids.customers["E-001"])
        assert "客户只能分配给您团队的销售代表" in response.text  # type: ignore[attr-defined]

    def test_nothing_checked_is_a_clear_error(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        response = assign(client_for("mgr_east"), "rep_east2")
        assert response.status_code == 400  # type: ignore[attr-defined]
        assert "Choose at least one customer." in response.text  # type: ignore[attr-defined]

    def test_assign_without_a_person_says_so_on_the_list(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        manager = client_for("mgr_east")
        before = owners(risk)
        token = csrf_of(manager.get("/risk").text)
        data = {
            "csrf_token": token,
            "owner": "",
            "one": str(risk.ids.customers["E-001"]),
            "back": "/risk?level=red",
        }
        response = manager.post("/risk/assign", data=data, headers=ZH, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/risk?level=red"
        page = manager.get("/risk?level=red", headers=ZH).text
        assert 'class="card error" id="risk-flash" role="alert">请先选择要分配给的人' in page
        assert owners(risk) == before
        assert "risk-flash" not in manager.get("/risk").text  # shown once

    def test_reps_get_no_assignment_controls(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        html = client_for("rep_east").get("/risk").text
        assert 'id="bulk-assign"' not in html
        assert 'name="customer"' not in html
        manager = client_for("mgr_east").get("/risk").text
        assert 'value="rep_east2"' in manager
        assert 'value="rep_west"' not in manager

    def test_assignment_needs_the_sessions_csrf_token(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        manager = client_for("mgr_east")
        before = owners(risk)
        data = {"owner": "rep_east2", "customer": [str(risk.ids.customers["E-001"])]}
        assert manager.post("/risk/assign", data=data).status_code == 403
        data["csrf_token"] = "forged" * 8
        assert manager.post("/risk/assign", data=data).status_code == 403
        assert owners(risk) == before

    def test_the_way_back_stays_on_the_risk_list(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        manager = client_for("mgr_east")
        token = csrf_of(manager.get("/risk").text)
        for back, expected in (("/risk?level=red", "/risk?level=red"), ("https://evil.example/", "/risk")):
            data = {
                "csrf_token": token,
                "owner": "rep_east2",
                "one": str(risk.ids.customers["E-001"]),
                "back": back,
            }
            response = manager.post("/risk/assign", data=data, follow_redirects=False)
            assert response.headers["location"] == expected


class TestInjection:
    @pytest.mark.parametrize(
        "query",
        [
            "q=' OR 1=1 --",
            "q=%'; DROP TABLE customers; --",
            "tag=x' OR '1'='1",
            "segment=SMB' OR '1'='1",
            'industry=retail"; DELETE FROM customer_risk; --',
        ],
    )
    def test_sql_in_filters_matches_nothing_and_changes_nothing(
        self, risk: World, client_for: Callable[[str], TestClient], token_for: Callable[..., str], query: str
    ) -> None:
        rep = client_for("rep_east")
        assert listed(rep.get(f"/risk?{query}").text) == []
        api = rep.get(f"/api/v1/risk?{query}", headers=bearer(token_for("rep_east"))).json()
        assert api["total"] == 0
        assert listed(client_for("admin").get("/risk?level=all").text) == [
            "W-001",
            "E-001",
            "E-002",
            "W-002",
            "R-001",
            "N-001",
        ]

    @pytest.mark.parametrize(
        "query", ["level=red' OR '1'='1", "sort=name; DROP TABLE customers", "owner=1 OR 1=1"]
    )
    def test_sql_in_typed_filters_is_refused(
        self, risk: World, client_for: Callable[[str], TestClient], query: str
    ) -> None:
        assert client_for("rep_east").get(f"/risk?{query}").status_code == 422


class TestApi:
    def test_the_risk_list_filters_sorts_and_pages(
        self, risk: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        token = bearer(token_for("admin"))
        page = anonymous.get("/api/v1/risk?level=any&per_page=3&page=2", headers=token).json()
        assert (page["total"], page["pages"], page["page"]) == (4, 2, 2)
        assert [r["customer_id"] for r in page["items"]] == ["W-002"]
        first = anonymous.get("/api/v1/risk?level=red&sort=probability", headers=token).json()["items"][0]
        assert first["customer_id"] == "W-001"
        assert first["level"] == "red"
        assert first["churn_probability"] == 0.9
        assert first["reasons_en"] == "No order for 90 days"
        assert first["reasons_zh"] == "90 天未下单"
        assert first["owner"] == "rep_west"
        e1 = anonymous.get("/api/v1/risk?q=Eastwind", headers=token).json()["items"][0]
        assert e1["task_deadline"] == TASK_DEADLINE.isoformat()

    def test_the_models_reasons_beside_the_rules_in_the_list_and_the_detail(
        self, risk: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        token = bearer(token_for("admin"))
        rows = anonymous.get("/api/v1/risk?sort=probability", headers=token).json()["items"]
        by_id = {r["customer_id"]: r for r in rows}
        assert (by_id["E-001"]["model_reasons_en"], by_id["E-001"]["model_reasons_zh"]) == (
            "orders fell",
            "订单下降",
        )
        assert by_id["E-001"]["reasons_en"] == "No order for 75 days"  # the rules' reasons stay apart
        assert by_id["W-001"]["model_reasons_en"] is None  # no model score stored for it
        assert [r["churn_probability"] for r in rows] == sorted(
            (r["churn_probability"] for r in rows), reverse=True
        )
        detail = anonymous.get("/api/v1/customers/E-001", headers=token).json()
        assert detail["model"] == {
            "as_of": "2026-11-23",
            "model_version": 1,
            "churn_probability": 0.81,
            "reasons_en": "orders fell",
            "reasons_zh": "订单下降",
        }
        assert anonymous.get("/api/v1/customers/W-001", headers=token).json()["model"] is None

    def test_owner_change_through_the_api(
        self, risk: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        write = bearer(token_for("mgr_east", Scope.READ, Scope.WRITE))
        response = anonymous.post("/api/v1/customers/E-001/owner", headers=write, json={"owner": "rep_east2"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["from_owner"], body["to_owner"], body["changed"]) == ("rep_east", "rep_east2", True)
        assert body["tasks"] == {"task moved": 1}
        assert owners(risk)["E-001"] == risk.ids.users["rep_east2"]
        with session_scope(risk.engine) as session:
            entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "change_owner")).one()
            assert entry.details == {"from": "rep_east", "to": "rep_east2", "via": "api"}

    def test_owner_change_refusals(
        self, risk: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        before = owners(risk)
        read_only = bearer(token_for("admin", Scope.READ))
        url = "/api/v1/customers/E-001/owner"
        assert anonymous.post(url, headers=read_only, json={"owner": "rep_east2"}).status_code == 403
        rep = bearer(token_for("rep_east", Scope.READ, Scope.WRITE))
        refused = anonymous.post(url, headers=rep, json={"owner": "rep_east2"})
        assert refused.status_code == 403
        assert "Reps cannot" in refused.json()["detail"]
        manager = bearer(token_for("mgr_east", Scope.READ, Scope.WRITE))
        cross = anonymous.post(url, headers=manager, json={"owner": "rep_west"})
        assert cross.status_code == 403
        assert "rep_west" in cross.json()["detail"]
        unknown = anonymous.post(url, headers=manager, json={"owner": "ghost"})
        assert unknown.status_code == 400
        assert "ghost" in unknown.json()["detail"]
        assert anonymous.post(url, headers=manager, json={}).status_code == 422
        assert owners(risk) == before

    def test_the_routes_are_documented(
        self, risk: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        document = anonymous.get("/api/v1/openapi.json", headers=bearer(token_for("admin"))).json()
        assert "get" in document["paths"]["/api/v1/risk"]
        owner = document["paths"]["/api/v1/customers/{customer_id}/owner"]["post"]
        assert {"200", "403", "404"} <= set(owner["responses"])
        parameters = {p["name"] for p in document["paths"]["/api/v1/risk"]["get"]["parameters"]}
        assert {
            "level",
            "owner",
            "team",
            "segment",
            "industry",
            "tag",
            "score_min",
            "probability_max",
            "q",
        } <= parameters


CHARTS = re.compile(r'data-chart-series="([^"]+)">(.*?)</script>', re.S)


class TestOverviewAndCustomerPage:
    def test_panels_count_levels_trend_flow_and_reasons_in_scope(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        html = client_for("admin").get("/").text
        assert 'id="alerts-placeholder"' not in html
        levels = re.findall(
            r'<tr data-level="(\w+)">\s*<td>.*?</td>\s*<td class="num">(\d+)</td>', html, re.S
        )
        assert levels == [("red", "2"), ("orange", "1"), ("yellow", "1")]
        assert "4 of 7 customers have a warning." in html
        charts = {target: json.loads(payload) for target, payload in CHARTS.findall(html)}
        trend = {s["indicator"]: s["points"] for s in charts["alerts-trend-charts"]["series"]}
        assert trend["red"] == [["2026-11-02", 0], ["2026-11-09", 0], ["2026-11-16", 2], ["2026-11-23", 2]]
        months = re.findall(r'<tr data-month="([\d-]+)"><td>[^<]+</td>((?:<td class="num">\d+</td>)+)', html)
        assert months == [("2026-11", '<td class="num">2</td><td class="num">1</td><td class="num">1</td>')]
        flow = {s["indicator"]: s["points"] for s in charts["alerts-flow-charts"]["series"]}
        assert flow["New alerts"] == [
            ["2026-11-02", 2],
            ["2026-11-09", 1],
            ["2026-11-16", 1],
            ["2026-11-23", 1],
        ]
        assert flow["Resolved alerts"][1] == ["2026-11-09", 1]
        reasons = re.findall(r'<tr data-rule="(\w+)">\s*<td>([^<]+)</td>\s*<td class="num">(\d+)', html)
        assert reasons == [("complaints_up", "Complaints rising", "2"), ("order_gap", "Orders stopped", "2")]

    def test_a_rep_counts_only_their_own(self, risk: World, client_for: Callable[[str], TestClient]) -> None:
        html = client_for("rep_east").get("/").text
        levels = re.findall(
            r'<tr data-level="(\w+)">\s*<td>.*?</td>\s*<td class="num">(\d+)</td>', html, re.S
        )
        assert levels == [("red", "1"), ("orange", "0"), ("yellow", "0")]
        charts = {target: json.loads(payload) for target, payload in CHARTS.findall(html)}
        trend = {s["indicator"]: s["points"] for s in charts["alerts-trend-charts"]["series"]}
        # Counted from the rep's own alerts: E-001 was yellow (an alert's latest level counts: red) from the
        # first evaluation on.
        assert [n for _, n in trend["red"]] == [1, 1, 1, 1]
        assert [n for _, n in trend["yellow"]] == [0, 0, 0, 0]
        assert "Orders stopped" in html
        assert "Westfield" not in html
        chinese = client_for("rep_east").get("/", headers=ZH).text
        assert "订单中断" in chinese

    def test_the_customer_page_shows_open_alerts_with_history_and_resolved_ones_collapsed(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        html = client_for("rep_east").get(f"/customers/{risk.ids.customers['E-001']}").text
        section = html[html.index('id="section-alerts"') :]
        section = section[: section.index("</section>")]
        assert 'data-level="red"' in section
        assert "18" in section
        assert "81%" in section
        assert "orders fell" in section  # the model's reasons
        open_part = section[section.index('id="open-alerts"') : section.index('id="resolved-alerts"')]
        assert "Orders stopped" in open_part
        assert "Complaints rising" not in open_part
        assert "escalated" in open_part
        assert "2 changes" in open_part
        resolved = section[section.index('<details id="resolved-alerts">') :]
        assert "1 resolved alert" in resolved
        assert "Complaints rising" in resolved
        chinese = client_for("rep_east").get(f"/customers/{risk.ids.customers['E-001']}", headers=ZH).text
        assert "订单中断（E-001）" in chinese
        assert "升级" in chinese

    def test_reps_are_not_told_which_customers_are_in_the_control_group(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        customer = risk.ids.customers["E-001"]
        with risk.engine.begin() as conn:
            alert_id = conn.execute(
                select(Alert.id).where(Alert.customer_id == customer, Alert.status == "open")
            ).scalar_one()
            conn.execute(update(Alert).where(Alert.id == alert_id).values(muted="holdout"))
            conn.execute(
                insert(AlertEvent).values(
                    alert_id=alert_id,
                    as_of=date(2026, 11, 22),
                    at=datetime(2026, 11, 22, 6),
                    kind="muted",
                    cause="muted: holdout (control group draw)",
                )
            )

        def section(login: str) -> str:
            html = client_for(login).get(f"/customers/{customer}").text
            part = html[html.index('id="section-alerts"') :]
            return part[: part.index("</section>")]

        manager = section("mgr_east")
        assert ">holdout<" in manager
        assert "control group draw" in manager
        rep = section("rep_east")
        assert "Orders stopped" in rep  # the alert itself is still shown
        assert "holdout" not in rep
        assert "control group" not in rep

    def test_a_customer_without_alerts_says_so(
        self, risk: World, client_for: Callable[[str], TestClient]
    ) -> None:
        html = client_for("admin").get(f"/customers/{risk.ids.customers['N-001']}").text
        assert "No open alerts." in html
        assert 'id="resolved-alerts"' not in html


class TestFigures:
    def test_levels_on_days_take_each_customers_worst_open_alert(self) -> None:
        d = date
        spans = [
            (1, "yellow", d(2026, 1, 1), None),
            (1, "red", d(2026, 1, 10), d(2026, 1, 20)),
            (2, "orange", d(2026, 1, 5), d(2026, 1, 10)),
        ]
        days = [d(2026, 1, 1), d(2026, 1, 5), d(2026, 1, 10), d(2026, 1, 20)]
        assert service.levels_on(spans, days) == {
            "yellow": [1, 1, 0, 1],
            "orange": [0, 1, 0, 0],
            "red": [0, 0, 1, 0],
        }

    def test_weeks_start_on_monday(self) -> None:
        days = [date(2026, 11, 16), date(2026, 11, 22), date(2026, 11, 23)]
        assert service.last_per_period(days) == [date(2026, 11, 22), date(2026, 11, 23)]
        months = [date(2026, 10, 31), date(2026, 10, 5), date(2026, 11, 2)]
        assert service.last_per_period(months, service.month_of) == [date(2026, 10, 31), date(2026, 11, 2)]
        assert service.per_week([(date(2026, 11, 17), 2), (date(2026, 11, 22), 3), (None, 9)]) == {
            date(2026, 11, 16): 5
        }
