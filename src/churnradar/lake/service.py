"""Which lake belongs to a store: bound explicitly, set by LAKE__PATH, or beside the SQLite file; checked
once per process to be that store's own (lake.pairing)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from churnradar.config import get_settings
from churnradar.lake.pairing import ensure_paired
from churnradar.lake.repository import Lake

# By the store's URL, so that every engine of one store in this process (a command's own, a test's) finds it.
_BOUND: dict[str, Lake] = {}
_PAIRED: set[tuple[str, Path]] = set()  # (store URL, lake root) checked in this process
DEFAULT_FOLDER = "churnradar-data"


def default_path(engine: Engine) -> Path:
    """Where the lake of `engine`'s store lives unless LAKE__PATH says otherwise.

    Beside a SQLite file, named after it (`churnradar.db` -> `churnradar-data/`); for a server database,
    `./churnradar-data` in the working directory.
    """
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            file = Path(database).resolve()
            return file.with_name(f"{file.stem}-data")
    return Path(DEFAULT_FOLDER).resolve()


def bind(engine: Engine, root: Path) -> Lake:
    """Use the lake at `root` for `engine` in this process (tests, embedding); returns it."""
    settings = get_settings().lake
    lake = Lake(root.resolve(), lock_timeout=settings.lock_timeout_seconds)
    _BOUND[_key(engine)] = lake
    return lake


def root_for(engine: Engine) -> Path:
    """Where `engine`'s lake is, without opening or checking it: bound, LAKE__PATH, else beside the store."""
    if (bound := _BOUND.get(_key(engine))) is not None:
        return bound.root
    path = get_settings().lake.path
    return path.resolve() if path is not None else default_path(engine)


def lake_for(engine: Engine) -> Lake:
    """The lake that belongs to `engine`'s store (LakePairingError when the one found belongs to another)."""
    lake = _BOUND.get(_key(engine))
    if lake is None:
        lake = Lake(root_for(engine), lock_timeout=get_settings().lake.lock_timeout_seconds)
    pair = (_key(engine), lake.root)
    if pair not in _PAIRED and ensure_paired(engine, lake):
        _PAIRED.add(pair)
    return lake


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)
