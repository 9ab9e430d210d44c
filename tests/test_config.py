"""Settings: defaults, environment precedence, and refusal of unsafe values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from churnradar.config import DEFAULT_DATABASE_URL, Settings


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
    assert Settings(environment=environment, secret_key="s" * 40).environment == environment  # type: ignore[arg-type]


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        Settings(timezone="Mars/Olympus")
