"""Deployment settings: the only place the engine reads the environment.

Every field maps to an environment variable ``WARNING_<FIELD>`` (pinned by a test, so a rename
cannot silently orphan an operator's config). Detector parameters are not here: they live in
the thresholds file, which operators edit and the engine hot-reloads.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

RedisRole = Literal["engine", "console", "cli"]
REDIS_ROLES: Final[tuple[RedisRole, ...]] = ("engine", "console", "cli")
"""Redis ACL users of the programs: `warning worker`, `warning console`, every other command."""


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
    redis_user: str | None = Field(
        default=None,
        description="WARNING_REDIS_USER: Redis ACL user this process connects as; default: its role's "
        "(engine for `warning worker`, console for `warning console`, cli for other commands). "
        "Credentials in WARNING_REDIS_URL win over this",
    )
    redis_password: SecretStr | None = Field(
        default=None,
        description="WARNING_REDIS_PASSWORD: that user's password; default: the one `warning stack up` "
        "generated in <stack_dir>/redis/passwords/<user>",
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
    pattern_profile: Path | None = Field(
        default=None,
        description="WARNING_PATTERN_PROFILE: the pattern detector's state learned from the district's archive "
        "(`warning pattern-profile`); a street with no state yet starts from it instead of empty",
    )
    broker_session_timeout: float = Field(
        default=30.0,
        ge=6,
        description="WARNING_BROKER_SESSION_TIMEOUT: seconds before a silent worker loses its partitions "
        "(shorter = faster takeover after a crash, longer = fewer false rebalances)",
    )
    table_standby_replicas: int = Field(
        default=0,
        ge=0,
        description="WARNING_TABLE_STANDBY_REPLICAS: standby copies of each detector table partition kept "
        "warm on other workers (1 in production with 2+ workers: a takeover skips the changelog replay)",
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
        "agent has processed a batch for this long (Faust's stalled consumer, faust#175), or when one "
        "partition's messages have waited unread for this long (a partition never fetched, faust#629)",
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

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Like pydantic's, with the password `load` put into `redis_url` masked."""
        for name, value in super().__repr_args__():
            yield name, (_masked(value) if name == "redis_url" and isinstance(value, str) else value)

    def units_path(self) -> Path:
        """Where the engine reads (and `warning units load` writes) the district's units."""
        return self.units_file or self.data_dir / "units.csv"

    def redis_password_file(self, user: str) -> Path:
        """Where the local stack keeps the generated password of a programs' user (mode 0600)."""
        return self.stack_dir.expanduser().resolve() / "redis" / "passwords" / user

    def redis_dsn(self, role: RedisRole = "cli") -> str:
        """`redis_url` carrying this process's ACL credentials (``user:password@``).

        The URL is how every client here connects (compose already puts ``engine:...@`` in it),
        so credentials ride in it: a URL that has them is kept; otherwise the user is
        ``WARNING_REDIS_USER`` or the `role`'s, the password ``WARNING_REDIS_PASSWORD`` or the
        local stack's generated file. With neither, the URL stays bare (a server whose
        ``default`` user is open), so a developer's own Redis still works.
        """
        parts = urlsplit(self.redis_url)
        if "@" in parts.netloc or "password=" in parts.query or parts.scheme == "memory":
            return self.redis_url
        user = self.redis_user or role
        if self.redis_password is not None:
            password = self.redis_password.get_secret_value()
        else:
            try:
                password = self.redis_password_file(user).read_text(encoding="utf-8").strip()
            except OSError:
                return self.redis_url
        cred = f"{quote(user, safe='')}:{quote(password, safe='')}"
        if parts.scheme == "unix":
            sep = "&" if parts.query else "?"
            return f"{self.redis_url}{sep}username={quote(user, safe='')}&password={quote(password, safe='')}"
        return self.redis_url.replace("://", f"://{cred}@", 1)

    def zone(self) -> tzinfo:
        """The district's zone, for `IngestSection.limits(zone=...)`."""
        return ZoneInfo(self.timezone)


def _masked(url: str) -> str:
    """`url` with the password of ``user:password@`` replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    netloc, at, tail = rest.partition("@")
    if not at or "/" in netloc:
        return url
    return f"{scheme}{sep}{netloc.partition(':')[0]}:***@{tail}"


def load(role: RedisRole = "cli") -> Settings:
    """Settings from the environment (one call per process entry point).

    `role` names the program (``engine`` for the worker, ``console``, ``cli``): its Redis ACL
    user and password go into `redis_url` (`Settings.redis_dsn`), so every client built from
    it authenticates; officers' clients strip them (`warning.delivery.acl.anonymous_url`).
    """
    s = Settings()
    return s.model_copy(update={"redis_user": s.redis_user or role, "redis_url": s.redis_dsn(role)})
