"""A rule held by data health keeps its open alerts, but their reasons say today's values (issue #17 item 4:
an alert said "contract ends in 18 days" on a day it was 11)."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd

from churnradar.alert.lifecycle import Policy
from churnradar.evaluation.assess import Assessment, build_rulebook
from churnradar.evaluation.service import hold_rules
from churnradar.indicator.service import selected_indicators
from churnradar.rule.templates import build_templates, template_raws

RULE = {
    "slug": "contract_soon",
    "name_en": "Contract ends soon",
    "name_zh": "合同即将到期",
    "condition": "days_to_contract_end BETWEEN 0 AND 30",
    "level": "yellow",
    "reason_en": "contract ends in {days_to_contract_end:.0f} days",
    "reason_zh": "合同 {days_to_contract_end:.0f} 天后到期",
}


def test_a_held_alert_is_reworded_with_todays_values_and_others_keep_theirs() -> None:
    raws = template_raws()
    general = {**raws["general"], "rules": [RULE]}
    templates = build_templates({"general": general})
    indicators = [i.slug for i in selected_indicators()]
    book = build_rulebook(templates, indicators, Policy())
    table = pd.DataFrame({"customer_id": [1, 2], "days_to_contract_end": [11.0, 40.0]})
    before = pd.DataFrame(
        {
            "id": [10, 11],
            "customer_id": [1, 3],  # customer 3 is not judged today (left): its alert keeps its text
            "rule": ["contract_soon", "contract_soon"],
            "template": ["general", "general"],
            "level": ["yellow", "yellow"],
            "opened_on": [date(2026, 11, 1)] * 2,
            "reason_en": ["contract ends in 18 days", "contract ends in 20 days"],
            "reason_zh": ["合同 18 天后到期", "合同 20 天后到期"],
            "values": ['{"days_to_contract_end": 18.0}', '{"days_to_contract_end": 20.0}'],
        }
    )
    fired = pd.DataFrame(
        columns=["customer_id", "rule", "template", "level", "reason_en", "reason_zh", "values"]
    )
    held = hold_rules(Assessment(table, fired), before, [("general", "contract_soon")], book)
    by_customer = held.set_index("customer_id")
    assert by_customer.loc[1, "reason_en"] == "contract ends in 11 days"
    assert by_customer.loc[1, "reason_zh"] == "合同 11 天后到期"
    assert json.loads(by_customer.loc[1, "values"]) == {"days_to_contract_end": 11.0}
    assert by_customer.loc[3, "reason_en"] == "contract ends in 20 days"
    assert by_customer.loc[1, "level"] == "yellow"  # held: neither new nor resolved, its level kept
