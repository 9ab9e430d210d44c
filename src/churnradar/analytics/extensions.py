"""Load DuckDB's sqlite and postgres extensions from their PyPI wheels, so nothing downloads at run time."""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb

# Wheel module -> the name DuckDB expects in the file name (its init symbol is `<name>_duckdb_cpp_init`).
_WHEELS = {
    "sqlite": ("duckdb_extension_sqlite", "sqlite_scanner"),
    "postgres": ("duckdb_extension_postgres", "postgres_scanner"),
}


class ExtensionMissingError(RuntimeError):
    """The extension wheel matching this DuckDB is not installed."""


def extension_file(name: str) -> Path:
    """The extension binary shipped in the wheel, under the file name DuckDB's loader needs."""
    module_name, internal = _WHEELS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ExtensionMissingError(f"install {module_name.replace('_', '-')}=={duckdb.__version__}") from exc
    folder = Path(module.__file__ or "").parent / "extensions" / f"v{duckdb.__version__}"
    shipped = next(iter(sorted(folder.glob("*.duckdb_extension"))), None)
    if shipped is None:
        raise ExtensionMissingError(
            f"{module_name} has no extension for DuckDB {duckdb.__version__} in {folder}"
        )
    # The wheel names the file `sqlite.duckdb_extension`, but DuckDB derives the entry point from the file
    # name: a link named after the internal extension name makes it loadable as is.
    links = Path(tempfile.gettempdir()) / f"churnradar-duckdb-ext-{os.getuid()}" / f"v{duckdb.__version__}"
    links.mkdir(parents=True, exist_ok=True)
    link = links / f"{internal}.duckdb_extension"
    if not link.exists() or link.resolve() != shipped.resolve():
        temporary = links / f".{internal}.{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(shipped)
        temporary.replace(link)  # atomic: parallel test workers may race here
    return link


def load_extension(con: Any, name: str) -> None:
    """LOAD the extension `name` (sqlite or postgres) into a raw DuckDB connection."""
    con.execute(f"LOAD '{extension_file(name)}'")
