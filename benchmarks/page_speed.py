"""Cold and warm time of every page a user opens, against a real `churnradar serve` on 127.0.0.1.

    .venv/bin/churnradar demo --db sqlite:////tmp/page-speed/big.db --customers 100000 --weeks 1 \
        --end 2026-12-07 --no-serve
    cd /tmp/page-speed && cp big.db bench.db && cp -r big-data bench-data
    .venv/bin/python benchmarks/page_speed.py --db sqlite:////tmp/page-speed/bench.db [--only overview]

Each page is opened as an admin and as the rep who owns the most customers (pages a role may not open are
skipped), the effectiveness page also as that rep's manager (a team's figures). Cold: the server is started
afresh for every page and role, the user signs in, and the page's first request is timed (no figure cache
is warm, none was filled by another page). Warm: the median of the next five requests (the overview reuses
its figures for a minute, as users see it). The pages read the figures the day's evaluation stored; for a
store evaluated before it stored them, `--store-figures AS_OF` stores them first. The script changes the
database (benchmark logins and passwords): use a copy made for benchmarking (the lake folder with it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx2 as httpx
from sqlalchemy import select
from web_load import PASSWORD, prepare, serving, sign_in

from churnradar.auth import service as auth_service
from churnradar.db import create_engine, session_scope
from churnradar.models import InterventionTask, User
from churnradar.store import migrate

WARM_RUNS = 5
LIMIT_MS = 1000.0


@dataclass(frozen=True)
class Page:
    """A page to time: its name, its path per role (None: the role may not open it)."""

    name: str
    paths: dict[str, str | None]


def _people(url: str) -> tuple[str, str, str | None, int | None]:
    """The busiest rep's login (as web_load picks it), their manager's login and one of the rep's tasks."""
    plan = prepare(url)
    engine = create_engine(url)
    with session_scope(engine) as session:
        rep = session.scalars(select(User).where(User.login == plan.rep)).one()
        manager = session.get(User, rep.manager_id) if rep.manager_id is not None else None
        if manager is not None:
            auth_service.set_password(session, login=manager.login, password=PASSWORD)
        task = session.scalar(
            select(InterventionTask.id)
            .where(InterventionTask.assignee_id == rep.id)
            .order_by(InterventionTask.status.desc(), InterventionTask.id.desc())
            .limit(1)
        )
        manager_login = manager.login if manager is not None else None
    engine.dispose()
    at_risk = plan.rep_at_risk_ids[0] if plan.rep_at_risk_ids else plan.rep_ids[0]
    return plan.rep, str(at_risk), manager_login, task


def _pages(at_risk: str, task: int | None) -> list[Page]:
    every = {"admin": "", "rep": ""}
    readers = {"admin": "", "rep": None, "manager": ""}  # the manager: the figures of a team
    admins = {"admin": "", "rep": None}

    def page(name: str, path: str, roles: dict[str, str | None]) -> Page:
        return Page(name, {role: None if allowed is None else path for role, allowed in roles.items()})

    return [
        page("overview", "/", every),
        page("risk list", "/risk", every),
        page("customers list", "/customers", every),
        page("customer 360 (with alerts)", f"/customers/{at_risk}", every),
        page("my tasks", "/tasks", every),
        page("task page", f"/tasks/{task}", every if task is not None else admins),
        page("effectiveness", "/effectiveness", readers),
        page("data health (sources)", "/admin/sources", admins),
        page("rules list", "/rules", readers),
        page("settings", "/settings", admins),
    ]


def _time(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        sys.exit(f"{path}: HTTP {response.status_code}")
    return elapsed


def measure(db: str, login: str, path: str) -> tuple[float, float]:
    """Cold (first request after a server start) and warm (median of the next runs) milliseconds."""
    with serving(db) as base:
        cookie = sign_in(base, login)
        with httpx.Client(base_url=base, headers={"Cookie": cookie}, timeout=300) as client:
            cold = _time(client, path)
            warm = statistics.median(_time(client, path) for _ in range(WARM_RUNS))
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db", required=True, help="A database filled by `churnradar demo` (it is modified)."
    )
    parser.add_argument("--only", default="", help="Time only the pages whose name contains this text.")
    parser.add_argument(
        "--store-figures",
        type=date.fromisoformat,
        metavar="AS_OF",
        help="First store the figures an evaluation of AS_OF stores (a store evaluated before they were).",
    )
    args = parser.parse_args()
    if args.store_figures is not None:
        from churnradar.config import Settings
        from churnradar.datahealth.service import feed_health
        from churnradar.effectiveness.service import store_figures

        started = time.perf_counter()
        engine = create_engine(args.db)
        migrate(engine)
        scopes = store_figures(engine, as_of=args.store_figures, now=datetime.now(UTC).replace(tzinfo=None))
        feed_health(engine, args.store_figures, Settings().data_health, store=True)
        engine.dispose()
        print(f"stored figures for {scopes} scopes in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rep, at_risk, manager, task = _people(args.db)
    logins = {"admin": "bench_admin", "rep": rep, "manager": manager}
    print(f"rep {rep}, manager {manager}, customer {at_risk}, task {task}", file=sys.stderr)
    print("| page | role | path | cold ms | warm ms (median of 5) |")
    print("|---|---|---|---|---|")
    slow = []
    for page in _pages(at_risk, task):
        if args.only and args.only not in page.name:
            continue
        for role, path in page.paths.items():
            login = logins[role]
            if path is None or login is None:
                continue
            cold, warm = measure(args.db, login, path)
            print(f"| {page.name} | {role} | {path} | {cold:.0f} | {warm:.0f} |", flush=True)
            if cold > LIMIT_MS:
                slow.append(f"{page.name} ({role})")
    print(f"\nover {LIMIT_MS:.0f} ms cold: {', '.join(slow) or 'none'}")


if __name__ == "__main__":
    main()
