"""Real processes for the concurrency tests: CLI commands, the server, fresh readers; every exit code checked.

Everything runs on 127.0.0.1 with a timeout. A command that ends with anything but 0 fails the test, with
its stderr; 134 (SIGABRT: delta-rs aborting at exit, "terminate called without an active exception") is
named as such, since it is the failure this suite exists to catch.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

READBACK = Path(__file__).with_name("readback.py")
CLI_TIMEOUT = 180.0


@dataclass(frozen=True)
class Store:
    """One test's store: its database URL, its lake, a working folder, and what a process needs to use it."""

    kind: str  # sqlite | postgresql
    url: str
    lake: Path
    folder: Path
    token: str  # an admin's API token with every scope
    password: str  # the admin's password, for the pages (the rules editor)
    env: dict[str, str] = field(repr=False, default_factory=dict)


def base_env(url: str, lake: Path | None, **extra: str) -> dict[str, str]:
    """The environment of a churnradar process on `url`: nothing CHURNRADAR_* from ours but what is set here.

    The lake path is set for a server database (it has no file to sit beside); a SQLite store's lake is the
    default folder beside its file, which is what these tests check.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNRADAR_")}
    env |= {"CHURNRADAR_DATABASE_URL": url, "CHURNRADAR_TIMEZONE": "UTC", "PYTHONUNBUFFERED": "1"}
    if lake is not None:
        env["CHURNRADAR_LAKE__PATH"] = str(lake)
    return env | extra


def explain(returncode: int) -> str:
    """What an exit code says, 134 and signals named."""
    if returncode == 134 or returncode == -signal.SIGABRT:
        return f"exit {returncode}: aborted (SIGABRT; delta-rs/Arrow threads torn down at exit?)"
    if returncode < 0:
        return f"exit {returncode}: killed by {signal.Signals(-returncode).name}"
    return f"exit {returncode}"


def checked(
    result: subprocess.CompletedProcess[str], what: str, *, allowed: Sequence[int] = (0,)
) -> subprocess.CompletedProcess[str]:
    """`result`, after asserting that its exit code is one of `allowed`."""
    assert result.returncode in allowed, (
        f"{what}: {explain(result.returncode)}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n"
        f"{result.stderr[-5000:]}"
    )
    return result


def run(
    args: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    *,
    timeout: float = CLI_TIMEOUT,
    stdin: str | None = None,
    allowed: Sequence[int] = (0,),
) -> subprocess.CompletedProcess[str]:
    """Run a process to its end (killed at `timeout`) and check its exit code."""
    result = subprocess.run(
        list(args), env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    return checked(result, " ".join(args[:6]), allowed=allowed)


def cli_args(*args: str) -> list[str]:
    """The command line of `churnradar ARGS` with this interpreter."""
    return [sys.executable, "-m", "churnradar", *args]


def churnradar(
    store: Store, *args: str, timeout: float = CLI_TIMEOUT, allowed: Sequence[int] = (0,)
) -> subprocess.CompletedProcess[str]:
    """`churnradar ARGS` on `store` in a process of its own, checked."""
    return run(cli_args(*args), store.env, store.folder, timeout=timeout, allowed=allowed)


def churnradar_json(store: Store, *args: str, timeout: float = CLI_TIMEOUT) -> Any:
    """`churnradar ARGS --json` on `store`, its document."""
    return json.loads(churnradar(store, *args, "--json", timeout=timeout).stdout)


def read_back(store: Store, *, event_prefix: str = "id:cc-", timeout: float = 120) -> dict[str, Any]:
    """What a fresh process reads from the store and its lake (see readback.py)."""
    result = run([sys.executable, str(READBACK), event_prefix], store.env, store.folder, timeout=timeout)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def start(
    args: Sequence[str], store: Store, log: Path, *, out: Path | None = None
) -> subprocess.Popen[bytes]:
    """A long-running process in its own session (so its children can be signalled with it).

    Its stderr goes to `log`, its stdout to `out` when given (a --json document), else to `log` too.
    """
    with log.open("ab") as sink, (out or log).open("ab") as stdout:
        return subprocess.Popen(
            list(args),
            env=store.env,
            cwd=store.folder,
            stdout=stdout,
            stderr=sink,
            start_new_session=True,
        )


def finish(process: subprocess.Popen[bytes], log: Path, what: str, *, timeout: float = CLI_TIMEOUT) -> None:
    """Wait for `process` to end by itself and check that it exited 0 (killed, and failed, at `timeout`)."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill9(process)
        raise AssertionError(f"{what} did not finish within {timeout:g} s:\n{_tail(log)}") from None
    assert process.returncode == 0, f"{what}: {explain(process.returncode)}\n{_tail(log)}"


def stop(process: subprocess.Popen[bytes], log: Path, what: str, *, timeout: float = 60) -> None:
    """Interrupt `process` and its children (Ctrl-C), wait, and check that it exited 0."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    finish(process, log, what, timeout=timeout)


def kill9(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL `process` and every process of its session, and reap it."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-5000:] if log.exists() else "(no log)"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """`churnradar serve` in a subprocess, and HTTP clients to it (a token's, and an admin's session)."""

    store: Store
    process: subprocess.Popen[bytes]
    base: str
    log: Path
    responses: list[tuple[str, str, int]] = field(default_factory=list)

    def api(self) -> httpx2.Client:
        """A client for /api/v1 with the admin's token; every response is recorded."""
        return httpx2.Client(
            base_url=f"{self.base}/api/v1",
            headers={"Authorization": f"Bearer {self.store.token}"},
            timeout=120,
            trust_env=False,
            event_hooks={"response": [self._record]},
        )

    def signed_in(self, login: str) -> httpx2.Client:
        """A browser-like client signed in through the login form."""
        client = httpx2.Client(
            base_url=self.base, timeout=120, trust_env=False, event_hooks={"response": [self._record]}
        )
        form = {"login": login, "password": self.store.password, "csrf_token": csrf_of(client.get("/login"))}
        answer = client.post("/login", data=form)
        assert answer.status_code == 303, f"login: {answer.status_code} {answer.text[:500]}"
        return client

    def _record(self, response: httpx2.Response) -> None:
        self.responses.append((response.request.method, response.request.url.path, response.status_code))

    def not_2xx(self) -> list[tuple[str, str, int]]:
        """Responses other than 2xx (and the login's redirect), for the assertion that there are none."""
        return [r for r in self.responses if not (200 <= r[2] < 300 or (r[1] == "/login" and r[2] == 303))]

    def assert_alive(self) -> None:
        """The server has not exited."""
        code = self.process.poll()
        assert code is None, f"the server exited: {explain(code)}\n{_tail(self.log)}"


def csrf_of(page: httpx2.Response) -> str:
    """The CSRF token in a rendered page."""
    marker = 'name="csrf_token" value="'
    start_at = page.text.find(marker)
    assert page.status_code == 200, f"{page.request.url.path}: {page.status_code} {page.text[:300]}"
    assert start_at >= 0, f"no CSRF field in {page.request.url.path}: {page.text[:300]}"
    start_at += len(marker)
    return page.text[start_at : page.text.index('"', start_at)]


@contextmanager
def serving(store: Store, *, worker: bool = False, ready_within: float = 120) -> Iterator[Server]:
    """The server on a free port of 127.0.0.1 until the block ends; then stopped, and its exit checked."""
    port = free_port()
    log = store.folder / f"serve-{port}.log"
    args = cli_args("serve", "--host", "127.0.0.1", "--port", str(port), *(["--worker"] if worker else []))
    process = start(args, store, log)
    server = Server(store, process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + ready_within
        while True:
            server.assert_alive()
            try:
                if httpx2.get(f"{server.base}/login", timeout=5, trust_env=False).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the server did not answer within {ready_within:g} s"
            time.sleep(0.25)
        yield server
        server.assert_alive()
    except BaseException:
        kill9(process)  # the test failed already: say why, not that the server was stopped hard
        raise
    stop(process, log, "churnradar serve")
