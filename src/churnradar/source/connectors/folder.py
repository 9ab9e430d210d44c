"""A watched folder: files an export job drops (`orders_2026-11-20.csv`), each imported once.

A file is known by its name, size and modification time: the same name written again with other content is
a new file. The kind comes from the name (customers*, events*, ...) unless the source fixes one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from churnradar.i18n import N_
from churnradar.ingest.readers import SUFFIXES
from churnradar.ingest.schemas import IMPORT_ORDER, RecordKind
from churnradar.ingest.service import kind_of
from churnradar.source.connectors.base import Chunk, ConnectorKind, Pull
from churnradar.source.exceptions import ConnectorError
from churnradar.source.form import FormField
from churnradar.source.schemas import FolderOptions


def file_key(path: Path) -> str:
    """What makes a dropped file new: its name, size and modification time (ns)."""
    stat = path.stat()
    return f"{path.name}|{stat.st_size}|{stat.st_mtime_ns}"


class FolderConnector:
    """The folder's importable files, oldest name first within each kind."""

    def __init__(self, name: str, options: FolderOptions, secrets: dict[str, str]) -> None:
        del secrets  # a folder takes none
        self.name, self.options = name, options

    def _files(self) -> list[tuple[Path, RecordKind]]:
        folder = self.options.path
        if not folder.is_dir():
            raise ConnectorError(f"source {self.name}: {folder} is not a folder this process can read")
        found = []
        for path in sorted(folder.glob(self.options.pattern)):
            if not path.is_file() or path.suffix.lower() not in SUFFIXES or path.name.startswith("."):
                continue
            kind = self.options.kind or kind_of(path)
            if kind is not None:
                found.append((path, kind))
        return found

    def kinds(self) -> list[RecordKind]:
        if self.options.kind is not None:
            return [self.options.kind]
        return list(IMPORT_ORDER)

    def test(self) -> str:
        files = self._files()
        return f"folder readable; {len(files)} importable file(s)"

    def chunks(self, pull: Pull) -> Iterator[Chunk]:
        for path, kind in self._files():
            if kind is pull.kind:
                key = file_key(path)
                if key not in pull.done:
                    yield Chunk(kind, key, path=path)

    def close(self) -> None:
        """Nothing to release."""


FORM = (
    FormField("options.path", N_("Folder")),
    FormField("options.pattern", N_("File name pattern")),
    FormField(
        "options.kind",
        N_("Record kind (when file names do not say it)"),
        "select",
        choices=tuple(k.value for k in IMPORT_ORDER),
    ),
    FormField("options.encoding", N_("Encoding (e.g. gb18030)")),
)

FOLDER = ConnectorKind(
    options=FolderOptions,
    secrets=frozenset(),
    required_secrets=frozenset(),
    open=FolderConnector,
    describe="a folder of exported files, each new file imported once",
    form=FORM,
)
