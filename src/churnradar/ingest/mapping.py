"""The `--mapping` YAML: rename source columns, translate source values, fill constants, parse odd dates.

```yaml
columns: {客户编号: customer_id, 下单时间: ts}
values:  {kind: {下单: order, 投诉: complaint}}
defaults: {kind: order}
formats:  {ts: "%Y%m%d"}
```
The same keys may instead sit under a record kind (`events: {columns: ...}`) when one file maps a folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from churnradar.ingest.exceptions import MappingError
from churnradar.ingest.schemas import RecordKind


class ColumnMapping(BaseModel):
    """How to turn one source file into canonical columns."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    defaults: dict[str, str] = {}
    formats: dict[str, str] = {}
    encoding: str | None = None

    def rename(self, header: list[str]) -> list[str]:
        """Canonical, lower-case names for a source header; matching is case- and space-insensitive."""
        lookup = {k.strip().casefold(): v.strip().lower() for k, v in self.columns.items()}
        return [lookup.get(h.strip().casefold(), h.strip().lower()) for h in header]


class MappingFile(BaseModel):
    """A mapping for every kind, or one per kind."""

    model_config = ConfigDict(extra="forbid")

    common: ColumnMapping = ColumnMapping()
    per_kind: dict[RecordKind, ColumnMapping] = {}

    def for_kind(self, kind: RecordKind) -> ColumnMapping:
        """The mapping that applies to files of `kind`."""
        return self.per_kind.get(kind, self.common)


def _stringify(raw: Any) -> Any:
    # YAML reads `1: active` and `yes: churned` as int / bool keys; a mapping compares text with text.
    if isinstance(raw, dict):
        return {
            ("true" if k is True else "false" if k is False else str(k)): _stringify(v)
            for k, v in raw.items()
        }
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return str(raw)
    return raw


def load_mapping(path: Path) -> MappingFile:
    """Read and check a mapping YAML; errors name the key that is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"mapping {path}: cannot read it as YAML: {exc}") from exc
    return parse_mapping(raw, f"mapping {path}")


def parse_mapping(raw: Any, origin: str) -> MappingFile:
    """Check a mapping given as data (a file's YAML, or a connected source's `mapping:`); errors start with
    `origin` and name the key that is wrong."""
    path = origin
    if raw is None:
        return MappingFile()
    if not isinstance(raw, dict):
        raise MappingError(f"{path}: expected a mapping of keys at the top, got {type(raw).__name__}")
    raw = _stringify(raw)
    kinds = {k.value for k in RecordKind}
    try:
        if any(key in kinds for key in raw):
            unknown = sorted(set(raw) - kinds)
            if unknown:
                raise MappingError(
                    f"{path}: unknown top-level key(s) {unknown}; use record kinds {sorted(kinds)}"
                )
            return MappingFile(
                per_kind={RecordKind(k): ColumnMapping.model_validate(v) for k, v in raw.items()}
            )
        return MappingFile(common=ColumnMapping.model_validate(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise MappingError(f"{path}: {problems}") from exc
