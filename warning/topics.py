"""Topics as code: the specs in ``topics/*.toml`` and the admin operations on them.

Code never spells a topic name; it asks the catalogue for a role (``catalog.events``), so a
district can rename or prefix topics in one place. `create` is idempotent so `make demo`,
`make test` and a production rollout can all run it every time.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from warning.core.errors import ImproperlyConfigured

Role = Literal[
    "grid_reports", "hotline_calls", "petitions", "events", "events_district", "events_case", "alerts", "dead_letters"
]
ROLES: Final[tuple[Role, ...]] = Role.__args__  # type: ignore[attr-defined]  # Literal exposes __args__
INPUT_CHANNELS: Final[dict[Role, str]] = {"grid_reports": "grid", "hotline_calls": "hotline", "petitions": "petition"}


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One Kafka topic: what it carries, how it is keyed and kept."""

    role: Role
    name: str
    partitions: int
    key: str
    retention_ms: int
    description: str
    cleanup_policy: str = "delete"
    replication_factor: int = 1
    value_schema: Path | None = None
    sample: Path | None = None
    config: dict[str, str] = field(default_factory=dict)

    def kafka_config(self) -> dict[str, str]:
        """Topic-level configs sent at creation."""
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup_policy, **self.config}


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every topic of the engine, by role."""

    specs: dict[Role, TopicSpec]

    def __getattr__(self, role: str) -> TopicSpec:
        try:
            return self.specs[role]  # type: ignore[index]  # checked below
        except KeyError:
            raise AttributeError(role) from None

    def by_name(self, name: str) -> TopicSpec:
        """The spec of a topic name, with the valid names in the error."""
        for spec in self.specs.values():
            if spec.name == name:
                return spec
        valid = sorted(s.name for s in self.specs.values())
        raise ImproperlyConfigured(f'Unknown topic "{name}"; valid options are {valid}')

    def __iter__(self) -> Any:
        return iter(self.specs.values())


def _spec(path: Path) -> TopicSpec:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        role = raw["role"]
        if role not in ROLES:
            raise ImproperlyConfigured(f'{path}: Unknown role "{role}"; valid options are {list(ROLES)}')
        return TopicSpec(
            role=role,
            name=raw["name"],
            partitions=int(raw["partitions"]),
            key=raw["key"],
            retention_ms=int(raw["retention_ms"]),
            description=raw["description"],
            cleanup_policy=raw.get("cleanup_policy", "delete"),
            replication_factor=int(raw.get("replication_factor", 1)),
            value_schema=path.parent / raw["value_schema"] if "value_schema" in raw else None,
            sample=path.parent / raw["sample"] if "sample" in raw else None,
            config={k: str(v) for k, v in raw.get("config", {}).items()},
        )
    except (KeyError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ImproperlyConfigured(f"{path}: invalid topic spec: {exc!r}") from None


def load_catalog(directory: Path) -> Catalog:
    """Read every ``*.toml`` under `directory`; every role must be present exactly once."""
    specs: dict[Role, TopicSpec] = {}
    for path in sorted(directory.glob("*.toml")):
        spec = _spec(path)
        if spec.role in specs:
            raise ImproperlyConfigured(f"{path}: role {spec.role} already defined by {specs[spec.role].name}")
        specs[spec.role] = spec
    missing = [r for r in ROLES if r not in specs]
    if missing:
        raise ImproperlyConfigured(f"{directory}: no topic spec for roles {missing}")
    return Catalog(specs)


def create_topics(bootstrap: str, catalog: Catalog, timeout_s: float = 30.0) -> list[str]:
    """Create missing topics; return the names created. Existing topics are left as they are."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="warning-topics", request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.kafka_config())
            for s in catalog
            if s.name not in existing
        ]
        if wanted:
            try:
                admin.create_topics(wanted, timeout_ms=int(timeout_s * 1000))
            except TopicAlreadyExistsError:
                # a fresh broker can time out a create that then succeeds, and the client's retry
                # finds the topics there (seen in `make demo` on a just-formatted broker): fine if all are
                missing = [t.name for t in wanted if t.name not in set(admin.list_topics())]
                if missing:
                    raise
        return [t.name for t in wanted]
    finally:
        admin.close()


def end_offsets(bootstrap: str, topics: list[str]) -> dict[Any, int]:
    """Log-end offset of every partition of `topics` (a position to read from, or a size)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or {0})]
        return dict(consumer.end_offsets(tps))
    finally:
        consumer.close()
