"""What every connector is: chunks of one record kind after a cursor, a test, and its configuration."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
from pydantic import BaseModel

from churnradar.ingest.schemas import RecordKind
from churnradar.source.form import FormField


@dataclass(frozen=True)
class Pull:
    """What a sync asks a connector for: one kind, after `cursor`, skipping the files in `done`."""

    kind: RecordKind
    cursor: str | None  # encoded (source.cursor); None: from the start
    done: frozenset[str] = frozenset()  # a folder's files already imported (their keys)
    batch_rows: int = 50_000


@dataclass(frozen=True)
class Chunk:
    """One batch for the import: records (or a file) and the cursor the source reaches once it is stored."""

    kind: RecordKind
    cursor: str | None
    records: Sequence[Mapping[str, Any]] | pa.Table = ()  # a table keeps a database's column types
    path: Path | None = None
    # (first record number, "page 3"): where records came from, for error messages
    where: tuple[tuple[int, str], ...] = field(default=())

    def place(self, row: int | None) -> str | None:
        """Where record `row` (from 1) came from, e.g. "page 3"; None when not known."""
        if row is None:
            return None
        found = None
        for first, label in self.where:
            if first <= row:
                found = label
        return found


class Connector(Protocol):
    """An open connection to one source."""

    def kinds(self) -> list[RecordKind]:
        """The record kinds this source delivers."""
        ...

    def test(self) -> str:
        """Reach the source and read a little; a line saying what was found. Raises ConnectorError."""
        ...

    def chunks(self, pull: Pull) -> Iterator[Chunk]:
        """The kind's records after the cursor, in cursor order, in chunks. Raises ConnectorError."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class ConnectorKind:
    """A registered connector: its options model, the secrets it takes, and how it opens."""

    options: type[BaseModel]
    secrets: frozenset[str]
    required_secrets: frozenset[str]
    open: Callable[[str, Any, dict[str, str]], Connector]  # (source name, options, secrets)
    describe: str
    needs: Callable[[Any], frozenset[str]] = lambda _options: frozenset()  # secrets the options call for
    form: tuple[FormField, ...] = ()  # the admin page's inputs (none: the options as one YAML field)

    def required(self, options: BaseModel) -> frozenset[str]:
        """The secrets a source with these options must have."""
        return self.required_secrets | self.needs(options)
