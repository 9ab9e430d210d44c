"""People see rule names in their language, never rule ids: overview, 360 page, task cards, effectiveness."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.db import session_scope
from churnradar.kit.clock import FrozenClock
from churnradar.models import Alert, Customer, Rule
from churnradar.web.risk.schemas import RuleNames
from tests.web.conftest import World
from tests.web.seed_risk import LAST_RUN, RUN_DAYS, seed_risk

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
REASON_ROWS = re.compile(r'<tr data-rule="(\w+)">\s*<td>([^<]+)</td>\s*<td class="num">(\d+)')


def test_a_name_is_found_in_the_template_then_the_general_one_then_any() -> None:
    names = RuleNames(
        {
            ("general", "order_gap"): ("Orders stopped", "订单中断"),
            ("retail", "order_gap"): ("Reorder overdue", "补货逾期"),
            ("saas", "logins_thin"): ("Logins thinning", "登录减少"),
        }
    )
    assert names.of("order_gap", "retail") == ("Reorder overdue", "补货逾期")
    assert names.of("order_gap", "manufacturing") == ("Orders stopped", "订单中断")  # inherited
    assert names.of("order_gap") == ("Orders stopped", "订单中断")  # a task knows the rule only
    assert names.of("logins_thin") == ("Logins thinning", "登录减少")
    assert names.name("logins_thin", zh=True) == "登录减少"
    assert names.of("gone_rule") == ("gone_rule", "gone_rule")  # no template names it any more


@pytest.fixture
def inherited(world: World) -> World:
    """The risk seed plus a retail customer's alert of the general `order_gap` rule, whose retail override
    is stored without names (as an industry template's override is)."""
    seed_risk(world.engine)
    world.app.state.clock = FrozenClock(datetime(2026, 11, 23, 9, 0))
    with session_scope(world.engine) as session:
        session.add(
            Rule(
                template="retail",
                slug="order_gap",
                level="yellow",
                enabled=True,
                definition={"slug": "order_gap", "condition": "days_since_last_order > 60"},
                updated_at=datetime(2026, 11, 23),
            )
        )
        customer = session.scalar(select(Customer.id).where(Customer.external_id == "N-001"))
        session.add(
            Alert(
                customer_id=customer,
                rule="order_gap",
                template="retail",
                level="yellow",
                status="open",
                opened_on=RUN_DAYS[3],
                last_fired_on=LAST_RUN,
                last_evaluated_on=LAST_RUN,
                false_streak=0,
                reason_en="No order for 61 days",
                reason_zh="61 天未下单",
            )
        )
    return world


def test_the_overview_names_each_rule_once(inherited: World, client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    # The general rule and its retail override are one line, with both templates' alerts counted.
    assert REASON_ROWS.findall(admin.get("/").text) == [
        ("order_gap", "Orders stopped", "3"),
        ("complaints_up", "Complaints rising", "2"),
    ]
    assert REASON_ROWS.findall(admin.get("/", headers=ZH).text) == [
        ("order_gap", "订单中断", "3"),
        ("complaints_up", "投诉增加", "2"),
    ]


def test_the_360_page_task_cards_and_effectiveness_show_names(
    inherited: World, client_for: Callable[[str], TestClient]
) -> None:
    admin = client_for("admin")
    with session_scope(inherited.engine) as session:
        n001 = session.scalar(select(Customer.id).where(Customer.external_id == "N-001"))
    page = admin.get(f"/customers/{n001}", headers=ZH).text
    assert "订单中断" in page
    assert ">order_gap<" not in page
    tasks = client_for("rep_east").get("/tasks").text
    assert re.findall(r'<span class="rule">([^<]+)</span>', tasks) == ["Orders stopped"]
    tasks_zh = client_for("rep_east").get("/tasks", headers=ZH).text
    assert re.findall(r'<span class="rule">([^<]+)</span>', tasks_zh) == ["订单中断"]
    report = admin.get("/effectiveness").text
    by_rule = dict(re.findall(r'<tr data-rule="(\w+)"><td>([^<]+)</td>', report))
    assert by_rule == {"order_gap": "Orders stopped", "complaints_up": "Complaints rising"}
