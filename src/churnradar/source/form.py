"""A source as a web form: the fields of each connector kind, form values to a definition and back.

Each field names where its value goes in the definition by a dotted path (`options.pagination.size`,
`secrets.token`; `{kind}` in a per-kind field stands for a record kind: `options.queries.{kind}`), and the
form's inputs are named by those paths, so a validation error's location (`options.endpoints.events.path`)
finds its input. The definition is then checked by the same service as YAML and the API. A connector kind
registered without a form gets its options as one YAML field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from churnradar.i18n import N_
from churnradar.ingest.schemas import IMPORT_ORDER

Input = Literal["text", "number", "select", "checkbox", "textarea", "lines", "secret", "yaml"]
Problem = tuple[str, str]  # (the field's path, what is wrong)


@dataclass(frozen=True)
class FormField:
    """One input: where its value goes, its label (a catalog id), how it is typed, and its choices."""

    path: str
    label: str
    input: Input = "text"
    choices: tuple[str, ...] = ()
    group: str = N_("Connection")
    per_kind: bool = False  # one input per record kind; `{kind}` in the path

    def inputs(self) -> list[tuple[str, str | None]]:
        """The input names with their record kind: the path, or one per record kind."""
        if not self.per_kind:
            return [(self.path, None)]
        return [(self.path.format(kind=k.value), k.value) for k in IMPORT_ORDER]

    def names(self) -> list[str]:
        """The input names."""
        return [name for name, _kind in self.inputs()]


COMMON: tuple[FormField, ...] = (
    FormField("schedule", N_("Schedule (cron)"), group=N_("Source")),
    FormField("enabled", N_("Enabled (synced on its schedule)"), "checkbox", group=N_("Source")),
    FormField("mapping", N_("Field mapping (YAML, as for file imports)"), "yaml", group=N_("Source")),
    FormField(
        "create_missing_customers",
        N_("Create customers it names that do not exist"),
        "checkbox",
        group=N_("Source"),
    ),
)
OPTIONS_YAML = FormField("options", N_("Options (YAML)"), "yaml")


def _blank(value: str) -> bool:
    return not value.strip()


def _set(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for step in parents:
        target = target.setdefault(step, {})
    target[last] = value


def _get(source: Mapping[str, Any], path: str) -> Any:
    value: Any = source
    for step in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _yaml_mapping(text: str, path: str, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problems.append((path, f"not YAML{where}"))
        return None
    if not isinstance(value, dict):
        problems.append((path, "expected lines of name: value"))
        return None
    return value


def definition_from_form(
    kind: str, fields: tuple[FormField, ...], form: Mapping[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    """The definition a submitted form describes (for `SourceDefinition`), and the problems of its YAML
    fields. Blank inputs are left out (the option's default, or a secret kept as stored); a per-kind group
    with nothing typed in is left out (that kind is not read)."""
    raw: dict[str, Any] = {"name": form.get("name", "").strip(), "kind": kind, "options": {}, "secrets": {}}
    problems: list[Problem] = []
    groups: dict[str, dict[str, Any]] = {}  # per record kind, the values typed into its inputs
    for field in COMMON + fields:
        for name, kind_of in field.inputs():
            value = form.get(name, "")
            if field.input == "checkbox":
                _set(raw, name, name in form)
                continue
            if _blank(value):
                continue
            typed: Any = value.strip() if field.input != "secret" else value
            if field.input in ("lines", "yaml"):
                typed = _yaml_mapping(value, name, problems)
                if typed is None:
                    continue
            if kind_of is not None:
                groups.setdefault(kind_of, {})[name] = typed
            else:
                _set(raw, name, typed)
    for kind_values in groups.values():
        for name, typed in kind_values.items():
            _set(raw, name, typed)
    # A per-kind checkbox alone does not make its kind read.
    for field in fields:
        if field.per_kind and field.input == "checkbox":
            for name, kind_of in field.inputs():
                if kind_of not in groups:
                    _drop(raw, name)
    return raw, problems


def _drop(target: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    chain = [target]
    for step in parents:
        nxt = chain[-1].get(step)
        if not isinstance(nxt, dict):
            return
        chain.append(nxt)
    chain[-1].pop(last, None)
    for step, parent in zip(reversed(parents), reversed(chain[:-1]), strict=True):
        if not parent[step]:
            del parent[step]


def form_values(fields: tuple[FormField, ...], stored: Mapping[str, Any]) -> dict[str, str | bool]:
    """A stored source's values as the form's inputs hold them (secrets never: their inputs stay empty)."""
    values: dict[str, str | bool] = {}
    for field in COMMON + fields:
        for name in field.names():
            value = _get(stored, name)
            if field.input == "secret" or value is None:
                continue
            if field.input == "checkbox":
                values[name] = bool(value)
            elif field.input in ("lines", "yaml"):
                values[name] = yaml.safe_dump(value, allow_unicode=True, sort_keys=False) if value else ""
            else:
                values[name] = str(value)
    return values


def placeholders(fields: tuple[FormField, ...], options: type[BaseModel]) -> dict[str, str]:
    """Each option's default, shown greyed in its empty input."""
    found: dict[str, str] = {}
    for field in fields:
        if field.per_kind or not field.path.startswith("options."):
            continue
        value: Any = options
        for step in field.path.split(".")[1:]:
            if isinstance(value, type) and issubclass(value, BaseModel):
                info = value.model_fields.get(step)
                value = (
                    None
                    if info is None or info.is_required()
                    else info.get_default(call_default_factory=True)
                )
            elif isinstance(value, BaseModel):
                value = getattr(value, step, None)
            else:
                value = None
        if value is not None and not isinstance(value, dict | BaseModel) and value != "":
            found[field.path] = str(value)
    return found
