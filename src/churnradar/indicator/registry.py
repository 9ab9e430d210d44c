"""The indicator registry: built-in YAML definitions shipped with the package, plus users' own files.

A definition file is a YAML list; each item carries the indicator's metadata (slug, name_en, name_zh, unit,
family, description) and, beside it, its template and parameters, e.g.
`{slug: logins_30d, ..., template: window, kinds: [login], agg: count, days: 30}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from churnradar.indicator import keywords
from churnradar.indicator.exceptions import DefinitionError
from churnradar.indicator.schemas import Indicator
from churnradar.kit.registry import Registry

DEFINITIONS = Path(__file__).parent / "definitions"
ENTRY_POINT_GROUP = "churnradar.indicators"
_META = ("slug", "name_en", "name_zh", "unit", "family", "description", "description_zh")


def parse_definitions(raw: Any, source: str = "<definitions>") -> list[Indicator]:
    """Typed indicators from the parsed YAML of one definition file."""
    if not isinstance(raw, list):
        raise DefinitionError(f"{source}: expected a list of indicator definitions")
    out: list[Indicator] = []
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise DefinitionError(f"{source}: item {position} is not a mapping")
        meta = {k: item[k] for k in _META if k in item}
        params = {k: v for k, v in item.items() if k not in _META}
        try:
            out.append(Indicator.model_validate({**meta, "params": params}))
        except ValidationError as exc:
            name = item.get("slug", f"item {position}")
            raise DefinitionError(f"{source}: {name}: {exc}") from exc
    return out


def load_file(path: Path) -> list[Indicator]:
    """Typed indicators from one YAML definition file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError(f"{path}: cannot read it as YAML: {exc}") from exc
    return parse_definitions(raw, str(path))


def build_registry(indicators: Iterable[Indicator]) -> Registry[Indicator]:
    """A registry of `indicators`, refusing duplicates, unknown dependencies and cycles."""
    registry: Registry[Indicator] = Registry("indicator")
    for indicator in indicators:
        if indicator.slug in registry:
            raise DefinitionError(f"indicator {indicator.slug!r} is defined twice")
        registry.add(indicator.slug, indicator)
    for slug in registry:
        for dependency in registry.get(slug).depends_on:
            if dependency not in registry:
                raise DefinitionError(f"indicator {slug!r} depends on unknown indicator {dependency!r}")
    dependency_order(registry, list(registry))
    return registry


def builtin_raw() -> list[tuple[Path, Any]]:
    """The built-in definition files, parsed, in name order."""
    return [
        (path, yaml.safe_load(path.read_text(encoding="utf-8")))
        for path in sorted(DEFINITIONS.glob("*.yaml"))
    ]


def builtin_indicators() -> list[Indicator]:
    """The built-in definitions, all files of the package's definitions folder in name order, with the
    keyword lists admins stored (competitor names, deep features, balance threshold) in place."""
    settings = _keywords() if _keywords is not None else None
    if settings is None:
        return [i for path in sorted(DEFINITIONS.glob("*.yaml")) for i in load_file(path)]
    return [
        i
        for path, raw in builtin_raw()
        for i in parse_definitions(keywords.patched(raw, settings), str(path))
    ]


def plugin_files() -> list[Path]:
    """Definition files other packages ship: entry points of group `churnradar.indicators` naming a
    callable that returns YAML paths."""
    found: list[Path] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.extend(Path(p) for p in entry.load()())
    return found


# The store's custom definitions (indicator.custom), as `indicator.service.use_store` binds them: every
# caller of `default_registry` (rules' fields, evaluate, `rule test`, backtests, the model, reasons) sees
# what users stored without being handed the store.
_stored: Callable[[], list[Indicator]] | None = None
_keywords: Callable[[], keywords.KeywordSettings | None] | None = None


def bind_stored(
    loader: Callable[[], list[Indicator]] | None,
    keywords_loader: Callable[[], keywords.KeywordSettings | None] | None = None,
) -> None:
    """Where `default_registry` reads the stored custom definitions from (None: nowhere), and the keyword
    lists admins stored for the built-in definitions (None: the shipped ones)."""
    global _stored, _keywords
    _stored = loader
    _keywords = keywords_loader


def stored_indicators() -> list[Indicator]:
    """The custom definitions of the bound store, compiled (none when no store is bound)."""
    return _stored() if _stored is not None else []


def default_registry(extra_files: Sequence[Path] = (), *, stored: bool = True) -> Registry[Indicator]:
    """Built-ins, installed plugins' files, the user's files, then the store's custom definitions (a slug
    may be defined once in all)."""
    files = [*plugin_files(), *extra_files]
    extra = stored_indicators() if stored else []
    return build_registry([*builtin_indicators(), *(i for p in files for i in load_file(p)), *extra])


def dependency_order(registry: Registry[Indicator], slugs: Sequence[str]) -> list[str]:
    """`slugs` and everything they depend on, each after its dependencies."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(slug: str, path: tuple[str, ...]) -> None:
        if state.get(slug) == "done":
            return
        if state.get(slug) == "visiting":
            raise DefinitionError("indicator dependency cycle: " + " -> ".join((*path, slug)))
        state[slug] = "visiting"
        for dependency in registry.get(slug).depends_on:
            visit(dependency, (*path, slug))
        state[slug] = "done"
        order.append(slug)

    for slug in slugs:
        visit(slug, ())
    return order
