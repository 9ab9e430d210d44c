"""/admin/indicators: admins create, preview, edit, export and import custom indicators on a page, with the
API's located errors; removal is refused naming the rules that read one; everyone else is refused."""

# ruff: noqa: F811 - pytest fixtures imported by name

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import text

from churnradar.indicator import service
from churnradar.indicator.registry import bind_stored
from tests.web.conftest import World, client_for, csrf_of, world  # noqa: F401 - fixtures
from tests.web.indicators import add_general_rule

ORDERS = {
    "name": "orders_year",
    "name_en": "Orders in the last year",
    "name_zh": "近一年订单数",
    "unit": "orders",
    "family": "orders",
    "events": "order",
    "aggregate": "count",
    "window_days": "365",
    "compare": "",
    "direction": "",
    "editing": "",
}


@pytest.fixture(autouse=True)
def unbound() -> Iterator[None]:
    yield
    bind_stored(None)


def _audited(world: World) -> list[tuple[str, str]]:
    query = text("SELECT action, entity FROM audit_log WHERE entity LIKE 'indicator%' ORDER BY id")
    with world.engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(query)]


def test_admin_creates_previews_edits_and_round_trips_an_indicator(
    world: World, client_for: Callable[[str], TestClient]
) -> None:
    admin = client_for("admin")
    page = admin.get("/admin/indicators")
    assert page.status_code == 200
    assert 'href="/admin/indicators"' in page.text  # in the admin's navigation
    assert 'value="order"' in page.text
    assert 'value="visit"' in page.text
    csrf = csrf_of(page.text)

    preview = admin.post(
        "/admin/indicators/preview", data={**ORDERS, "as_of": "2025-01-01", "csrf_token": csrf}
    )
    assert preview.status_code == 200, preview.text
    assert 'id="indicator-preview"' in preview.text
    assert "customers have a value; the highest:" in preview.text
    assert "%(" not in preview.text  # every count filled in
    assert service.list_custom(world.engine) == []  # a preview stores nothing
    assert 'value="Orders in the last year"' in preview.text  # the form keeps what was typed

    created = admin.post("/admin/indicators", data={**ORDERS, "csrf_token": csrf}, follow_redirects=True)
    assert created.status_code == 200
    assert 'id="indicator-orders_year"' in created.text
    assert "Orders in the last year" in created.text
    again = admin.post("/admin/indicators", data={**ORDERS, "csrf_token": csrf})
    assert again.status_code == 400
    assert "exists; edit it instead" in again.text

    edit = admin.get("/admin/indicators?edit=orders_year")
    assert 'value="365"' in edit.text
    assert 'name="editing" value="orders_year"' in edit.text
    described = {"description": "Orders placed", "description_zh": "下单次数"}
    changed = {**ORDERS, **described, "editing": "orders_year", "window_days": "90", "compare": "ratio"}
    assert (
        admin.post(
            "/admin/indicators", data={**changed, "csrf_token": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    stored = service.get_custom(world.engine, "orders_year")
    assert (stored.window_days, stored.compare) == (90, "ratio")
    # The description in each language: on this page and in the rule builder's field list.
    zh = {"Accept-Language": "zh-CN"}
    assert "下单次数" in admin.get("/admin/indicators", headers=zh).text
    assert "下单次数" not in admin.get("/admin/indicators").text
    assert "下单次数" in admin.get("/rules/fields?q=orders_year", headers=zh).text
    assert "Orders placed" in admin.get("/rules/fields?q=orders_year").text

    exported = admin.get("/admin/indicators/export.yaml")
    assert [d["name"] for d in yaml.safe_load(exported.text)] == ["orders_year"]
    document = yaml.safe_load(exported.text)
    document[0]["name_en"] = "Orders, 90 days against the 90 before"
    imported = admin.post(
        "/admin/indicators/import",
        data={"text": yaml.safe_dump(document), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert imported.status_code == 303
    assert service.get_custom(world.engine, "orders_year").name_en == "Orders, 90 days against the 90 before"
    assert _audited(world) == [
        ("create", "indicator"), ("update", "indicator"), ("export", "indicators"), ("update", "indicator")
    ]  # fmt: skip


def test_form_errors_are_located_and_nothing_is_stored(
    world: World, client_for: Callable[[str], TestClient]
) -> None:
    admin = client_for("admin")
    csrf = csrf_of(admin.get("/admin/indicators").text)
    bad = {**ORDERS, "window_days": "0", "value_min": "lots", "csrf_token": csrf}
    refused = admin.post("/admin/indicators", data=bad)
    assert refused.status_code == 400
    assert "window_days: Input should be greater than or equal to 1" in refused.text
    assert "filter.value_min: Input should be a valid number" in refused.text
    assert 'value="lots"' in refused.text  # kept for the fix
    clash = {**ORDERS, "name": "orders_30d", "as_of": "2025-01-01", "csrf_token": csrf}
    assert "is a built-in indicator&#39;s" in admin.post("/admin/indicators", data=clash).text
    assert "is a built-in indicator&#39;s" in admin.post("/admin/indicators/preview", data=clash).text
    undated = admin.post("/admin/indicators/preview", data={**ORDERS, "as_of": "1/1", "csrf_token": csrf})
    assert "as_of: &#39;1/1&#39; is not a date (YYYY-MM-DD)" in undated.text
    bad_yaml = admin.post("/admin/indicators/import", data={"text": "- name: a\n", "csrf_token": csrf})
    assert bad_yaml.status_code == 400
    assert "YAML: item 1: " in bad_yaml.text
    assert service.list_custom(world.engine) == []
    assert _audited(world) == []


def test_removal_names_the_rules_and_only_admins_get_in(
    world: World, client_for: Callable[[str], TestClient]
) -> None:
    admin = client_for("admin")
    csrf = csrf_of(admin.get("/admin/indicators").text)
    created = admin.post("/admin/indicators", data={**ORDERS, "csrf_token": csrf}, follow_redirects=False)
    assert created.status_code == 303
    add_general_rule(world.engine, "few_orders", "orders_year < 2")

    listed = admin.get("/admin/indicators")
    assert "<code>general/few_orders</code>" in listed.text  # what uses it
    refused = admin.post("/admin/indicators/orders_year/delete", data={"csrf_token": csrf})
    assert refused.status_code == 409
    assert "is used by rules: general/few_orders" in refused.text
    assert [d.name for d in service.list_custom(world.engine)] == ["orders_year"]

    rep = client_for("rep_east")
    assert rep.get("/admin/indicators").status_code == 403
    rep_csrf = csrf_of(rep.get("/tasks").text)
    assert rep.post("/admin/indicators", data={**ORDERS, "csrf_token": rep_csrf}).status_code == 403
    assert rep.post("/admin/indicators/orders_year/delete", data={"csrf_token": rep_csrf}).status_code == 403
    assert 'href="/admin/indicators"' not in rep.get("/tasks").text
