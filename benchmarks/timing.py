"""Shared by the benchmark scripts (run as `python benchmarks/NAME.py`, so this folder is on the path)."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from typing import Any


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system): steadier than wall time on a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, step: Callable[[], Any]) -> Any:
    """Run `step`, print a Markdown table row `| label | wall s | CPU s |`, return its value."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    value = step()
    print(f"| {label} | {time.perf_counter() - wall:.2f} | {cpu_seconds() - cpu:.2f} |")
    return value
