"""Every main page in Chinese shows no English from the catalogs and no raw slug (issue #17 item 6).

Rendered with the app's test client over the web seed with risk data (no browser: a fast server-side check).
Visible text is every text node outside <script> and <style>, plus placeholders; a node that is an English
message id of the catalogs (one the Chinese catalog translates) is English a zh_CN reader meets, and a rule
id or indicator slug as a word is a slug no reader should meet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar import i18n
from churnradar.db import session_scope
from churnradar.indicator.service import selected_indicators
from churnradar.kit.clock import FrozenClock
from churnradar.models import InterventionTask, Rule
from churnradar.web.i18n import value_name
from tests.web.conftest import World
from tests.web.risk.test_risk import RISK_NOW
from tests.web.seed_risk import seed_risk

PAGES = (
    "/",  # the overview, with the data-health panel
    "/risk",
    "/customers",
    "/customers/{customer}",
    "/tasks",
    "/tasks/{task}",
    "/effectiveness",
    "/settings",
)
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+(?::[^}]*)?\}")


class VisibleText(HTMLParser):
    """The text nodes a reader sees (not scripts or styles), and placeholders of inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name == "placeholder" and value:
                self.nodes.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skip:
            self.nodes.append(text)


def english_ids() -> list[re.Pattern[str]]:
    """Each English message id the Chinese catalog translates (with a word in it), as a whole-node match."""
    patterns = []
    for message in i18n.read_catalog("zh_CN"):
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        if not message.id or not message.string:
            continue
        for text in ids:
            if not re.search(r"[A-Za-z]{2}", PLACEHOLDER.sub("", text)):
                continue
            parts = [re.escape(" ".join(p.split())) for p in PLACEHOLDER.split(text)]
            patterns.append(re.compile("^" + ".+?".join(parts) + "$"))
    return patterns


def slugs(world: World) -> set[str]:
    """Rule ids and indicator slugs (those of two words or more: a single word may be a real word)."""
    with session_scope(world.engine) as session:
        rules = set(session.scalars(select(Rule.slug)))
    return {s for s in rules | {i.slug for i in selected_indicators()} if "_" in s}


@pytest.fixture
def risk(world: World) -> World:
    seed_risk(world.engine)
    world.app.state.clock = FrozenClock(RISK_NOW)
    return world


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # what a page says does not depend on SQL
def test_chinese_pages_show_no_english_message_and_no_slug(
    risk: World, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("admin")
    english = english_ids()
    raw = slugs(risk)
    problems: list[str] = []
    with session_scope(risk.engine) as session:
        task = session.scalars(select(InterventionTask.id).limit(1)).one()
    for page in PAGES:
        path = page.format(customer=risk.ids.customers["E-001"], task=task)
        response = client.get(path, headers={"Accept-Language": "zh-CN"})
        assert response.status_code == 200, path
        assert response.headers["content-language"] == "zh-CN", path
        parser = VisibleText()
        parser.feed(response.text)
        for node in parser.nodes:
            if any(p.match(node) for p in english):
                problems.append(f"{path}: English {node!r}")
            words = set(re.findall(r"[a-z][a-z0-9_]*", node))
            problems.extend(f"{path}: slug {s!r} in {node[:80]!r}" for s in sorted(words & raw))
    assert problems == [], "\n".join(problems)


def test_a_stored_value_reads_as_its_name_in_either_language() -> None:
    chinese = i18n.translations("zh_CN")
    english = i18n.translations("en")
    assert value_name("abandoned_cart", chinese) == "放弃购物车"
    assert value_name("abandoned_cart", english) == "abandoned cart"  # no slug in English either
    assert value_name("SMB", english) == "SMB"
    assert value_name("", chinese) == ""  # not the catalog's header
