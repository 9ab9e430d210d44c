"""deploy/: the Dockerfile builds where a container engine runs, and is checked for its structure where
none does; the image's entrypoint script runs outside a container; the compose file, the environment
example, the systemd units and the nginx example hold together and are what docs/deployment.md uses."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from churnradar.config import Settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
ENTRYPOINT = DEPLOY / "docker-entrypoint.sh"


def _instructions(path: Path) -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _stages(path: Path) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _instructions(path):
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def _daemon() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    return subprocess.run([docker, "info"], capture_output=True, check=False, timeout=30).returncode == 0


def test_dockerfile_structure() -> None:
    stages = _stages(DOCKERFILE)
    assert len(stages) >= 2, "multi-stage: the sources never reach the runtime image"
    for stage in stages:
        image = stage[0][1].split()[0]
        assert ":" in image, f"{image}: pin the base image's tag"
        assert not image.endswith(":latest")
    runtime = stages[-1]
    keywords = [k for k, _ in runtime]
    users = [rest for k, rest in runtime if k == "USER"]
    assert users, "the runtime stage must not run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    copies = [rest for k, rest in runtime if k in ("COPY", "ADD")]
    assert all(c.startswith("--from=") or "docker-entrypoint.sh" in c for c in copies), copies
    assert "HEALTHCHECK" in keywords
    assert any("docker-entrypoint.sh" in rest for k, rest in runtime if k == "ENTRYPOINT")
    built = " ".join(rest for stage in stages for k, rest in stage if k == "RUN")
    assert "--wheel" in built, "the image installs the wheel, not the source tree"
    assert "chromium" not in DOCKERFILE.read_text().lower().replace("no chromium", "")
    assert "playwright" not in built
    for run in (rest for k, rest in runtime if k == "RUN"):
        if "apt-get install" in run:
            assert "--no-install-recommends" in run
            assert "rm -rf /var/lib/apt/lists" in run
    assert not any(k == "ADD" for stage in stages for k, _ in stage), "COPY, never ADD (no remote fetches)"
    for _, rest in (i for stage in stages for i in stage if i[0] == "COPY" and "--from" not in i[1]):
        for source in shlex.split(rest)[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


@pytest.mark.skipif(not _daemon(), reason="no container engine here: the structure test stands in")
def test_the_image_builds() -> None:
    done = subprocess.run(
        ["docker", "build", "-f", str(DOCKERFILE), "-t", "churnradar:test", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _shim(folder: Path) -> dict[str, str]:
    """An environment whose `churnradar` on PATH is this checkout's, as the image's venv provides it."""
    folder.mkdir()
    script = folder / "churnradar"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -m churnradar "$@"\n')
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNRADAR_")}
    env["PATH"] = f"{folder}:{env['PATH']}"
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_entrypoint_initialises_then_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = _shim(tmp_path / "bin")
    env["CHURNRADAR_DATABASE_URL"] = f"sqlite:///{tmp_path / 'store.db'}"
    port = _free_port()
    env |= {"CHURNRADAR_HOST": "127.0.0.1", "CHURNRADAR_PORT": str(port)}
    server = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        deadline, answer = time.monotonic() + 120, None
        while time.monotonic() < deadline and answer is None and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
                    answer = response.status
            except OSError:
                time.sleep(0.5)
        assert answer == 200
        assert (tmp_path / "store-data" / "_churnradar" / "store.json").exists()  # init made the pair
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert server.returncode in (0, -signal.SIGTERM)
    # any other word is a churnradar command
    other = subprocess.run(
        ["sh", str(ENTRYPOINT), "backup", "--out", str(tmp_path / "b")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "b" / "manifest.json").exists()


def test_entrypoint_gives_up_on_a_store_that_never_answers(tmp_path: Path) -> None:
    env = _shim(tmp_path / "bin")
    env |= {"CHURNRADAR_DATABASE_URL": "sqlite:////nonexistent/x.db", "CHURNRADAR_INIT_TRIES": "1"}
    done = subprocess.run(["sh", str(ENTRYPOINT), "worker"], env=env, capture_output=True, check=False)
    assert done.returncode == 1
    assert b"did not become ready" in done.stderr


def test_compose_file() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"web", "worker", "postgres"} <= set(services)
    assert services["web"]["command"] == ["serve"]
    assert services["worker"]["command"] == ["worker"]
    for name in ("web", "worker"):
        service = services[name]
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).exists()
        assert service["env_file"] == ".env"
        assert any(v.startswith("data:") for v in service["volumes"])
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "${POSTGRES_PASSWORD" in service["environment"]["CHURNRADAR_DATABASE_URL"]
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]  # nginx in front, never the world
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert {"data", "pgdata"} <= set(compose["volumes"])
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")


def test_the_environment_example_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    names = []
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.startswith("CHURNRADAR_"):
            name, _, value = line.partition("=")
            names.append(name)
            monkeypatch.setenv(name, value)
    assert "CHURNRADAR_SECRET_KEY" in names
    monkeypatch.setenv(
        "CHURNRADAR_SECRET_KEY", "Zq8-u1Lr3xW9pV0kT7mB2nC5yH4jD6sA"
    )  # what the operator fills in
    settings = Settings()
    assert settings.environment == "production"
    assert settings.log.format == "json"
    assert settings.ops.metrics_token is None  # left empty: no token, not an empty one


def test_systemd_units_and_nginx() -> None:
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {u.name for u in units} >= {"churnradar-web.service", "churnradar-worker.service"}
    for unit in units:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(unit)
        service = parser["Service"]
        assert service["User"] == "churnradar"
        assert service["EnvironmentFile"] == "/etc/churnradar/env"
        assert "/opt/churnradar/bin/churnradar" in service["ExecStart"]
    worker = configparser.ConfigParser(strict=False, interpolation=None)
    worker.read(DEPLOY / "systemd" / "churnradar-worker.service")
    assert worker["Service"]["KillSignal"] == "SIGTERM"
    nginx = (DEPLOY / "nginx" / "churnradar.conf").read_text(encoding="utf-8")
    assert nginx.count("{") == nginx.count("}")
    assert "proxy_pass         http://127.0.0.1:8000;" in nginx


def test_the_deployment_guide_uses_every_deploy_file() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        assert f"deploy/{path.relative_to(DEPLOY)}" in guide, f"docs/deployment.md does not use {path}"
