"""One writer per lake table at a time, across processes: an exclusive flock on a lock file.

The kernel drops a flock when its process dies (kill -9 included), so a killed writer never leaves a table
stuck; readers take no lock (they read a committed Delta version).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from churnradar.lake.exceptions import LakeBusyError


@contextmanager
def writer_lock(path: Path, *, timeout: float) -> Iterator[None]:
    """Hold the exclusive lock at `path` (created if absent) for the block; wait up to `timeout` seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        pause = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LakeBusyError(
                        f"{path.stem}: another process is writing it; gave up after {timeout:g} s"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.25)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
