"""The rule forms without a browser: the builder's edits and field list, a new rule's try-out and creation,
refusals shown on the form, delete from the page, and who may do what."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import date

from fastapi.testclient import TestClient

from churnradar.evaluation.service import evaluate
from tests.web.conftest import World, csrf_of


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _condition(page: str) -> str:
    found = re.search(r'<textarea name="condition"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None, page[:500]
    return html.unescape(found.group(1))


def test_build_try_create_refuse_and_delete_a_rule(
    world: World, client_for: Callable[[str], TestClient]
) -> None:
    evaluate(world.engine, as_of=date(2025, 1, 1), settings=world.settings)
    admin = client_for("admin")
    page = admin.get("/rules/new?template=retail")
    assert page.status_code == 200
    csrf = {"X-CSRF-Token": csrf_of(page.text)}
    base = {"rule_id": "", "template": "retail", "b.r.kind": "group", "b.r.joiner": "and"}

    # The field list searches names, descriptions and units in the reader's language.
    found = admin.get("/rules/fields", params={"q": "signup", "path": "r.0"})
    assert 'data-field="tenure_days"' in found.text
    assert "Days from the customer" in _text(found.text)

    # Builder edits: the server reads the tree from the form, edits it and prints the condition.
    clause = {"b.r.0.kind": "clause", "b.r.0.field": "", "b.r.0.operator": ">", "b.r.0.v0": "365"}
    built = admin.post(
        "/rules/builder", data=base | clause | {"action": "pick:r.0:tenure_days"}, headers=csrf
    )
    assert _condition(built.text) == "tenure_days > 365"
    assert 'id="check-valid"' in built.text
    assert "customers now (as of 2025-01-01)" in _text(built.text)
    hostile = clause | {"b.r.0.field": "tenure_days", "b.r.0.v0": "1 OR 1=1"}
    refused = admin.post("/rules/builder", data=base | hostile, headers=csrf)
    assert _condition(refused.text) == "tenure_days > '1 OR 1=1'"
    assert "the comparison compares a number with a text at column 1" in _text(refused.text)
    grouped = admin.post(
        "/rules/builder",
        data=base | clause | {"b.r.0.field": "tenure_days", "action": "add-group:r"},
        headers=csrf,
    )
    assert 'id="node-r-1"' in grouped.text
    assert 'value="or" selected' in grouped.text

    # Typed text rebuilds the builder (or says why it cannot).
    checked = admin.post(
        "/rules/check", data=base | {"condition": "NOT tier IN ('high', 'low')"}, headers=csrf
    )
    assert 'hx-swap-oob="true"' in checked.text
    assert 'value="high, low"' in checked.text
    broken = admin.post("/rules/check", data=base | {"condition": "tier = 'high' AND"}, headers=csrf)
    assert "the expression is incomplete at column 15" in _text(broken.text)

    tried = admin.post(
        "/rules/try", data=base | {"condition": "tenure_days > 365", "level": "yellow"}, headers=csrf
    )
    assert tried.status_code == 200
    assert 'id="try-figures"' in tried.text

    form = {
        "csrf_token": csrf["X-CSRF-Token"],
        "template": "retail",
        "slug": "loyal_but_quiet",
        "name_en": "Loyal but quiet",
        "name_zh": "老客户变安静",
        "condition": "tenure_days > 365 AND days_since_last_login > 30",
        "level": "yellow",
        "enabled": "true",
        "escalate_orange": "days_since_last_login > 60",
        "escalate_red": "",
        "reason_en": "No login for {days_since_last_login:.0f} days",
        "reason_zh": "{days_since_last_login:.0f} 天未登录",
        "tiers": "High, medium",
        "tags_add": "流失风险",
    }
    bad = admin.post("/rules/new", data=form | {"escalate_red": "days_since_last_login > 10 /"})
    assert bad.status_code == 400
    assert "rule 'loyal_but_quiet': escalate to red: cannot parse the condition" in _text(bad.text)
    assert 'value="loyal_but_quiet"' in bad.text  # what was typed stays in the form
    created = admin.post("/rules/new", data=form, follow_redirects=False)
    assert created.status_code == 303
    assert created.headers["location"] == "/rules/retail.loyal_but_quiet?saved=1"
    shown = admin.get("/rules/retail.loyal_but_quiet").text
    assert "days_since_last_login &gt; 60" in shown
    assert 'value="high, medium"' in shown

    # A manager reads but may not change.
    manager = client_for("mgr_east")
    assert manager.get("/rules/retail.loyal_but_quiet/history").status_code == 200
    assert manager.get("/rules/new").status_code == 403
    assert manager.post("/rules/builder", data=base, headers=csrf).status_code in (403, 400)

    deleted = admin.post("/rules/retail.loyal_but_quiet/delete", data={"csrf_token": csrf["X-CSRF-Token"]})
    assert deleted.status_code == 200
    assert "This rule is deleted" in _text(deleted.text)
    assert admin.get("/rules/retail.loyal_but_quiet").status_code == 404
    assert "retail.loyal_but_quiet" in _text(admin.get("/rules").text)  # listed under deleted rules
