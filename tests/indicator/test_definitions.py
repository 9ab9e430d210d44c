"""The registry: built-ins load and cover the seven families; user files extend it; bad files say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnradar.indicator import registry as registry_module
from churnradar.indicator.exceptions import DefinitionError
from churnradar.indicator.registry import builtin_indicators, default_registry, dependency_order
from churnradar.indicator.schemas import Family

FILES = Path(__file__).parent / "definitions"


def test_builtins_cover_all_seven_families_with_both_languages() -> None:
    indicators = builtin_indicators()
    assert {i.family for i in indicators} == set(Family)
    assert all(i.name_en and i.name_zh for i in indicators)
    assert len({i.slug for i in indicators}) == len(indicators) >= 40


def test_derived_indicators_come_after_their_dependencies() -> None:
    registry = default_registry()
    order = dependency_order(registry, ["contract_ending_without_contact", "activity_drop_pct"])
    assert order.index("days_to_contract_end") < order.index("contract_ending_without_contact")
    assert order.index("communications_30d") < order.index("contract_ending_without_contact")
    assert order[-1] == "activity_drop_pct"
    assert registry.get("activity_drop_pct").depends_on == ("activity_30d", "activity_baseline")


def test_user_file_extends_the_builtins() -> None:
    registry = default_registry([FILES / "custom.ok.yaml"])
    assert "visits_vs_logins" in registry
    assert registry.get("visits_vs_logins").depends_on == ("visits_60d", "login_days_30d")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("cycle.dependency_cycle.yaml", "cycle", id="cycle"),
        pytest.param("unknown.depends_on_unknown.yaml", "unknown indicator 'nope'", id="unknown-dependency"),
        pytest.param("duplicate.defined_twice.yaml", "defined twice", id="duplicate"),
        pytest.param("mean_of_text.needs_numeric_field.yaml", "numeric field", id="mean-of-text"),
        pytest.param("rate.needs_window_length.yaml", "window length", id="rate-without-window"),
        pytest.param("family.unknown_family.yaml", "family", id="unknown-family"),
    ],
)
def test_invalid_definitions_are_refused_with_the_reason(name: str, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        default_registry([FILES / name])


def test_installed_packages_add_definitions_through_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    class Entry:
        def load(self) -> object:
            return lambda: [str(FILES / "custom.ok.yaml")]

    monkeypatch.setattr(registry_module, "entry_points", lambda group: [Entry()] if group else [])
    assert "visits_60d" in default_registry()
