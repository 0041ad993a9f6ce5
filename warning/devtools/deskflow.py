"""What the Kafka-to-desk tests of each warning type share: input files, publishing, Redis waits.

Each test builds its own small district and asserts what its type must do; writing the channel
files, publishing them to a worker's own topics, waiting for the routed alert hashes and reading
which feeds hold an alert are the same steps for every type, so they are written once here.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from warning import thresholds
from warning.analysis.replay import iter_alerts, iter_events, pipeline_for
from warning.devtools.harness import Engine, jsons, read_topic, topic_size
from warning.settings import Settings
from warning.stream.publish import Publisher
from warning.topics import Catalog

Records = dict[str, list[dict[str, Any]]]  # channel file stem ("petitions", ...) -> raw records


def write_channel_files(data: Path, records: Records) -> None:
    """The channel files replay reads (`<stem>.jsonl`, one JSON record per line)."""
    data.mkdir(parents=True, exist_ok=True)
    for name, rows in records.items():
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        (data / f"{name}.jsonl").write_text(text, encoding="utf-8")


def publish_channel_records(bootstrap: str, catalog: Catalog, records: Records) -> None:
    """Send every record to its channel's raw input topic of this worker's catalogue."""
    topics = {
        "petitions": catalog.petitions.name,
        "hotline-calls": catalog.hotline_calls.name,
        "grid-reports": catalog.grid_reports.name,
    }
    with Publisher(bootstrap) as pub:
        for name, rows in records.items():
            for r in rows:
                pub.send(topics[name], json.dumps(r, ensure_ascii=False).encode())
        pub.flush()


def alert_signature(alerts: list[dict[str, Any]], alert_type: str) -> Counter[tuple[str, str, tuple[str, ...]]]:
    """Alerts of one type as (id, level, evidence): what stream and replay must agree on."""
    return Counter((a["alert_id"], a["level"], tuple(a.get("evidence", ()))) for a in alerts if a["type"] == alert_type)


def wait_alert_hashes(client: redis.Redis, prefix: str, ids: set[str], timeout_s: float = 90) -> dict[str, Any]:
    """The routed alerts' hashes once all of them are in Redis (routing runs after detection)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stored = {i: client.hgetall(f"{prefix}alert:{i}") for i in ids}
        if all(stored.values()):
            return stored
        time.sleep(0.3)
    raise AssertionError(f"alerts never reached Redis: {sorted(i for i, v in stored.items() if not v)}")


def feeds_holding(client: redis.Redis, prefix: str, stored: dict[str, Any]) -> dict[str, set[str]]:
    """For each stored alert, which of the feeds its hash names really hold an entry for it."""
    out: dict[str, set[str]] = {}
    for alert_id, h in stored.items():
        names = json.loads(h[b"feeds"])
        out[alert_id] = {n for n in names if _on_feed(client, f"{prefix}feed:{n}", alert_id)}
    return out


def _on_feed(client: redis.Redis, key: str, alert_id: str) -> bool:
    entries: Any = client.xrange(key)
    return any(f.get(b"alert_id", b"").decode() == alert_id for _, f in entries)


def replayed_alerts(data: Path, settings: Settings) -> list[dict[str, Any]]:
    """What replay raises on the channel files: the stream's expected output."""
    loaded = thresholds.load().thresholds
    return [a.to_dict() for a in iter_alerts(iter_events(data, settings, loaded), pipeline_for(loaded))]


@dataclass(frozen=True)
class DeskRun:
    """What one real worker made of the records: its alerts topic, Redis hashes and feeds."""

    streamed: list[dict[str, Any]]
    stored: dict[str, Any]  # alert id -> its Redis hash
    dead: int
    feeds: dict[str, list[str]]  # alert id -> the feeds its hash names
    on_feed: dict[str, set[str]]  # alert id -> the feeds that really hold an entry for it
    engine: Engine  # stopped; for its log tail in assertion messages


def run_through_desk(
    stack: Settings, workdir: Path, unique: str, client: redis.Redis, records: Records, *, expect: int, ids: set[str]
) -> DeskRun:
    """Publish the records to a real worker's own topics and collect what reached the desks.

    The worker routes into the test's own key prefix, which is deleted afterwards whatever happens.
    """
    prefix = f"test:{unique}:warning:"
    env = {"WARNING_REDIS_URL": stack.redis_url, "WARNING_REDIS_PREFIX": prefix}
    engine = Engine(stack, workdir, unique, extra_env=env)
    try:
        engine.start()
        cat = engine.catalog
        publish_channel_records(stack.kafka_bootstrap, cat, records)
        streamed = jsons(read_topic(stack.kafka_bootstrap, cat.alerts.name, expect=expect, timeout_s=120, settle_s=5))
        stored = wait_alert_hashes(client, prefix, ids)
        dead = topic_size(stack.kafka_bootstrap, cat.dead_letters.name)
        feeds = {i: json.loads(h[b"feeds"]) for i, h in stored.items()}
        on_feed = feeds_holding(client, prefix, stored)
    finally:
        engine.stop()
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)
    return DeskRun(streamed, stored, dead, feeds, on_feed, engine)
