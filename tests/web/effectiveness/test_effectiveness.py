"""The effectiveness page: who may open it, whose figures each viewer sees, and both languages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.intervention.control import DRAW_CAUSE, INTERVENED
from churnradar.models import (
    Alert,
    AlertEvent,
    Customer,
    EvaluationRun,
    FollowUp,
    InterventionTask,
    TaskEvent,
    Team,
    User,
)
from churnradar.web.effectiveness.service import chart_data
from tests.web.conftest import World, bearer

DRAWN = date(2025, 6, 1)
OPENED = datetime(2025, 6, 1, 9)
PLAYBOOK = {"actions_en": ["Call the customer", "Offer a review"], "actions_zh": ["致电客户", "安排回顾"]}
CHARTS = re.compile(r'<script type="application/json" id="effectiveness-data">(.*?)</script>', re.S)


def _alert(conn: Any, customer_id: int, *, muted: str | None) -> int:
    result = conn.execute(
        insert(Alert).values(
            customer_id=customer_id, rule="order_gap_long", template="general", level="orange", status="open",
            muted=muted, opened_on=DRAWN, last_fired_on=DRAWN, last_evaluated_on=DRAWN, false_streak=0,
            reason_en="No order for a while", reason_zh="较长时间未下单",
        )
    )  # fmt: skip
    alert_id = int(result.inserted_primary_key[0])
    conn.execute(
        insert(AlertEvent).values(
            alert_id=alert_id, as_of=DRAWN, at=OPENED, kind="opened", to_level="orange", cause="rule"
        )
    )
    return alert_id


def _task(conn: Any, customer_id: int, assignee: int, team: int, outcome: str | None) -> int:
    closed = outcome is not None
    result = conn.execute(
        insert(InterventionTask).values(
            customer_id=customer_id, alert_id=_alert(conn, customer_id, muted=None), rule="order_gap_long",
            level="orange", status="closed" if closed else "open", role="owner", assignee_id=assignee,
            team_id=team, playbook=PLAYBOOK, opened_at=OPENED, deadline_at=datetime(2025, 6, 3, 9),
            closed_at=datetime(2025, 6, 2, 9) if closed else None, outcome=outcome,
        )
    )  # fmt: skip
    task_id = int(result.inserted_primary_key[0])
    detail = {"level": "orange", "rule": "order_gap_long", "arm": INTERVENED, "as_of": DRAWN.isoformat()}
    conn.execute(insert(TaskEvent).values(task_id=task_id, at=OPENED, kind="created", detail=detail))
    return task_id


def seed_outcomes(engine: Engine, _settings: Settings | None = None) -> None:
    """East: a retained task (a call logged) and an open one; West: a churned task and a held-out customer.

    Every draw is on 1 June 2025; W-001 is lost on 1 July (within 90 days), the others stay.
    """
    with engine.begin() as conn:
        users = dict(conn.execute(select(User.login, User.id)).all())
        customers = dict(conn.execute(select(Customer.external_id, Customer.id)).all())
        teams = dict(conn.execute(select(Team.name, Team.id)).all())
        east = _task(conn, customers["E-001"], users["rep_east"], teams["East"], "retained")
        conn.execute(
            insert(FollowUp).values(
                task_id=east, customer_id=customers["E-001"], contacted_on=DRAWN, channel="call", notes="ok",
                actions_done=[0], created_at=OPENED, created_by="rep_east",
            )
        )  # fmt: skip
        _task(conn, customers["E-002"], users["rep_east2"], teams["East"], None)
        _task(conn, customers["W-001"], users["rep_west"], teams["West"], "churned")
        conn.execute(
            update(Customer).where(Customer.id == customers["W-001"]).values(churned_at=date(2025, 7, 1))
        )
        # The evaluation that raised these alerts: its warnings are judged (90 days have passed).
        conn.execute(
            insert(EvaluationRun).values(
                as_of=DRAWN, started_at=OPENED, finished_at=OPENED, status="succeeded", summary={}
            )
        )
        held = _alert(conn, customers["W-002"], muted="holdout")
        conn.execute(
            insert(AlertEvent).values(
                alert_id=held, as_of=DRAWN, at=OPENED, kind="muted", to_level="orange", cause=DRAW_CAUSE
            )
        )


@pytest.fixture
def outcomes(world: World) -> World:
    seed_outcomes(world.engine)
    return world


def _charts(html: str) -> dict[str, Any]:
    match = CHARTS.search(html)
    assert match, "no chart data on the page"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def _arm_rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-arm="(\w+)">(.*?)</tr>', html, re.S))


class TestAccess:
    @pytest.mark.parametrize("login", ["rep_east", "rep_west"])
    def test_reps_are_refused_and_see_no_link(
        self, outcomes: World, client_for: Callable[[str], TestClient], login: str
    ) -> None:
        client = client_for(login)
        assert client.get("/effectiveness").status_code == 403
        assert 'href="/effectiveness"' not in client.get("/").text

    def test_a_manager_sees_only_the_teams_figures(
        self, outcomes: World, client_for: Callable[[str], TestClient]
    ) -> None:
        page = client_for("mgr_east").get("/effectiveness")
        assert page.status_code == 200
        assert "Only your team&#39;s customers are counted." in page.text
        charts = _charts(page.text)
        assert charts["teams"]["x"] == ["East"]
        retained, churned = charts["teams"]["series"][0], charts["teams"]["series"][1]
        assert (retained["data"], churned["data"]) == ([1], [0])
        assert "rep_west" not in page.text
        assert "West" not in page.text
        # East's two draws were worked and both customers stayed; West's held-out one is not East's business.
        arms = _arm_rows(page.text)
        assert re.findall(r'class="num">([^<]*)<', arms["intervened"])[:2] == ["2", "2"]
        assert re.findall(r'class="num">([^<]*)<', arms["held_out"])[:2] == ["0", "0"]

    def test_the_other_manager_sees_the_other_team(
        self, outcomes: World, client_for: Callable[[str], TestClient]
    ) -> None:
        page = client_for("mgr_west").get("/effectiveness").text
        assert _charts(page)["teams"]["x"] == ["West"]
        assert "rep_east" not in page
        arms = _arm_rows(page)
        assert re.findall(r'class="num">([^<]*)<', arms["held_out"])[:2] == ["1", "1"]
        assert re.findall(r'class="num">([^<]*)<', arms["intervened"])[:2] == ["1", "0"]

    @pytest.mark.parametrize("login", ["director", "admin"])
    def test_directors_and_admins_see_everyone(
        self, outcomes: World, client_for: Callable[[str], TestClient], login: str
    ) -> None:
        client = client_for(login)
        page = client.get("/effectiveness").text
        assert 'href="/effectiveness"' in client.get("/").text
        charts = _charts(page)
        assert charts["teams"]["x"] == ["East", "West"]
        # Worked: E-001 and E-002 stayed, W-001 was lost; held out: W-002 stayed.
        assert charts["save_rate"]["series"][0]["data"] == [0.6667, 1.0]
        # Two teams' tasks by playbook action: only East's call was logged.
        table = re.search(r'id="outcomes-by_action">(.*?)</table>', page, re.S)
        assert table is not None
        assert "Call the customer" in table.group(1)
        assert "Offer a review" not in table.group(1)


class TestApi:
    def test_the_report_in_the_tokens_scope(
        self, outcomes: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        east = anonymous.get("/api/v1/effectiveness", headers=bearer(token_for("mgr_east"))).json()
        assert [team["team"] for team in east["tasks"]["by_team"]] == ["East"]
        arms = east["save_rate"]
        assert (arms["intervened"]["customers"], arms["held_out"]["customers"]) == (2, 0)
        everyone = anonymous.get("/api/v1/effectiveness", headers=bearer(token_for("director"))).json()
        assert [team["team"] for team in everyone["tasks"]["by_team"]] == ["East", "West"]
        assert everyone["save_rate"]["intervened"]["retained_share"] == 0.6667
        refused = anonymous.get("/api/v1/effectiveness", headers=bearer(token_for("rep_east")))
        assert refused.status_code == 403


class TestLanguages:
    def test_english(self, outcomes: World, client_for: Callable[[str], TestClient]) -> None:
        page = client_for("director").get("/effectiveness").text
        assert "<h1>Effectiveness</h1>" in page
        assert "Save rate against the control group" in page
        assert "Not enough data: at least 30 judged customers per arm" in page
        assert _charts(page)["churn"]["title"] == "Churn rate per month"
        assert "A warning is judged once its outcome window has passed: 90 days after" in page
        assert "1 evaluation judged (Jun 1, 2025 to Jun 1, 2025);" in page
        # The four alerted customers of 1 June: W-001 churned within 90 days, the others stayed (not 100%).
        orange = re.search(r'<tr data-level="orange">.*?</tr>', page, re.S)
        assert orange is not None
        cells = re.findall(r'<td class="num">([^<]*)</td>', orange.group(0))
        assert cells == ["4", "0", "25%", "100%"]  # judged, pending, precision, recall

    def test_chinese(self, outcomes: World, client_for: Callable[[str], TestClient]) -> None:
        client = client_for("director")
        page = client.get("/effectiveness", headers={"accept-language": "zh-CN"}).text
        assert "<h1>成效</h1>" in page
        assert "挽留率（与对照组比较）" in page
        assert "数据不足：每组至少需要 30 个已判定客户" in page
        assert "致电客户" in page
        assert _charts(page)["churn"]["title"] == "每月流失率"
        assert _charts(page)["save_rate"]["x"] == ["已干预", "对照组（未干预）"]

    def test_go_live_compares_before_and_after(
        self, outcomes: World, client_for: Callable[[str], TestClient]
    ) -> None:
        page = client_for("director").get("/effectiveness", params={"go_live": "2025-06-01"}).text
        assert 'id="before-after"' in page
        assert _charts(page)["churn"]["mark"] == "2025-06"
        assert client_for("director").get("/effectiveness", params={"go_live": "June"}).status_code == 422


def test_a_chart_with_nothing_to_draw_says_why_instead() -> None:
    nobody = {"retained_share": None}
    report = {
        "churn_by_month": [{"month": "2026-05", "churn_rate": 0.0}],  # 0% is a figure: drawn
        "before_after": None,
        "save_rate": {"intervened": nobody, "held_out": nobody},
        "tasks": {
            "deadline_compliance": {"months": []},
            "by_team": [{"team": "East", "retained": 0, "churned": 0, "false_alarm": 0, "unreachable": 0}],
        },
    }
    charts = chart_data(report, lambda text: text)
    assert charts["churn"]["empty"] is None
    assert charts["save_rate"]["empty"].startswith("Nothing to draw yet")
    assert charts["compliance"]["empty"] == "No task deadline has passed yet."
    assert charts["teams"]["empty"] == "No task has been closed with an outcome yet."
