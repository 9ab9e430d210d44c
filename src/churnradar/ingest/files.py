"""Which files a path holds for import, and what each holds, told by its name: customers.csv,
events_2024-01.parquet, ..."""

from __future__ import annotations

from pathlib import Path

from churnradar.ingest.exceptions import IngestError
from churnradar.ingest.readers import SUFFIXES
from churnradar.ingest.schemas import IMPORT_ORDER, RecordKind


def kind_of(path: Path) -> RecordKind | None:
    """The record kind a file name announces: `customers.csv`, `events_2024-01.parquet`, ..."""
    stem = path.name[: -len(path.suffix)].lower() if path.suffix else path.name.lower()
    for kind in RecordKind:
        if stem == kind.value or (stem.startswith(kind.value) and stem[len(kind.value)] in "_-. "):
            return kind
    return None


def files_to_import(path: Path, kind: RecordKind | None = None) -> list[tuple[Path, RecordKind]]:
    """The importable files at `path` (a file, or a folder's files), people and customers first."""
    if not path.exists():
        raise IngestError(f"{path}: no such file or folder")
    if kind is not None:
        if path.is_dir():
            raise IngestError(f"{path}: a kind can be given for one file, not for a folder")
        if path.suffix.lower() not in SUFFIXES:
            raise IngestError(f"{path.name}: unsupported file type; use one of {', '.join(SUFFIXES)}")
        return [(path, kind)]
    candidates = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    found: list[tuple[Path, RecordKind]] = []
    for candidate in candidates:
        kind = kind_of(candidate)
        if kind is None or candidate.suffix.lower() not in SUFFIXES:
            if not path.is_dir():
                raise IngestError(
                    f"{candidate.name}: cannot tell what it holds; name it customers.*, events.*, "
                    f"contracts.*, invoices.* or users.* with a suffix of {', '.join(SUFFIXES)}"
                )
            continue
        found.append((candidate, kind))
    if path.is_dir() and not found:
        raise IngestError(f"{path}: no customers.*, events.*, contracts.*, invoices.* or users.* files in it")
    return sorted(found, key=lambda item: (IMPORT_ORDER.index(item[1]), item[0].name))
