"""`make demo`: the whole flow on one machine, shown as it happens.

Starts the worker as a child process, publishes the shipped sample records (valid and
invalid) and a simulated district, and prints what reaches ``events``, ``dead-letters`` and
the alert feeds. Ctrl-C (or the duration running out) stops every child it started, in order,
so the next run starts clean.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from warning.core.errors import ServiceUnavailable
from warning.core.taxonomy import CHANNEL_LABELS, category_label
from warning.publish import Publisher, read_records
from warning.settings import Settings
from warning.topics import INPUT_CHANNELS, Catalog, create_topics, load_catalog

console = Console()


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes], log_hint: str) -> None:
    """Wait until a child process answers 200 on `url`; fail fast if it exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceUnavailable(f"process exited with code {proc.returncode}; see {log_hint}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - fixed local URL
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise ServiceUnavailable(f"not ready at {url} after {timeout_s:.0f}s; see {log_hint}")


@contextlib.contextmanager
def child(argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run a child process for the demo's lifetime; SIGTERM (then SIGKILL) on the way out."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)  # noqa: S603 - our own CLI
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _end_offsets(bootstrap: str, topics: list[str]) -> dict[Any, int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or {0})]
        return dict(consumer.end_offsets(tps))
    finally:
        consumer.close()


def _read_from(bootstrap: str, start: dict[Any, int], timeout_s: float, expect: int) -> list[tuple[str, bytes]]:
    """Records written after `start` offsets, until `expect` are seen or time runs out."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1000)
    consumer.assign(list(start))
    for tp, off in start.items():
        consumer.seek(tp, off)
    out: list[tuple[str, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and len(out) < expect:
            for msg in consumer:
                out.append((msg.topic, msg.value))
                if len(out) >= expect:
                    break
    finally:
        consumer.close()
    return out


def publish_samples(settings: Settings, catalog: Catalog) -> int:
    """Publish every shipped sample input record; returns how many."""
    with Publisher(settings.kafka_bootstrap) as pub:
        for role in INPUT_CHANNELS:
            spec = catalog.specs[role]
            assert spec.sample is not None
            for record in read_records(spec.sample):
                pub.send(spec.name, record.value)
        pub.flush()
        return pub.sent


def show_ingest(records: list[tuple[str, bytes]], catalog: Catalog) -> None:
    """Print what ingest made of the samples: events and dead letters with their reasons."""
    events = Table(
        "渠道", "事件编号", "网格", "类别", "严重度", "标记", title="events: 归一化事件(身份证号、电话已假名化)"
    )
    dead = Table("来源主题", "偏移", "原因", "说明", title="dead-letters: 死信(保留原始字节)")
    for topic, value in records:
        data = json.loads(value)
        if topic == catalog.events.name:
            events.add_row(
                CHANNEL_LABELS.get(data["channel"], data["channel"]),
                data["source_ref"],
                data["location"]["grid_id"],
                category_label(data["category"]),
                str(data["severity"]),
                ",".join(data["flags"]),
            )
        else:
            dead.add_row(data["source_topic"], str(data["offset"]), data["reason"], data["detail"][:70])
    console.print(events)
    console.print(dead)


def run(settings: Settings, duration: float) -> None:
    """The demo itself (see module docstring)."""
    catalog = load_catalog(settings.topics_dir)
    create_topics(settings.kafka_bootstrap, catalog)
    state = settings.data_dir
    exe = str(Path(sys.executable).with_name("warning"))
    env = {**os.environ}
    started = time.monotonic()
    stop_at = started + duration if duration > 0 else float("inf")
    watch = [catalog.events.name, catalog.dead_letters.name]
    with child([exe, "worker"], state / "worker.log", env) as worker:
        console.print(f"[bold]worker[/] pid {worker.pid}; metrics at http://127.0.0.1:{settings.web_port}/metrics")
        wait_http(f"http://127.0.0.1:{settings.web_port}/healthz", 120, worker, str(state / "worker.log"))
        start = _end_offsets(settings.kafka_bootstrap, watch)
        sent = publish_samples(settings, catalog)
        console.print(f"published {sent} sample records (valid and invalid) to the three input topics")
        seen = _read_from(settings.kafka_bootstrap, start, timeout_s=60, expect=sent)
        show_ingest(seen, catalog)
        console.print(f"{len(seen)} of {sent} records accounted for in events + dead-letters")
        if duration > 0 and time.monotonic() >= stop_at:
            return
        console.print("engine running; Ctrl-C to stop" + (f" (or after {duration:.0f}s)" if duration > 0 else ""))
        with contextlib.suppress(KeyboardInterrupt):
            while time.monotonic() < stop_at and worker.poll() is None:
                time.sleep(0.5)
    console.print("demo stopped cleanly")
