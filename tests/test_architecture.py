"""What import-linter cannot see: web runs no SQL of its own (the contracts in pyproject.toml keep it from
importing a domain's repository; this keeps it from building a query instead)."""

from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parents[1] / "src" / "churnradar" / "web"
# The handles web passes on to services, typed: it may name them, never build or run a statement.
HANDLES = {"Engine", "Connection", "Session", "sessionmaker"}
RUNS_SQL = {"execute", "scalar", "scalars", "query", "scalar_one"}
# /metrics reads counts across the store at scrape time (the named exception in pyproject.toml).
EXCEPTIONS = {WEB / "health" / "repository.py"}


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        where = f"{path.relative_to(WEB.parent)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlalchemy" for a in node.names):
            found.append(f"{where} imports sqlalchemy")
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found += [f"{where} imports {a.name}" for a in node.names if a.name not in HANDLES]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNS_SQL:
            found.append(f"{where} calls .{node.func.attr}()")
    return found


def test_web_runs_no_sql_of_its_own() -> None:
    modules = [p for p in WEB.rglob("*.py") if p not in EXCEPTIONS]
    assert len(modules) > 50
    assert [o for p in sorted(modules) for o in _offences(p)] == []
