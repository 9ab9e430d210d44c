"""Custom indicators over the API and on the admin page."""

from __future__ import annotations

from datetime import datetime

import yaml
from sqlalchemy.engine import Engine

from churnradar.rule import service as rule_service


def add_general_rule(engine: Engine, slug: str, condition: str) -> None:
    """Store a yellow rule `slug` of the general template reading `condition` (what a removal must name)."""
    at = datetime(2025, 1, 1, 12)
    rule_service.active_templates(engine, at=at)
    document = yaml.safe_load(rule_service.export_rules(engine, ["general"]))
    document["general"].append(
        {"slug": slug, "name_en": slug, "name_zh": slug, "condition": condition, "level": "yellow",
         "reason_en": slug, "reason_zh": slug}
    )  # fmt: skip
    rule_service.import_rules(engine, yaml.safe_dump(document, allow_unicode=True), at=at, by="test")
