"""Which lake belongs to a store: bound explicitly, set by LAKE__PATH, or beside the SQLite file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from churnradar.config import get_settings
from churnradar.lake.repository import Lake

# By the store's URL, so that every engine of one store in this process (a command's own, a test's) finds it.
_BOUND: dict[str, Lake] = {}
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


def lake_for(engine: Engine) -> Lake:
    """The lake that belongs to `engine`'s store."""
    bound = _BOUND.get(_key(engine))
    if bound is not None:
        return bound
    settings = get_settings().lake
    root = settings.path.resolve() if settings.path is not None else default_path(engine)
    return Lake(root, lock_timeout=settings.lock_timeout_seconds)


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)
