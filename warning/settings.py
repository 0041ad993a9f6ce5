"""Deployment settings: the only place the engine reads the environment.

Every field maps to an environment variable ``WARNING_<FIELD>`` (pinned by a test, so a rename
cannot silently orphan an operator's config). Detector parameters are not here: they live in
the thresholds file, which operators edit and the engine hot-reloads.
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Connection URLs, ports, paths and secrets (env prefix ``WARNING_``)."""

    model_config = SettingsConfigDict(env_prefix="WARNING_", frozen=True, extra="ignore")

    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="WARNING_KAFKA_BOOTSTRAP: Kafka bootstrap host:port"
    )
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="WARNING_REDIS_URL: Redis for alert feeds")
    # no glob characters or spaces: officers' Redis ACL key patterns are built from the prefix
    redis_prefix: str = Field(
        default="warning:",
        pattern=r"^[^\s*?\[\]\\]+$",
        description="WARNING_REDIS_PREFIX: prefix of every Redis key (one per district sharing a Redis; "
        "a hash tag such as {warning}: for Redis Cluster)",
    )
    app_id: str = Field(default="warning-engine", description="WARNING_APP_ID: Faust app id / consumer group")
    pseudonym_key: SecretStr = Field(
        default=SecretStr("dev-only-pseudonym-key-change-me"),
        description="WARNING_PSEUDONYM_KEY: HMAC key for ID/phone pseudonyms (>=16 bytes; set in production)",
    )
    thresholds_file: Path | None = Field(
        default=None,
        description="WARNING_THRESHOLDS_FILE: ops-tunable TOML; default is the packaged thresholds.toml",
    )
    topics_dir: Path = Field(
        default=REPO_ROOT / "topics", description="WARNING_TOPICS_DIR: topic specs (one TOML each)"
    )
    data_dir: Path = Field(
        default=REPO_ROOT / ".state", description="WARNING_DATA_DIR: Faust table data and worker state"
    )
    units_file: Path | None = Field(
        default=None,
        description="WARNING_UNITS_FILE: the district's own units (code,name,parent,level CSV, written by "
        "`warning units load`); default <data_dir>/units.csv, and the simulator's Sxx-Cxx-Gxx layout "
        "when that file does not exist",
    )
    broker_session_timeout: float = Field(
        default=30.0,
        ge=6,
        description="WARNING_BROKER_SESSION_TIMEOUT: seconds before a silent worker loses its partitions "
        "(shorter = faster takeover after a crash, longer = fewer false rebalances)",
    )
    health_redis_seconds: float = Field(
        default=60.0,
        gt=0,
        description="WARNING_HEALTH_REDIS_SECONDS: /healthz turns 503 once the router has failed to reach "
        "Redis for this long, so an orchestrator restarts the worker",
    )
    health_stall_seconds: float = Field(
        default=120.0,
        gt=0,
        description="WARNING_HEALTH_STALL_SECONDS: /healthz turns 503 when messages wait (lag > 0) and no "
        "agent has processed a batch for this long (Faust's stalled consumer, faust#175)",
    )
    bind_host: str = Field(
        default="127.0.0.1",
        description="WARNING_BIND_HOST: address the worker's /metrics and the console listen on "
        "(0.0.0.0 in containers)",
    )
    web_port: int = Field(default=6066, description="WARNING_WEB_PORT: worker HTTP port (/metrics)")
    console_port: int = Field(default=8080, description="WARNING_CONSOLE_PORT: duty officers' web console")
    store: str = Field(
        default="memory://", description="WARNING_STORE: Faust table store URL (rocksdb:// in production)"
    )
    # local no-Docker stack (deploy/local); see `warning stack up`
    stack_dir: Path = Field(
        default=REPO_ROOT / ".stack", description="WARNING_STACK_DIR: jars, data and logs of the local stack"
    )
    kafka_port: int = Field(default=9092, description="WARNING_KAFKA_PORT: local broker port")
    kafka_controller_port: int = Field(default=9093, description="WARNING_KAFKA_CONTROLLER_PORT: KRaft controller port")
    kafka_heap: str = Field(default="512m", description="WARNING_KAFKA_HEAP: local broker max heap")
    redis_port: int = Field(default=6379, description="WARNING_REDIS_PORT: local redis-server port")
    stack_timeout: float = Field(default=120.0, description="WARNING_STACK_TIMEOUT: readiness wait, seconds")
    log_level: str = Field(default="INFO", description="WARNING_LOG_LEVEL: logging level")
    log_json: bool = Field(default=False, description="WARNING_LOG_JSON: JSON log lines instead of console")
    timezone: str = Field(
        default="Asia/Shanghai",
        description="WARNING_TIMEZONE: the district's IANA zone; ingest converts every event time to it, "
        "so windows, hour of day and day boundaries are the district's",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'Unknown time zone "{value}"; use an IANA name such as Asia/Shanghai') from None
        return value

    def units_path(self) -> Path:
        """Where the engine reads (and `warning units load` writes) the district's units."""
        return self.units_file or self.data_dir / "units.csv"

    def zone(self) -> tzinfo:
        """The district's zone, for `IngestSection.limits(zone=...)`."""
        return ZoneInfo(self.timezone)


def load() -> Settings:
    """Settings from the environment (one call per process entry point)."""
    return Settings()
