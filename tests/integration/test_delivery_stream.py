"""Kafka `alerts` -> router agent -> Redis feeds, end to end on the real broker and Redis.

Proves the delivery promises of DESIGN.md §5 through the real worker: graded routing to the
right feeds, one feed entry per distinct alert even when Kafka redelivers (a duplicate
publish and a SIGKILL mid-stream), and the offset of an alert committed only once Redis has it.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from warning.core.events import Alert
from warning.devtools.harness import running_engine
from warning.devtools.testing import T0, make_alert
from warning.settings import Settings
from warning.stream.publish import Publisher

pytestmark = pytest.mark.integration


def _publish(bootstrap: str, topic: str, alerts: list[Alert], pause_every: int = 0) -> None:
    with Publisher(bootstrap) as pub:
        for i, a in enumerate(alerts):
            pub.send(topic, json.dumps(a.to_dict(), ensure_ascii=False).encode(), key=a.alert_id.encode())
            if pause_every and i % pause_every == pause_every - 1:
                pub.flush()
                time.sleep(0.05)


def _feed_alert_ids(client: redis.Redis, feed: str, wanted: set[str]) -> list[str]:
    """alert_ids of the entries of `feed` that belong to this test (feeds are shared)."""
    out = []
    entries: Any = client.xrange(f"warning:feed:{feed}")
    for _, fields in entries:
        alert_id = fields.get(b"alert_id", b"").decode()
        if alert_id in wanted:
            out.append(alert_id)
    return out


def _wait_stored(client: redis.Redis, ids: set[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(client.exists(f"warning:alert:{i}") for i in ids):
            return
        time.sleep(0.2)
    missing = [i for i in ids if not client.exists(f"warning:alert:{i}")]
    raise AssertionError(f"{len(missing)} alerts never reached Redis")


def test_alerts_are_routed_by_level_to_the_right_feeds(
    stack: Settings, tmp_path: Path, unique: str, redis_client: redis.Redis
) -> None:
    cases = {
        "blue": ("S03-C02-G05", {"S03-C02-G05", "S03-C02", "all"}),
        "yellow": ("S03-C02-G05", {"S03", "all"}),
        "orange": ("S04-C01-G02", {"S04", "district", "all"}),
        "red": ("S05-C01-G01", {"district", "all"}),
    }
    alerts = [
        make_alert(f"{unique}-{level}", level=level, unit=unit)  # type: ignore[arg-type]  # keys are Level literals
        for level, (unit, _) in cases.items()
    ]
    ids = {a.alert_id for a in alerts}
    with running_engine(stack, tmp_path, unique) as engine:
        _publish(stack.kafka_bootstrap, engine.catalog.alerts.name, alerts)
        _wait_stored(redis_client, ids)
        metrics = engine.metrics()

    feeds = {"S03-C02-G05", "S03-C02", "S03", "S04", "S05", "district", "all"}
    for level, (_, expected) in cases.items():
        got = {f for f in feeds if f"{unique}-{level}" in _feed_alert_ids(redis_client, f, ids)}
        assert got == expected, f"{level}: {got} != {expected}"
    assert "warning_alert_latency_seconds_count" in metrics


def test_redelivery_and_a_crash_never_duplicate_feed_entries(
    stack: Settings, tmp_path: Path, unique: str, redis_client: redis.Redis
) -> None:
    n = 600
    alerts = [
        make_alert(f"{unique}-{i:04d}", unit=f"S0{i % 9 + 1}-C01-G01", at=T0 + timedelta(minutes=i)) for i in range(n)
    ]
    ids = {a.alert_id for a in alerts}
    with running_engine(stack, tmp_path, unique) as engine:
        topic = engine.catalog.alerts.name
        _publish(stack.kafka_bootstrap, topic, alerts[:50])
        _publish(stack.kafka_bootstrap, topic, alerts[:50])  # an exact redelivery of the same messages
        producer = threading.Thread(target=_publish, args=(stack.kafka_bootstrap, topic, alerts[50:], 25))
        producer.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stored = sum(redis_client.exists(f"warning:alert:{i}") for i in list(ids)[:: n // 60])
            if stored >= 10:
                break
            time.sleep(0.1)
        engine.stop(hard=True)  # uncommitted offsets: Kafka redelivers what Redis may already have
        at_kill = sum(redis_client.exists(f"warning:alert:{i}") for i in ids)
        engine.start()
        producer.join()
        _wait_stored(redis_client, ids, timeout_s=120)
        time.sleep(2)  # let any redelivered tail reach Redis before counting

    assert 0 < at_kill < n, "the crash must land mid-stream"
    entries = _feed_alert_ids(redis_client, "all", ids)
    assert len(entries) == len(set(entries)) == n, f"{len(entries)} entries for {n} distinct alerts"
    counts = {int(redis_client.hget(f"warning:alert:{i}", "count") or 0) for i in list(ids)[:50]}
    assert counts == {1}, f"a redelivered message was counted as a repeat: {counts}"


def test_worker_uses_the_key_prefix_and_reports_pending_alerts(
    stack: Settings, tmp_path: Path, unique: str, redis_client: redis.Redis
) -> None:
    """WARNING_REDIS_PREFIX reaches the worker's sink; the leader's timer fills the pending gauges."""
    prefix = f"test:{unique}:warning:"
    alerts = [
        make_alert(f"{unique}-b", unit="S03-C02-G05"),
        make_alert(f"{unique}-r1", level="red", unit="S04-C01-G01"),
        make_alert(f"{unique}-r2", level="red", unit="S05-C01-G01"),
    ]
    wanted = {
        'warning_feed_pending_entries{level="blue"} 1.0',
        'warning_feed_pending_entries{level="red"} 2.0',
        'warning_feed_pending_entries{level="yellow"} 0.0',
    }
    try:
        with running_engine(stack, tmp_path, unique, extra_env={"WARNING_REDIS_PREFIX": prefix}) as engine:
            _publish(stack.kafka_bootstrap, engine.catalog.alerts.name, alerts)
            deadline = time.monotonic() + 45  # the timer runs every 15 s, first after 15 s
            text = ""
            while time.monotonic() < deadline:
                text = engine.metrics()
                if wanted <= set(text.splitlines()):
                    break
                time.sleep(1)
        lines = set(text.splitlines())
        assert wanted <= lines, [x for x in text.splitlines() if "pending" in x]
        age = next(x for x in lines if x.startswith("warning_feed_oldest_pending_age_seconds "))
        assert float(age.split()[1]) > 0
        assert all(redis_client.exists(f"{prefix}alert:{a.alert_id}") for a in alerts)
        assert not any(redis_client.exists(f"warning:alert:{a.alert_id}") for a in alerts)
    finally:
        keys = list(redis_client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            redis_client.delete(*keys)
