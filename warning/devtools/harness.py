"""Run a real engine worker in isolation: its own topics, consumer group, port and data dir.

Used by the integration tests and the benchmarks. Each run gets topic names with a unique
prefix, so runs never read each other's records and a worker restart inside one test only
sees that test's messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warning.core.errors import ServiceUnavailable
from warning.devtools.demo import terminate, wait_http
from warning.devtools.testing import free_port
from warning.settings import Settings
from warning.stream.ingest import PUNCT_KEY
from warning.topics import Catalog, create_topics, end_offsets, load_catalog

WARNING_EXE = str(Path(sys.executable).with_name("warning"))


def isolated_topics(src: Path, dest: Path, prefix: str, partitions: int | None = None) -> Path:
    """Copy the topic specs with every name prefixed (and optionally a fixed partition count)."""
    dest.mkdir(parents=True, exist_ok=True)
    for spec in src.glob("*.toml"):
        text = spec.read_text(encoding="utf-8")
        text = re.sub(r'^name = "([^"]+)"', lambda m: f'name = "{prefix}{m.group(1)}"', text, flags=re.M)
        text = re.sub(
            r'^(value_schema|sample) = "([^"]+)"', lambda m: f'{m.group(1)} = "{src / m.group(2)}"', text, flags=re.M
        )
        if partitions is not None:
            text = re.sub(r"^partitions = \d+", f"partitions = {partitions}", text, flags=re.M)
        (dest / spec.name).write_text(text, encoding="utf-8")
    return dest


@dataclass
class Engine:
    """A worker subprocess bound to isolated topics."""

    base: Settings
    workdir: Path
    unique: str
    partitions: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.topics_dir = isolated_topics(
            self.base.topics_dir, self.workdir / "topics", f"t{self.unique}-", self.partitions
        )
        self.catalog: Catalog = load_catalog(self.topics_dir)
        self.web_port = free_port()
        self.env = {
            **os.environ,
            "WARNING_APP_ID": f"t{self.unique}",
            "WARNING_TOPICS_DIR": str(self.topics_dir),
            "WARNING_WEB_PORT": str(self.web_port),
            "WARNING_DATA_DIR": str(self.workdir / "state"),
            "WARNING_BROKER_SESSION_TIMEOUT": "8",
            **self.extra_env,
        }
        create_topics(self.base.kafka_bootstrap, self.catalog)

    @property
    def settings(self) -> Settings:
        return Settings(
            topics_dir=self.topics_dir,
            app_id=f"t{self.unique}",
            web_port=self.web_port,
            data_dir=self.workdir / "state",
        )

    def start(self, *args: str, timeout_s: float = 90) -> None:
        with (self.workdir / "worker.log").open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(  # noqa: S603 - our own CLI with our own arguments
                [WARNING_EXE, "worker", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_http(f"http://127.0.0.1:{self.web_port}/healthz", timeout_s, self.proc, "worker.log")
        except ServiceUnavailable as exc:
            raise ServiceUnavailable(f"{exc}\n{self.log_tail()}") from None

    def stop(self, hard: bool = False) -> None:
        if self.proc is None:
            return
        if hard:  # a crash: no shutdown, no commit, no leave-group
            self.proc.kill()
            self.proc.wait()
        terminate(self.proc, grace_s=40)

    def health(self) -> tuple[int, dict[str, Any]]:
        """/healthz's status and body (status 0 when the worker does not answer)."""
        import urllib.error

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/healthz", timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")
        except OSError:
            return 0, {}

    def supervise(self) -> list[str]:
        """Do what the orchestrator does on a 503: restart the worker; the reasons, if it did."""
        status, body = self.health()
        if status != 503:
            return []
        self.stop()
        self.start()
        return [str(r) for r in body.get("reasons", [])]

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=5) as r:
            text: str = r.read().decode()
            return text

    def log_tail(self, n: int = 60) -> str:
        path = self.workdir / "worker.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""


@contextlib.contextmanager
def running_engine(base: Settings, workdir: Path, unique: str, *args: str, **kw: Any) -> Iterator[Engine]:
    engine = Engine(base, workdir, unique, **kw)
    engine.start(*args)
    try:
        yield engine
    finally:
        engine.stop()


def read_topic(bootstrap: str, topic: str, *, expect: int, timeout_s: float = 60, settle_s: float = 0.0) -> list[bytes]:
    """All values of `topic` from the beginning, once at least `expect` arrived (or time ran out).

    `settle_s` keeps reading for a while after `expect` is reached, to catch surplus records
    (duplicates) that a test wants to see. Ingest's progress marks (key ``~punct``) are skipped.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=500)
    try:
        parts = consumer.partitions_for_topic(topic) or {0}
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        values: list[bytes] = []
        deadline = time.monotonic() + timeout_s
        reached: float | None = None
        while time.monotonic() < deadline:
            for msg in consumer:
                if msg.key != PUNCT_KEY:  # ingest's progress marks are not data
                    values.append(msg.value)
            if len(values) >= expect:
                reached = reached or time.monotonic()
                if time.monotonic() - reached >= settle_s:
                    break
        return values
    finally:
        consumer.close()


def read_to_end(bootstrap: str, topic: str, timeout_s: float = 60) -> list[bytes]:
    """Every value of `topic` up to the end offsets it has now (ingest's progress marks skipped).

    For counting distinct records once a topic is complete: `read_topic` stops at a count, and
    with redelivered duplicates on the topic the count is reached before every distinct record
    was read (a partition fetched late looked like a lost event).
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or {0}
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        consumer.seek_to_beginning(*tps)
        values: list[bytes] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(r.value for r in records if r.key != PUNCT_KEY)
        return values
    finally:
        consumer.close()


def topic_size(bootstrap: str, topic: str) -> int:
    """Messages in a topic (sum of end offsets), without reading them."""
    return sum(end_offsets(bootstrap, [topic]).values())


def jsons(values: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(v) for v in values]
