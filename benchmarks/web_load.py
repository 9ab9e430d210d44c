"""Web latency and bulk-ingestion throughput against a real `churnradar serve` on 127.0.0.1.

    .venv/bin/churnradar --db sqlite:////tmp/web-bench/big.db demo --customers 100000 --weeks 52 --no-serve
    .venv/bin/python benchmarks/web_load.py --db sqlite:////tmp/web-bench/big.db [--duration 15] [--only risk]

`--weeks 52` evaluates every week of the simulated year, so the store holds a year of alerts (at 100k
customers each evaluation takes 1.5-8 minutes on this machine, depending on its load; start it early).
Pages are loaded with wrk (Debian package `wrk`), a few connections at a time, as an admin (every customer)
and as the rep who owns the most customers; each scenario reports p50 / p95 / p99 in milliseconds. The
overview's first visit per user (its panels are then cached a minute) is timed alone. Then event batches
are posted to `POST /api/v1/events` (NDJSON, new events for existing customers) and the events per second
are reported. The script changes the database: it sets two benchmark logins' passwords, migrates it and
adds events; use a copy made for benchmarking.

Measured 2026-11-23 23:28 UTC on this 2-core machine, load average 4.3-8.4 from other jobs, SQLite, 100k
customers (4.7M events) evaluated on 10 dates from 2025-12-01 to 2026-11-23 (every 4-8 weeks, then the last
two weeks: the load of the day allowed no more): 175k alerts, 463k alert changes, 45k tasks; 2 connections,
10 s per scenario:

| scenario | p50 ms | p95 ms | p99 ms | req/s |
|---|---|---|---|---|
| customer list, admin (100k visible; filters, search, sort, deep pages) | 97 | 181 | 216 | 19 |
| customer list, rep | 12 | 26 | 149 | 154 |
| customer 360, admin | 54 | 131 | 264 | 33 |
| customer 360, rep | 28 | 53 | 181 | 66 |
| risk list, admin (85k rows; filters, search, sorts, page 300) | 47 | 181 | 239 | 39 |
| risk list, rep | 14 | 25 | 114 | 141 |
| customer 360 of a customer with alerts (alerts section with history), admin | 32 | 96 | 140 | 49 |
| customer 360 of a customer with alerts, rep | 28 | 40 | 180 | 67 |
| overview, admin (figures cached a minute) | 12 | 20 | 26 | 161 |
| overview, rep | 7 | 13 | 153 | 276 |

The overview's first visit took 3.8 s for the admin (every panel computed; the alert panels' share is about
0.3 s, mostly new versus resolved alerts per week) and 0.24 s for the rep. Of three runs that evening this
is the only one with every p95 under 200 ms: the run just before it (same code, load average 3.9 rising to
8.2) gave the admin's risk list p50 138 / p95 328 ms, and the first (before open tasks were looked up by
customer and customer filters became a set of ids) 167 / 707 ms. So the target holds when the machine is
lightly loaded and is missed when other jobs take the cores. Bulk ingestion: 100,000 new events in 5 NDJSON
posts of 20,000: 26,200 events/s (11,700 events/s in an earlier run at load average 11-13).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx2 as httpx
from sqlalchemy import func, select

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Scope
from churnradar.db import create_engine, session_scope
from churnradar.models import Customer, CustomerRisk, Role, User
from churnradar.store import migrate

PASSWORD = "benchmark password"  # noqa: S105 (a throwaway benchmark login)
SECRET = secrets.token_urlsafe(32)  # production settings refuse placeholder words in the key
LUA = """
local paths = {%(paths)s}
local i = math.random(#paths)
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  local line = 'RESULT {"requests": %%d, "p50": %%.1f, "p95": %%.1f, "p99": %%.1f, "errors": %%d}\\n'
  io.write(string.format(line,
    summary.requests, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(db: str) -> Iterator[str]:
    """A fresh `churnradar serve` process on a free 127.0.0.1 port, ready for requests: its base URL."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CHURNRADAR_ENVIRONMENT": "production", "CHURNRADAR_SECRET_KEY": SECRET}
    server = subprocess.Popen(
        [sys.executable, "-m", "churnradar", "--db", db, "serve", "--port", str(port)], env=env
    )
    try:
        while True:
            if server.poll() is not None:
                sys.exit(f"the server stopped (exit code {server.returncode})")
            try:
                httpx.get(f"{base}/login")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass
class Plan:
    """What the load visits: the busiest rep's login, an ingest token, customer ids per role."""

    rep: str
    token: str
    ids: list[str]
    rep_ids: list[str]
    externals: list[str]
    at_risk_ids: list[str]
    rep_at_risk_ids: list[str]


def prepare(url: str) -> Plan:
    """Benchmark logins (an admin, the busiest rep), an ingest token, and customer ids to visit."""
    engine = create_engine(url)
    migrate(engine)
    with session_scope(engine) as session:
        if session.scalar(select(User).where(User.login == "bench_admin")) is None:
            auth_service.create_user(session, login="bench_admin", role=Role.ADMIN, password=PASSWORD)
        else:
            auth_service.set_password(session, login="bench_admin", password=PASSWORD)
        busiest = session.execute(
            select(User.login)
            .join(Customer, Customer.owner_id == User.id)
            .where(User.role == Role.REP.value)
            .group_by(User.login)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
        auth_service.set_password(session, login=busiest, password=PASSWORD)
        _, token = auth_service.create_token(session, login="bench_admin", scopes=frozenset({Scope.INGEST}))
        ids = [str(i) for i in session.scalars(select(Customer.id).order_by(func.random()).limit(200))]
        rep_ids = [
            str(i)
            for i in session.scalars(
                select(Customer.id)
                .join(User, User.id == Customer.owner_id)
                .where(User.login == busiest)
                .limit(50)
            )
        ]
        externals = list(session.scalars(select(Customer.external_id).order_by(func.random()).limit(2000)))
        # Customers with a level: their 360 page has open alerts with history (and resolved ones).
        at_risk = select(CustomerRisk.customer_id).where(CustomerRisk.level.is_not(None))
        at_risk_ids = [str(i) for i in session.scalars(at_risk.order_by(func.random()).limit(200))]
        rep_at_risk = at_risk.join(Customer, Customer.id == CustomerRisk.customer_id).join(
            User, User.id == Customer.owner_id
        )
        rep_at_risk = rep_at_risk.where(User.login == busiest).limit(50)
        rep_at_risk_ids = [str(i) for i in session.scalars(rep_at_risk)]
    engine.dispose()
    return Plan(busiest, token, ids, rep_ids, externals, at_risk_ids, rep_at_risk_ids)


def sign_in(base: str, login: str) -> str:
    with httpx.Client(base_url=base) as client:
        page = client.get("/login").text
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post("/login", data={"login": login, "password": PASSWORD, "csrf_token": csrf})
        if response.status_code != 303:
            sys.exit(f"cannot sign in as {login}: HTTP {response.status_code}")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _wrk(base: str, cookie: str, paths: list[str], duration: int, connections: int) -> dict[str, float]:
    # Warm up first (a second per page, sequentially): the first visit per user fills the one-minute caches
    # of filter choices and overview figures, which the measured load then reads as users would.
    with httpx.Client(base_url=base, headers={"Cookie": cookie}, timeout=60) as client:
        for path in paths[:10]:
            client.get(path)
    script = LUA % {"paths": ", ".join(json.dumps(p) for p in paths)}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t",
                "1",
                "-c",
                str(connections),
                "-d",
                f"{duration}s",
                "-s",
                handle.name,
                "-H",
                f"Cookie: {cookie}",
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    result["rps"] = result["requests"] / duration
    return result


def _cold(base: str, cookie: str, path: str) -> float:
    """Milliseconds of one request with empty caches (the first visit of a user)."""
    with httpx.Client(base_url=base, headers={"Cookie": cookie}, timeout=120) as client:
        started = time.perf_counter()
        client.get(path).raise_for_status()
        return round((time.perf_counter() - started) * 1000, 1)


def _ingest(base: str, token: str, externals: list[str], batches: int, size: int) -> dict[str, float]:
    rng = random.Random(7)
    run = int(time.time())
    total, seconds = 0, 0.0
    with httpx.Client(base_url=base, timeout=600) as client:
        for batch in range(batches):
            lines = [
                json.dumps(
                    {
                        "customer_id": rng.choice(externals),
                        "ts": f"2026-01-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                        "kind": "login",
                        "event_id": f"bench-{run}-{batch}-{n}",
                        "channel": "web",
                    }
                )
                for n in range(size)
            ]
            body = ("\n".join(lines) + "\n").encode()
            started = time.perf_counter()
            response = client.post(
                "/api/v1/events",
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
            )
            seconds += time.perf_counter() - started
            response.raise_for_status()
            total += response.json()["inserted"]
    return {"events": total, "seconds": round(seconds, 2), "events_per_s": round(total / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db", required=True, help="A database filled by `churnradar demo` (it is modified)."
    )
    parser.add_argument("--duration", type=int, default=15, help="Seconds per wrk scenario.")
    parser.add_argument("--connections", type=int, default=2, help="Concurrent connections per scenario.")
    parser.add_argument("--batches", type=int, default=5, help="Ingestion batches to post.")
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument(
        "--only", default="", help="Run only the scenarios whose name contains this text (no ingestion)."
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    plan = prepare(args.db)
    with serving(args.db) as base:
        admin, rep_cookie = sign_in(base, "bench_admin"), sign_in(base, plan.rep)
        lists = [
            "/customers",
            "/customers?industry=retail",
            "/customers?sort=owner&desc=true&page=40",
            "/customers?q=tech",
            "/customers?segment=SMB&tier=high&sort=signup_date",
        ]
        risk = [
            "/risk",
            "/risk?level=red",
            "/risk?level=any&sort=probability",
            "/risk?sort=name&desc=false&page=300",
            "/risk?score_max=40&sort=score&desc=false&page=20",
            "/risk?industry=retail&level=any&sort=change&desc=false",
            "/risk?q=tech",
            "/risk?segment=SMB&probability_min=0.3&page=5",
        ]
        scenarios = {
            "customer list, admin (all customers)": (admin, lists),
            "customer list, rep": (rep_cookie, lists),
            "customer 360, admin": (admin, [f"/customers/{i}" for i in plan.ids]),
            "customer 360, rep": (rep_cookie, [f"/customers/{i}" for i in plan.rep_ids]),
            "risk list, admin (filters, sort, deep pages)": (admin, risk),
            "risk list, rep": (rep_cookie, risk),
            "customer 360 with alerts, admin": (admin, [f"/customers/{i}" for i in plan.at_risk_ids]),
            "customer 360 with alerts, rep": (rep_cookie, [f"/customers/{i}" for i in plan.rep_at_risk_ids]),
            "overview, admin": (admin, ["/"]),
            "overview, rep": (rep_cookie, ["/"]),
        }
        # The overview's first visit per user computes its panels (then cached a minute): timed alone.
        results: dict[str, object] = {
            "overview first visit ms, admin": _cold(base, admin, "/"),
            "overview first visit ms, rep": _cold(base, rep_cookie, "/"),
        }
        print(results, file=sys.stderr)
        for name, (cookie, paths) in scenarios.items():
            if args.only and args.only not in name:
                continue
            results[name] = _wrk(base, cookie, paths, args.duration, args.connections)
            print(name, results[name], file=sys.stderr)
        if not args.only:
            ingest = _ingest(base, plan.token, plan.externals, args.batches, args.batch_size)
            results["bulk ingestion"] = ingest
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
