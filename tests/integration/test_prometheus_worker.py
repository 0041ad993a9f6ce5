"""Debian's real Prometheus scrapes a real running worker (issue 14, item 3).

`test_prometheus.py` proves names and rules against a registry served by the test itself; this
one starts `warning worker` (the harness: own topics, group, port and Redis prefix) on the
shared Kafka and Redis, feeds it three simulated days of a small district and a few alerts,
then points deploy/prometheus/prometheus.yml at the worker's /metrics and checks through
Prometheus's HTTP API that the engine's series (input, alerts, lag, per-detector latency,
end-to-end latency, state size, case model, Faust's own sensors) arrive and that the rule
file loads and evaluates. /healthz answers 200 on the way.

Skipped when `prometheus` is missing (`make prometheus`), except under CI or
WARNING_REQUIRE_STACK=1.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
import yaml

from warning.devtools import prometheus as prom_mod
from warning.devtools.harness import Engine, running_engine
from warning.devtools.testing import make_alert
from warning.settings import REPO_ROOT, Settings
from warning.simulate.district import District, SimConfig, arrivals
from warning.stream.publish import Publisher
from warning.topics import INPUT_CHANNELS

pytestmark = pytest.mark.integration

PROM_DIR = REPO_ROOT / "deploy" / "prometheus"
RULES = PROM_DIR / "rules.yml"
T = TypeVar("T")

# what an operator's dashboards and rules need from a live worker (a series each)
EXPECTED = {
    "up",
    "warning_events_received_total",
    "warning_events_valid_total",
    "warning_alerts_total",
    "warning_consumer_lag_messages",
    "warning_detector_seconds_bucket",
    "warning_detector_batch_seconds_bucket",
    "warning_alert_latency_seconds_bucket",
    "warning_late_events_total",
    "warning_state_entries",
    "warning_case_model_info",
    "warning_case_score_bucket",
    "warning_thresholds_info",
    "warning_feed_pending_entries",
    "warning_delivery_backlog_alerts",
    "warning_healthy",
    "faust_messages_received_total",
    "faust_topic_partition_end_offset",
    "faust_events_runtime_ms_bucket",
}


def _required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("WARNING_REQUIRE_STACK") == "1"


def _eventually(check: Callable[[], T | None], what: str, log: Callable[[], str], timeout: float = 40) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:g} s; log:\n{log()}")
        time.sleep(0.5)


def _publish_district(stack: Settings, engine: Engine, unique: str) -> int:
    """Three simulated days of a small district (all in the past) and two alerts for the router."""
    config = SimConfig(seed=11, start=date.today() - timedelta(days=4), days=3, streets=2, grids=20, scale=0.3)
    topics = {channel: engine.catalog.specs[role].name for role, channel in INPUT_CHANNELS.items()}
    with Publisher(stack.kafka_bootstrap) as pub:
        for _, rec in arrivals(District(config), config.seed):
            pub.send(topics[rec.channel], rec.line.encode("utf-8"), key=rec.key.encode("ascii"))
        for level in ("red", "blue"):
            alert = make_alert(f"pw-{unique}-{level}", level=level, unit="S01-C01-G01")
            pub.send(engine.catalog.alerts.name, json.dumps(alert.to_dict()).encode(), key=alert.alert_id.encode())
        pub.flush()
        return pub.sent


def _sample(text: str, name: str) -> float:
    """Sum of a metric's samples in an exposition text."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith((f"{name} ", f"{name}{{")):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def redis_prefix(stack: Settings, unique: str) -> Iterator[str]:
    """A Redis key prefix of this test's own, removed afterwards."""
    prefix = f"pw{unique}:"
    yield prefix
    client = redis.Redis.from_url(stack.redis_url)
    try:
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def test_prometheus_scrapes_a_running_worker_and_loads_the_rules(
    stack: Settings, tmp_path: Path, unique: str, redis_prefix: str
) -> None:
    if prom_mod.binary() is None:
        message = f"prometheus binary missing. {prom_mod.INSTALL_HINT}"
        if _required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    base = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    env = {"WARNING_REDIS_PREFIX": redis_prefix}
    with running_engine(stack, tmp_path / "engine", unique, extra_env=env) as engine:
        sent = _publish_district(stack, engine, unique)

        def delivered() -> str | None:
            text = engine.metrics()
            ok = (
                _sample(text, "warning_events_received_total") > 0
                and _sample(text, "warning_alert_latency_seconds_count") >= 2
                # detectors see events once the slowest input's watermark passes them
                and _sample(text, "warning_detector_seconds_count") > 0
            )
            return text if ok else None

        _eventually(delivered, "input read, events through the detectors, both alerts in Redis", engine.log_tail)

        workdir = tmp_path / "prometheus"
        workdir.mkdir()
        config = prom_mod.local_config(base, [f"127.0.0.1:{engine.web_port}"], [RULES])
        with prom_mod.PrometheusServer(config, workdir) as prom:

            def scraped() -> set[str] | None:
                names = {r["metric"]["__name__"] for r in prom.query('count by (__name__) ({job="warning-worker"})')}
                lag_ready = prom.query("warning_consumer_lag_messages")  # the lag timer runs every 10 s
                return names if names >= EXPECTED and lag_ready else None

            names = _eventually(scraped, f"the series {sorted(EXPECTED)}", prom.log_tail)
            assert names >= EXPECTED

            (up,) = prom.query('up{job="warning-worker"}')
            assert up["value"][1] == "1"
            (received,) = prom.query("sum(warning_events_received_total)")
            assert 0 < float(received["value"][1]) <= sent
            (latency,) = prom.query("sum(warning_alert_latency_seconds_count)")
            assert float(latency["value"][1]) >= 2
            lag_topics = {r["metric"]["topic"] for r in prom.query("warning_consumer_lag_messages")}
            assert engine.catalog.grid_reports.name in lag_topics
            detectors = {r["metric"]["detector"] for r in prom.query("warning_detector_seconds_count > 0")}
            assert detectors, "no per-detector latency in Prometheus"
            (model,) = prom.query("warning_case_model_info")
            assert model["metric"]["version"]
            faust_in = prom.query("sum(faust_messages_received_total)")
            assert faust_in and float(faust_in[0]["value"][1]) > 0

            def rules_ok() -> list[dict[str, Any]] | None:
                groups = prom.api("rules")["groups"]
                rules = [r for g in groups for r in g["rules"]]
                return rules if rules and all(r["health"] == "ok" for r in rules) else None

            rules = _eventually(rules_ok, "every rule evaluated without error", prom.log_tail)
            assert {g["file"] for g in prom.api("rules")["groups"]} == {str(RULES.resolve())}
            spec = yaml.safe_load(RULES.read_text(encoding="utf-8"))
            assert {r["name"] for r in rules} == {r["alert"] for g in spec["groups"] for r in g["rules"]}
            assert not prom.query('ALERTS{alertname="WarningWorkerDown"}')

        status, health = engine.health()
        assert status == 200 and health["ok"] is True and health["reasons"] == []
        assert health["redis_unreachable_seconds"] is None
