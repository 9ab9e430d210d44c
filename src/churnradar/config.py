"""Settings, nested per area, read once from the environment (prefix CHURNRADAR_, nested with __)."""

from __future__ import annotations

import ipaddress
import os
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from churnradar.kit.levels import Level

DEFAULT_DATABASE_URL = "sqlite:///./churnradar.db"
# The development default is public; anything that signs cookies with it in production is forgeable.
DEFAULT_SECRET_KEY = "change-me"  # noqa: S105
# Production keys carry at least 32 bytes and are not a placeholder or a repeated pattern.
MIN_SECRET_BYTES = 32
MIN_SECRET_DISTINCT = 10
MIN_TOKEN_CHARS = 16  # a metrics scraper's bearer token
_PLACEHOLDERS = ("changeme", "change-me", "secret", "password", "default", "example", "churnradar")


def weak_secret(value: str) -> str | None:
    """Why a production secret key is refused (too short, a placeholder, too few distinct characters)."""
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"it has {len(value.encode())} bytes; use at least {MIN_SECRET_BYTES} random bytes"
    folded = value.casefold()
    if any(word in folded for word in _PLACEHOLDERS):
        return "it contains a placeholder word"
    if len(set(value)) < MIN_SECRET_DISTINCT:
        return "it repeats too few characters to be random"
    return None


def settings_problem(exc: ValidationError) -> str:
    """One line naming what is wrong with the settings (never the values given, which may be secrets)."""
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)[:1000]


def address_blocks(value: list[str], field: str) -> list[str]:
    """`value` when every item is an address or a CIDR block, else a ValueError naming the first bad one."""
    for item in value:
        try:
            ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{field}: {item[:100]!r} is not an address or a CIDR block") from None
    return value


class ImportSettings(BaseModel):
    """Limits and defaults for file import."""

    batch_rows: int = Field(default=50_000, ge=1_000)
    max_text_chars: int = Field(default=65_536, ge=256)
    max_errors_listed: int = Field(default=1_000, ge=1)


class BusinessHours(BaseModel):
    """Working hours that deadlines count in when enabled (in the configured time zone)."""

    enabled: bool = False
    start: time = time(9)
    end: time = time(18)
    weekdays: list[int] = [0, 1, 2, 3, 4]  # Monday is 0
    holidays: list[date] = []


class InterventionSettings(BaseModel):
    """How tasks are assigned and chased."""

    assignment: str = "owner"  # a slug of churnradar.intervention.assignment.strategies
    # When an import changes a customer's owner, its open task moves to the new owner, stays, or goes to the
    # previous owner's manager to decide.
    on_owner_change: Literal["move", "keep", "ask_manager"] = "move"
    business_hours: BusinessHours = BusinessHours()
    remind_before_hours: float = Field(default=4, ge=0)
    # The control group (off at 0): this share of customers whose new alert would open a task is held out
    # instead, chosen by a keyed hash of the alert (stable, not guessable without the secret key): recorded,
    # shown in reports, but no task and no notification. The trade-off: those customers are knowingly not
    # worked, in exchange for knowing whether working them helps (the save rate compares the two groups).
    # At 10% it takes about 700 alerted customers with a closed outcome window for an interval of +/- 10
    # points on the difference, about 2,700 for +/- 5 (docs/effectiveness.md).
    control_share: float = Field(default=0.0, ge=0.0, le=0.5)


class ChannelConfig(BaseModel):
    """One configured channel: its type (email, webhook, dingtalk, ...), plain options and secrets."""

    type: str
    options: dict[str, str | int | float | bool | list[str]] = {}
    # Kept apart so that printing settings never shows a password, a signing secret or a token-bearing URL.
    secrets: dict[str, SecretStr] = {}


NoticeEvent = Literal[
    "alert_opened",
    "alert_escalated",
    "task_assigned",
    "deadline_reminder",
    "deadline_missed",
    "digest",
    "data_health",
]
# on_duty follows the playbook's role: the assignee, plus the manager (owner_and_manager), plus directors.
# Unassigned work goes to the team's managers, who own the queue.
Target = Literal["assignee", "on_duty", "manager", "directors", "team", "admins"]


class Route(BaseModel):
    """Which events at which levels go to whom; people through `channel`, teams through `team_channels`."""

    events: list[NoticeEvent]
    levels: list[str] = []  # empty: every level
    to: list[Target]
    channel: str = "email"


DEFAULT_ROUTES = [
    Route(events=["alert_opened", "alert_escalated"], to=["on_duty"]),
    Route(events=["task_assigned", "deadline_reminder", "digest"], to=["assignee"]),
    Route(events=["alert_opened", "alert_escalated"], levels=[Level.RED.value], to=["team"]),
    Route(events=["deadline_missed"], to=["assignee", "manager", "team"]),
    # A stale or broken data feed is the admins' business, not the sales team's.
    Route(events=["data_health"], to=["admins"]),
]


AlertChange = Literal["alert_opened", "alert_escalated", "alert_deescalated", "alert_resolved", "alert_muted"]


class WebhookOut(BaseModel):
    """A CRM endpoint following alert changes: signed JSON POSTs through the outbox (docs/webhooks.md)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,60}$")
    url: SecretStr  # may carry a token, so it is never printed
    secret: SecretStr = Field(min_length=16)  # the HMAC-SHA256 key the receiver verifies with
    events: list[AlertChange] = ["alert_opened", "alert_escalated", "alert_deescalated", "alert_resolved"]


class NotificationSettings(BaseModel):
    """Channels, routing and the limits that keep people from being flooded."""

    # For people who chose no interface language, group robots and tests; others read their own language.
    language: Literal["en", "zh"] = "en"
    channels: dict[str, ChannelConfig] = {}
    team_channels: dict[str, str] = {}  # team name -> channel name
    routes: list[Route] = DEFAULT_ROUTES
    quiet_start: time | None = None  # local time; messages wait until quiet_end
    quiet_end: time | None = None
    rate_limit_per_hour: int = Field(default=20, ge=1)  # messages per receiver
    max_attempts: int = Field(default=6, ge=1)
    backoff_seconds: float = Field(default=60, gt=0)  # first retry; doubles each time
    backoff_max_seconds: float = Field(default=6 * 3600, gt=0)
    timeout_seconds: float = Field(default=10, gt=0)
    webhooks_out: list[WebhookOut] = []

    @field_validator("webhooks_out")
    @classmethod
    def _unique_webhook_names(cls, value: list[WebhookOut]) -> list[WebhookOut]:
        names = [w.name for w in value]
        if len(set(names)) != len(names):
            raise ValueError("webhooks_out: every endpoint needs its own name")
        return value


def _from_env(value: object) -> object:
    if isinstance(value, str) and value.startswith("env:"):
        name = value.removeprefix("env:")
        if name not in os.environ:
            raise ValueError(f"secret refers to the unset environment variable {name}")
        return os.environ[name]
    return value


def load_notifications(path: Path) -> NotificationSettings:
    """Notification settings from a YAML file; `env:NAME` secrets are read from the environment."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read notifications file {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping with channels, routes, ...")
    for channel in (raw.get("channels") or {}).values():
        if isinstance(channel, dict) and isinstance(channel.get("secrets"), dict):
            channel["secrets"] = {k: _from_env(v) for k, v in channel["secrets"].items()}
    for hook in raw.get("webhooks_out") or []:
        if isinstance(hook, dict):
            hook.update({k: _from_env(hook[k]) for k in ("url", "secret") if k in hook})
    return NotificationSettings.model_validate(raw)


class FeedExpectation(BaseModel):
    """What an operator knows about one feed (an event kind or an import source), overriding what is learned.

    Unset values are learned from history. `watch: false` stops judging a feed at all, e.g. a sparse
    competitor-signal feed that would otherwise look stale and hold its rules.
    """

    every_days: float | None = Field(default=None, gt=0)  # expected days between arrivals
    per_day: float | None = Field(default=None, gt=0)  # usual events a day (kinds) or rows a batch (sources)
    watch: bool = True


class DataHealthSettings(BaseModel):
    """When a feed counts as stale or anomalous; the defaults suit daily business feeds."""

    history_days: int = Field(default=56, ge=7)  # how far back the usual cadence and volume are learned
    min_active_days: int = Field(default=10, ge=1)  # fewer days (or batches) with data: too new to judge
    stale_factor: float = Field(default=3.0, gt=0)  # stale after this many usual gaps without data...
    min_stale_days: int = Field(default=3, ge=0)  # ...and never sooner than this (weekends, holidays)
    volume_ratio: float = Field(default=0.25, gt=0, lt=1)  # anomalous below this share of the usual volume
    volume_days: int = Field(default=3, ge=1)  # the recent volume is judged over this many last days
    kinds: dict[str, FeedExpectation] = {}  # per event kind: orders, login, ...
    sources: dict[str, FeedExpectation] = {}  # per import source name (see `churnradar data-health`)


class AnalyticsSettings(BaseModel):
    """Where events are read and indicators computed, apart from the operational database (ANALYTICS__...).

    Snapshots, alerts and everything else still land in the operational database. `backend` names an entry
    of churnradar.analytics.backends: `duckdb` (the default: the store's tables, or `parquet_dir`), `postgres`
    (the store itself, or the read replica at `postgres_url`) or `spark` (`parquet_dir` or the tables of
    `spark_database`). Customers in Parquet or Spark are matched to the store by their own id (external_id).
    """

    backend: str = "duckdb"
    parquet_dir: Path | None = None  # customers, events, contracts, invoices: a .parquet file or folder each
    postgres_url: SecretStr | None = None  # a URL with a password must not show when settings are printed
    spark_master: str = "local[2]"
    spark_database: str | None = None
    spark_shuffle_partitions: int = Field(default=8, ge=1)
    spark_driver_memory: str = "2g"
    spark_conf: dict[str, str] = {}  # any other spark.* option, e.g. {"spark.executor.memory": "8g"}

    @model_validator(mode="after")
    def _where_spark_reads(self) -> AnalyticsSettings:
        # Spark reads the store's lake by default, or Parquet files, or a Spark database: one of them.
        if self.backend == "spark" and self.parquet_dir is not None and self.spark_database is not None:
            raise ValueError("the spark analytics backend reads parquet_dir or spark_database, not both")
        return self


class SnapshotSettings(BaseModel):
    """How long indicator snapshots stay (the worker prunes daily; `churnradar prune-snapshots` for cron).

    Every date of the last `keep_daily_days`; before that one date a week (the latest of each ISO week) back
    to `keep_weekly_days`, nothing older (None: weekly dates stay for ever). At 100k customers one date is
    about 4.7M values, some 240 MB on SQLite: a year of daily evaluations kept whole would be 85 GB.
    """

    keep_daily_days: int = Field(default=42, ge=1)
    keep_weekly_days: int | None = Field(default=730, ge=1)

    @model_validator(mode="after")
    def _weekly_reaches_further(self) -> SnapshotSettings:
        if self.keep_weekly_days is not None and self.keep_weekly_days < self.keep_daily_days:
            raise ValueError("snapshots: keep_weekly_days must be at least keep_daily_days")
        return self


class LakeSettings(BaseModel):
    """Where the analytical lake lives (LAKE__PATH): Delta tables of events and indicator snapshots.

    Unset, it sits beside a SQLite store (`churnradar.db` -> `churnradar-data/`), or in `./churnradar-data`
    for a PostgreSQL store. The database and the lake are one store: back them up together.
    """

    path: Path | None = None
    # How long a writer waits for another process's write to the same lake table before giving up.
    lock_timeout_seconds: float = Field(default=600, gt=0)


class SecretsSettings(BaseModel):
    """The key that encrypts stored secrets (a connected source's passwords and tokens): SECRETS__KEY.

    Unset, the key is derived from the secret key; changing whichever is used makes stored secrets
    unreadable (the sources say so and ask for them again).
    """

    key: SecretStr | None = None


class WorkerSettings(BaseModel):
    """When `churnradar worker` runs each job (churnradar.worker.registry names them)."""

    evaluate_at: time = time(6)  # local time, daily: evaluate, then the digest and snapshot pruning
    deliver_every_seconds: int = Field(default=60, ge=1)
    deadlines_every_seconds: int = Field(default=300, ge=1)
    # How often the worker looks for connected sources whose own cron is due (churnradar.source).
    source_syncs_every_seconds: int = Field(default=60, ge=1)
    # When the churn model is retrained (a crontab line, local time): weekly, before Monday's evaluation.
    retrain_schedule: str = Field(default="30 5 * * 1", max_length=100)
    # Any job's schedule by its name: a crontab line in local time ("15 6 * * 1-5") or a number of seconds
    # between runs ("900"), e.g. CHURNRADAR_WORKER__SCHEDULES='{"digest": "0 8 * * 1-5"}'.
    schedules: dict[str, str] = Field(default_factory=dict, max_length=100)
    # One worker at a time runs the jobs: it holds a lease in the store, renewed every third of this. A
    # killed worker's lease passes to a waiting one after at most this long.
    lease_seconds: int = Field(default=60, ge=5, le=3600)


class LogSettings(BaseModel):
    """How every process logs (`CHURNRADAR_LOG__FORMAT=json` for one JSON object a line)."""

    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class OpsSettings(BaseModel):
    """Who may read `/metrics` (`CHURNRADAR_OPS__METRICS_TOKEN`, `CHURNRADAR_OPS__METRICS_ALLOW`).

    With neither set, /metrics answers 404. A scraper sends the token as `Authorization: Bearer ...`; an
    address in an allowed block needs none. /healthz and /readyz need neither (they tell nothing private).
    """

    metrics_token: SecretStr | None = None
    metrics_allow: list[str] = Field(default_factory=list, max_length=100)

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _token(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or raw == "":
            return None  # an empty line in the environment file: no token
        if isinstance(raw, str) and len(raw) < MIN_TOKEN_CHARS:
            raise ValueError(f"metrics_token: use at least {MIN_TOKEN_CHARS} random characters")
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return address_blocks(value, "metrics_allow")


class WebSettings(BaseModel):
    """The web app's settings (`CHURNRADAR_WEB__*`): cookies, proxies, sign-in throttling, size and paging
    limits. The one web settings object: `create_app` reads `Settings.web` unless a test hands it another."""

    # Behind HTTPS (a TLS proxy), mark the session cookie Secure so a browser never sends it in clear text.
    secure_cookies: bool = False
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For names the client; empty: none is
    # believed, and the peer's own address counts (CHURNRADAR_WEB__TRUSTED_PROXIES='["10.0.0.5"]').
    trusted_proxies: list[str] = Field(default_factory=list, max_length=100)
    # Failed sign-ins before each next attempt waits twice as long as the one before (auth.ratelimit): per
    # login and address, per address, per login (these three for browsers without a device cookie for the
    # login) and per trusted device.
    login_failures_per_pair: int = 5
    login_failures_per_address: int = 30
    login_failures_per_login: int = 100
    login_failures_per_device: int = 10
    login_max_delay_seconds: int = 900
    max_ingest_bytes: int = 16 * 1024 * 1024
    max_ingest_records: int = 200_000
    # How long filter choices and overview figures may be reused before they are read again.
    cache_seconds: float = 60
    max_page_size: int = 500
    export_limit: int = 100_000

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return address_blocks(value, "trusted_proxies")


class Settings(BaseSettings):
    """All churnradar settings; `CHURNRADAR_DATABASE_URL`, `CHURNRADAR_TIMEZONE`, ..."""

    model_config = SettingsConfigDict(env_prefix="CHURNRADAR_", env_nested_delimiter="__", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    debug: bool = False
    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "UTC"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    imports: ImportSettings = ImportSettings()
    interventions: InterventionSettings = InterventionSettings()
    notifications: NotificationSettings = NotificationSettings()
    worker: WorkerSettings = WorkerSettings()
    snapshots: SnapshotSettings = SnapshotSettings()
    analytics: AnalyticsSettings = AnalyticsSettings()
    lake: LakeSettings = LakeSettings()
    data_health: DataHealthSettings = DataHealthSettings()
    web: WebSettings = WebSettings()
    log: LogSettings = LogSettings()
    ops: OpsSettings = OpsSettings()
    secrets: SecretsSettings = SecretsSettings()
    # Routing and channels as a YAML file (the `notifications` area); secrets there may read `env:NAME`.
    notifications_file: Path | None = None

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
        key = self.secret_key.get_secret_value()
        if self.environment != "development" and key == DEFAULT_SECRET_KEY:
            raise ValueError(
                "CHURNRADAR_SECRET_KEY is still the default; set a long random value outside development "
                '(python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
        if self.environment == "production" and (problem := weak_secret(key)):
            raise ValueError(f"CHURNRADAR_SECRET_KEY is too weak for production: {problem}")
        return self

    @model_validator(mode="after")
    def _read_notifications_file(self) -> Settings:
        if self.notifications_file is not None:
            self.notifications = load_notifications(self.notifications_file)
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
