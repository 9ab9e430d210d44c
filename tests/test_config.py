"""Settings: defaults, environment precedence, and refusal of unsafe values."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from churnradar.config import DEFAULT_DATABASE_URL, Settings, settings_problem


def test_defaults_are_the_embedded_development_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHURNRADAR_DATABASE_URL", "CHURNRADAR_TIMEZONE", "CHURNRADAR_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///./churnradar.db"
    assert settings.timezone == "UTC"


def test_environment_and_nested_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHURNRADAR_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("CHURNRADAR_IMPORTS__BATCH_ROWS", "20000")
    settings = Settings()
    assert settings.zone.key == "Asia/Shanghai"
    assert settings.imports.batch_rows == 20_000


@pytest.mark.parametrize("environment", ["test", "production"])
def test_default_secret_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match="CHURNRADAR_SECRET_KEY is still the default"):
        Settings(environment=environment)  # type: ignore[arg-type]
    key = secrets.token_hex(32)
    assert Settings(environment=environment, secret_key=key).environment == environment  # type: ignore[arg-type]


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        Settings(timezone="Mars/Olympus")


class TestProductionSecretKey:
    @pytest.mark.parametrize(
        ("key", "why"),
        [
            pytest.param("x", "it has 1 bytes", id="one-character"),
            pytest.param("k" * 31, "it has 31 bytes", id="31-bytes"),
            pytest.param("x" * 40, "too few characters", id="repeated"),
            pytest.param("abcd" * 10, "too few characters", id="short-pattern"),
            pytest.param("please-changeme-before-going-live-2026", "placeholder", id="placeholder"),
            pytest.param("my-churnradar-secret-key-0123456789abcdef", "placeholder", id="secret-word"),
        ],
    )
    def test_weak_keys_are_refused_in_production(self, key: str, why: str) -> None:
        with pytest.raises(ValidationError, match=why):
            Settings(environment="production", secret_key=key)  # type: ignore[arg-type]

    def test_a_random_key_is_accepted(self) -> None:
        key = secrets.token_urlsafe(32)
        assert Settings(environment="production", secret_key=key).secret_key.get_secret_value() == key  # type: ignore[arg-type]

    def test_settings_problem_is_one_line_without_the_value(self) -> None:
        with pytest.raises(ValidationError) as caught:
            Settings(environment="production", secret_key="hunter2")  # type: ignore[arg-type]
        line = settings_problem(caught.value)
        assert "\n" not in line
        assert "hunter2" not in line
        assert line.startswith("CHURNRADAR_SECRET_KEY is too weak for production")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        pytest.param(None, "CHURNRADAR_SECRET_KEY is still the default", id="default"),
        pytest.param("x", "CHURNRADAR_SECRET_KEY is too weak for production", id="weak"),
    ],
)
def test_the_cli_refuses_an_unsafe_key_with_one_line(tmp_path: Path, key: str | None, message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNRADAR_")}
    env |= {"CHURNRADAR_ENVIRONMENT": "production", "COLUMNS": "80"}
    if key is not None:
        env["CHURNRADAR_SECRET_KEY"] = key
    done = subprocess.run(
        [sys.executable, "-m", "churnradar", "--db", f"sqlite:///{tmp_path / 'x.db'}", "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: invalid settings: {message}")
    assert not (tmp_path / "x.db").exists()
