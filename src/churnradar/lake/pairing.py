"""A database and its lake are one store: the lake records the database's identity, and nothing opens a
lake that belongs to another database.

The lake's rows name customers by the database's ids, so a lake beside a new or restored-from-elsewhere
database would attach its history to whichever customers got those ids. The database holds a random id
(`store_meta`, migration 0012); the first process that opens the lake writes that id into
`_churnradar/store.json` there, and every later process checks it before reading or writing.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from churnradar.lake.exceptions import LakePairingError
from churnradar.lake.repository import Lake
from churnradar.models import STORE_ID, StoreMeta

PAIR_FILE = Path("_churnradar") / "store.json"


def store_identity(engine: Engine) -> str | None:
    """The database's id, or None before migration 0012 (nothing to check yet)."""
    if "store_meta" not in inspect(engine).get_table_names():
        return None
    with engine.connect() as conn:
        found = conn.execute(select(StoreMeta.value).where(StoreMeta.key == STORE_ID)).scalar_one_or_none()
    return None if found is None else str(found)


def lake_identity(lake: Lake) -> str | None:
    """The id of the database the lake belongs to, or None for a lake that records none yet."""
    path = lake.root / PAIR_FILE
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        message = f"{path} cannot be read ({type(exc).__name__}); restore it from a backup"
        raise LakePairingError(message) from exc
    value = recorded.get(STORE_ID) if isinstance(recorded, dict) else None
    return str(value) if value else None


def ensure_paired(engine: Engine, lake: Lake) -> bool:
    """Check that `lake` is `engine`'s; a lake that records no database yet is claimed. Returns whether
    the check could run (False before migration 0012).

    Raises LakePairingError, naming both paths, when the lake belongs to another database.
    """
    ours = store_identity(engine)
    if ours is None:
        return False
    theirs = lake_identity(lake)
    if theirs == ours:
        return True
    if theirs is None:
        _record(lake, ours)
        return True
    database = engine.url.render_as_string(hide_password=True)
    raise LakePairingError(
        f"the lake at {lake.root} belongs to another database (store id {theirs[:12]}, this one is "
        f"{ours[:12]}): {database} and its lake are kept, restored and deleted together; point "
        "CHURNRADAR_LAKE__PATH at this database's own lake, or move that folder away to start an empty one"
    )


def _record(lake: Lake, store_id: str) -> None:
    # Written whole or not at all: a temporary file renamed over the target.
    folder = lake.root / PAIR_FILE.parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".store-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump({STORE_ID: store_id}, out)
    os.replace(temporary, folder / PAIR_FILE.name)
