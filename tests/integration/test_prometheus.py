"""Debian's real Prometheus scrapes the engine's metrics and loads and evaluates the shipped rules.

The scrape target is a tiny HTTP server in this test serving `generate_latest` of a fresh
`Metrics.create(CollectorRegistry())` with values set, so no Kafka or Redis is needed; the
config is deploy/prometheus/prometheus.yml with local targets and a 1 s interval. A second
target on a closed port stands in for a dead worker. The rules' logic is unit-tested by
`promtool test rules` (make promtool); this proves the wiring: names, labels, rule files.

Skipped when `prometheus` is missing (`make prometheus` installs it), except under CI or
WARNING_REQUIRE_STACK=1, where a missing binary fails the run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from warning.devtools import prometheus as prom_mod
from warning.devtools.testing import free_port
from warning.metrics import Metrics
from warning.settings import REPO_ROOT

pytestmark = pytest.mark.integration

PROM_DIR = REPO_ROOT / "deploy" / "prometheus"
RULES = PROM_DIR / "rules.yml"
T = TypeVar("T")


def _required() -> bool:
    # the same switch as the Kafka/Redis stack (conftest.py): CI must not pass by skipping
    return bool(os.environ.get("CI")) or os.environ.get("WARNING_REQUIRE_STACK") == "1"


def _engine_metrics() -> Metrics:
    m = Metrics.create(CollectorRegistry())
    m.events_received.labels(channel="grid").inc(120)
    m.events_valid.labels(channel="grid").inc(118)
    m.events_dead_lettered.labels(channel="grid", reason="invalid_json").inc(2)
    m.alerts_emitted.labels(type="dynamic", level="red").inc()
    m.alert_latency.labels(type="dynamic").observe(0.4)
    m.consumer_lag.labels(topic="grid-reports").set(7)
    m.ingest_halted.labels(channel="grid").set(1)
    m.feed_pending.labels(level="red").set(2)
    m.thresholds_info.info({"version": "test-7", "digest": "0123456789ab", "path": "thresholds.toml"})
    return m


@contextmanager
def _serving(registry: CollectorRegistry) -> Iterator[str]:
    """Serve `registry` at /metrics on a free local port; yields host:port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = generate_latest(registry)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # the stdlib's signature
            """Keep scrapes out of the test output."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def engine() -> Metrics:
    """The registry Prometheus scrapes; tests may change values and watch the rules react."""
    return _engine_metrics()


@pytest.fixture(scope="module")
def prometheus(engine: Metrics, tmp_path_factory: pytest.TempPathFactory) -> Iterator[prom_mod.PrometheusServer]:
    """A running Prometheus scraping `engine` (and a dead target) every second."""
    if prom_mod.binary() is None:
        message = f"prometheus binary missing. {prom_mod.INSTALL_HINT}"
        if _required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    base = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    workdir = tmp_path_factory.mktemp("prometheus")
    with _serving(engine.registry) as target:
        dead = f"127.0.0.1:{free_port()}"
        config = prom_mod.local_config(base, [target, dead], [RULES])
        with prom_mod.PrometheusServer(config, workdir) as server:
            yield server


def _eventually(check: Callable[[], T | None], what: str, server: prom_mod.PrometheusServer, timeout: float = 30) -> T:
    """Poll until `check` returns something truthy (scrapes and evaluations run every second)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:g} s; prometheus log:\n{server.log_tail()}")
        time.sleep(0.5)


def _alert_names(path: Path) -> set[str]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {r["alert"] for g in spec["groups"] for r in g["rules"] if "alert" in r}


def test_the_engines_series_are_scraped(prometheus: prom_mod.PrometheusServer, engine: Metrics) -> None:
    def both_targets() -> list[dict[str, Any]] | None:
        ups = prometheus.query('up{job="warning-worker"}')
        return ups if len(ups) == 2 else None

    ups = _eventually(both_targets, "two scraped targets", prometheus)
    assert sorted(u["value"][1] for u in ups) == ["0", "1"]  # the engine, and the dead stand-in
    expected = {s.name for family in engine.registry.collect() for s in family.samples}
    scraped = {r["metric"]["__name__"] for r in prometheus.query('count by (__name__) ({__name__=~"warning_.+"})')}
    assert scraped == expected

    (grid,) = prometheus.query('warning_events_received_total{channel="grid"}')
    assert grid["metric"]["job"] == "warning-worker"
    assert float(grid["value"][1]) == 120
    (info,) = prometheus.query("warning_thresholds_info")
    assert info["metric"]["version"] == "test-7"
    (p99,) = prometheus.query("histogram_quantile(0.99, sum by (le) (warning_alert_latency_seconds_bucket))")
    assert 0.25 < float(p99["value"][1]) <= 0.5  # the one 0.4 s observation's bucket


def test_rule_files_load_and_evaluate_against_the_engines_metrics(
    prometheus: prom_mod.PrometheusServer, engine: Metrics
) -> None:
    def healthy_rules() -> list[dict[str, Any]] | None:
        groups = prometheus.api("rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return rules if rules and all(r["health"] == "ok" for r in rules) else None

    rules = _eventually(healthy_rules, "every rule evaluated without error", prometheus)
    assert {g["file"] for g in prometheus.api("rules")["groups"]} == {str(RULES.resolve())}
    assert {r["name"] for r in rules} == _alert_names(RULES)

    # a rejected reload after the first scrape: increase() > 0, and the rule has no `for:`
    _eventually(lambda: prometheus.query("warning_config_reloads_total"), "the reload counter scraped", prometheus)
    engine.config_reloads.labels(outcome="rejected").inc()

    def states() -> dict[str, str] | None:
        alerts = prometheus.api("alerts")["alerts"]
        found = {a["labels"]["alertname"]: a["state"] for a in alerts}
        return found if found.get("WarningThresholdsRejected") == "firing" else None

    found = _eventually(states, "WarningThresholdsRejected firing", prometheus)
    # rules with `for:` match these series (pending, or firing on a slow machine once `for:` has
    # passed): ingest halted on grid, the dead target, red alerts waiting
    active = {"pending", "firing"}
    assert found.get("WarningIngestHalted") in active
    assert found.get("WarningWorkerDown") in active
    assert found.get("WarningRedAlertUnacknowledged") in active
    # and nothing fires that these series do not call for
    assert set(found) == {
        "WarningThresholdsRejected",
        "WarningIngestHalted",
        "WarningWorkerDown",
        "WarningRedAlertUnacknowledged",
    }
