"""Settings, nested per area, read once from the environment (prefix CHURNRADAR_, nested with __)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./churnradar.db"
# The development default is public; anything that signs cookies with it in production is forgeable.
DEFAULT_SECRET_KEY = "change-me"  # noqa: S105


class ImportSettings(BaseModel):
    """Limits and defaults for file import."""

    batch_rows: int = Field(default=50_000, ge=1_000)
    max_text_chars: int = Field(default=65_536, ge=256)
    max_errors_listed: int = Field(default=1_000, ge=1)


class Settings(BaseSettings):
    """All churnradar settings; `CHURNRADAR_DATABASE_URL`, `CHURNRADAR_TIMEZONE`, ..."""

    model_config = SettingsConfigDict(env_prefix="CHURNRADAR_", env_nested_delimiter="__", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    debug: bool = False
    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "UTC"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    imports: ImportSettings = ImportSettings()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from exc
        return value

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> Settings:
        if self.environment != "development" and self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY:
            raise ValueError(
                "CHURNRADAR_SECRET_KEY is still the default; set a long random value outside development"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone, used for timestamps given without an offset."""
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()


def resolve_database_url(cli_value: str | None) -> str:
    """`--db URL`, else CHURNRADAR_DATABASE_URL, else sqlite:///./churnradar.db (CONTRACT §1)."""
    return cli_value or get_settings().database_url
