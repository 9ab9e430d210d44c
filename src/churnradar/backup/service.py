"""`churnradar backup` and `restore`: the database and its lake as one consistent pair.

While a backup runs it holds every lake table's writer lock, so no lake commit happens between the
database copy and the lake copy: the pair is the store as it was when the database copy was taken. An
import that had written its run but not yet its lake commit is waiting for the lock; the copy has the run
and not the commit, exactly what a crash at that point leaves, and the restore settles it (as `init`
does). Writers wait for the backup (up to CHURNRADAR_LAKE__LOCK_TIMEOUT_SECONDS); readers never do.

SQLite is copied with SQLite's online backup API through the store's own driver (a consistent copy while
others read and write); PostgreSQL with `pg_dump --format=custom`, restored with `pg_restore`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import URL, Engine

from churnradar import __version__
from churnradar.backup.exceptions import BackupError
from churnradar.ingest import service as ingest_service
from churnradar.kit.clock import Clock, SystemClock
from churnradar.lake.pairing import store_identity
from churnradar.lake.schemas import LakeTable
from churnradar.lake.service import lake_for, root_for
from churnradar.store import current_revision, migrate

MANIFEST = "manifest.json"
LAKE_FOLDER = "lake"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
FORMAT = 1


@dataclass(frozen=True)
class BackupSummary:
    """What a backup or a restore copied."""

    folder: Path
    database: str  # the file inside the backup folder
    lake_versions: dict[str, int | None]
    store_id: str | None
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "folder": str(self.folder),
            "database": self.database,
            "lake_versions": self.lake_versions,
            "store_id": self.store_id,
            "bytes": self.bytes,
        }


def backup(engine: Engine, out: Path, *, clock: Clock | None = None) -> BackupSummary:
    """Copy `engine`'s database and lake into the new or empty folder `out`, with a manifest."""
    dialect = _dialect(engine)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out} is not an empty folder; give a new folder for each backup")
    out.mkdir(parents=True, exist_ok=True)
    lake = lake_for(engine)  # refuses another database's lake before anything is copied
    database = out / DATABASE_FILES[dialect]
    with ExitStack() as locks:
        for table in LakeTable:  # one order for every taker, so two backups cannot deadlock
            locks.enter_context(lake.writing(table))
        versions = {table.value: lake.version(table) for table in LakeTable}
        revision = current_revision(engine)
        if dialect == "sqlite":
            _sqlite_copy(engine, database)
        else:
            _run(["pg_dump", "--format=custom", f"--file={database}"], engine)
        if lake.root.exists():
            shutil.copytree(lake.root, out / LAKE_FOLDER, ignore=shutil.ignore_patterns("_locks"))
        else:
            (out / LAKE_FOLDER).mkdir()
    store_id = store_identity(engine)
    manifest = {
        "format": FORMAT,
        "created_at": (clock or SystemClock()).now().isoformat(timespec="seconds"),
        "churnradar": __version__,
        "dialect": dialect,
        "database": database.name,
        "revision": revision,
        "store_id": store_id,
        "lake_versions": versions,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return BackupSummary(out, database.name, versions, store_id, _size(out))


def restore(source: Path, engine: Engine) -> BackupSummary:
    """Restore the backup in `source` into `engine`'s empty database and its empty lake folder, then bring
    them to this version and settle imports the backup caught half-way (as `init` does)."""
    manifest = read_manifest(source)
    dialect = _dialect(engine)
    if manifest["dialect"] != dialect:
        raise BackupError(f"{source} holds a {manifest['dialect']} database; the target is {dialect}")
    if inspect(engine).get_table_names():
        url = engine.url.render_as_string(hide_password=True)
        raise BackupError(f"{url} is not empty: restore into a new, empty database")
    root = root_for(engine)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise BackupError(
            f"the lake folder {root} is not empty: move it away, or restore beside a new database"
        )
    saved = source / str(manifest["database"])
    if dialect == "sqlite":
        _sqlite_restore(saved, engine)
    else:
        _run(["pg_restore", "--no-owner", "--exit-on-error", str(saved)], engine)
    shutil.copytree(source / LAKE_FOLDER, root, dirs_exist_ok=True)
    migrate(engine)
    lake_for(engine)  # the restored lake records the restored database's id
    ingest_service.settle_interrupted_imports(engine)
    return BackupSummary(
        source, saved.name, dict(manifest["lake_versions"]), store_identity(engine), _size(source)
    )


def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest, or a BackupError saying why `source` is not a churnradar backup."""
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{source} holds no {MANIFEST}: not a churnradar backup") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source / MANIFEST} cannot be read ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source / MANIFEST}: a backup format this version does not read")
    for part in (str(manifest.get("database")), LAKE_FOLDER):
        if not (source / part).exists():
            raise BackupError(f"{source} lacks {part}: an incomplete backup")
    return manifest


def _dialect(engine: Engine) -> str:
    if engine.dialect.name not in DATABASE_FILES:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {engine.dialect.name}")
    return engine.dialect.name


def _sqlite_copy(engine: Engine, target: Path) -> None:
    # The store's own driver (Python's sqlite3, which SQLAlchemy uses): an online, consistent copy.
    raw = engine.raw_connection()
    try:
        with closing(sqlite3.connect(target)) as copy:
            raw.driver_connection.backup(copy)  # type: ignore[union-attr]
    finally:
        raw.close()


def _sqlite_restore(backup_file: Path, engine: Engine) -> None:
    raw = engine.raw_connection()
    try:
        with closing(sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)) as saved:
            saved.backup(raw.driver_connection)  # type: ignore[arg-type]
    finally:
        raw.close()


def _run(command: list[str], engine: Engine) -> None:
    """pg_dump or pg_restore against `engine`'s database; the password goes by environment only."""
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} is not installed: install the PostgreSQL client of the server's major version"
        )
    url = engine.url
    target = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(
        [*command, f"--dbname={target}"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[:1000]}")


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
