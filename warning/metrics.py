"""Every Prometheus metric of the engine, created against an injected registry.

One factory so names, units and label sets are decided in one place; tests build a fresh
`CollectorRegistry()` each. Labels are bounded enumerations (channel, topic, type, level,
reason, outcome) and are pre-created so dashboards show zeros instead of gaps. Never label by
person, case or grid id: that is both a cardinality bomb and a privacy leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from warning.core.ingest import REASONS
from warning.core.taxonomy import ALERT_TYPES, CHANNELS, LEVELS

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
DETECTORS = ("dynamic", "pattern", "pattern_district", "case", "relational")
"""Every detector's `name` (the ``detector`` label); tests check `build_detectors` against it."""
STATE_OWNERS = (*DETECTORS, "engine")
"""``warning_state_entries`` labels: the detectors and the engine's own entries (clock, buffer, dedupe)."""
FAUST_PREFIX = "faust"
"""Name prefix of Faust's own sensor metrics: fixed, not the app id, so dashboards survive a rename."""


@dataclass(frozen=True)
class Metrics:
    """The engine's metrics (the core reports through return values, never through these)."""

    registry: CollectorRegistry
    events_received: Counter
    events_valid: Counter
    events_dead_lettered: Counter
    events_out: Counter
    alerts_emitted: Counter
    alert_latency: Histogram
    consumer_lag: Gauge
    redis_write_errors: Counter
    redis_retries: Counter
    delivery_backlog: Gauge
    feed_pending: Gauge
    feed_oldest_pending_age: Gauge
    ack_latency: Histogram
    config_reloads: Counter
    thresholds_info: Info
    ingest_halted: Gauge
    late_events: Counter
    events_applied: Counter
    duplicate_events: Counter
    detector_failures: Counter
    batch_seconds: Histogram
    state_writes: Counter
    reorder_pending: Gauge
    detector_seconds: Histogram
    state_entries: Gauge
    case_model: Info
    case_score: Histogram
    healthy: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> Metrics:
        """Create and register every metric on `registry`."""
        m = cls(
            registry=registry,
            events_received=Counter(
                "warning_events_received_total", "Input records read, by channel.", ["channel"], registry=registry
            ),
            events_valid=Counter(
                "warning_events_valid_total", "Input records normalised into events.", ["channel"], registry=registry
            ),
            events_dead_lettered=Counter(
                "warning_events_dead_lettered_total",
                "Input records sent to the dead-letter topic, by reason.",
                ["channel", "reason"],
                registry=registry,
            ),
            events_out=Counter(
                "warning_messages_out_total", "Messages produced, by topic.", ["topic"], registry=registry
            ),
            alerts_emitted=Counter(
                "warning_alerts_total", "Alerts raised by detectors.", ["type", "level"], registry=registry
            ),
            alert_latency=Histogram(
                "warning_alert_latency_seconds",
                "Event received by Kafka until its alert is in Redis.",
                ["type"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            consumer_lag=Gauge(
                "warning_consumer_lag_messages", "Messages behind the log end, by topic.", ["topic"], registry=registry
            ),
            redis_write_errors=Counter("warning_redis_write_errors_total", "Failed Redis writes.", registry=registry),
            redis_retries=Counter("warning_redis_retries_total", "Redis write retries.", registry=registry),
            delivery_backlog=Gauge(
                "warning_delivery_backlog_alerts", "Alerts waiting for Redis to accept them.", registry=registry
            ),
            feed_pending=Gauge(
                "warning_feed_pending_entries",
                "Feed entries delivered but not acknowledged.",
                ["level"],
                registry=registry,
            ),
            feed_oldest_pending_age=Gauge(
                "warning_feed_oldest_pending_age_seconds", "Age of the oldest unacknowledged alert.", registry=registry
            ),
            ack_latency=Histogram(
                "warning_ack_latency_seconds",
                "Alert delivered until acknowledged by a duty officer.",
                ["level"],
                buckets=(30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400),
                registry=registry,
            ),
            config_reloads=Counter(
                "warning_config_reloads_total", "Thresholds file reloads.", ["outcome"], registry=registry
            ),
            thresholds_info=Info("warning_thresholds", "Thresholds file in force.", registry=registry),
            ingest_halted=Gauge(
                "warning_ingest_halted",
                "1 while a channel's ingest is paused because too much of it was dead-lettered.",
                ["channel"],
                registry=registry,
            ),
            events_applied=Counter(
                "warning_events_applied_total",
                "Events the detectors of a key space have applied (in event-time order, once each).",
                ["key_space"],
                registry=registry,
            ),
            late_events=Counter(
                "warning_late_events_total",
                "Events older than the reorder bound: applied out of order and reported on the next alert.",
                ["key_space"],
                registry=registry,
            ),
            duplicate_events=Counter(
                "warning_duplicate_events_total",
                "Redelivered events (same event_id) applied only once.",
                ["key_space"],
                registry=registry,
            ),
            detector_failures=Counter(
                "warning_detector_failures_total",
                "Events a detector raised on (rolled back, dead-lettered with the traceback summary).",
                ["detector"],
                registry=registry,
            ),
            batch_seconds=Histogram(
                "warning_detector_batch_seconds",
                "Processing time of one batch of events by the detectors of a key space.",
                ["key_space"],
                buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
                registry=registry,
            ),
            state_writes=Counter(
                "warning_state_writes_total",
                "State entries written to the changelog (dirty entries, once per batch).",
                ["key_space"],
                registry=registry,
            ),
            reorder_pending=Gauge(
                "warning_reorder_pending_events",
                "Events waiting in the reorder buffers for the slowest input to catch up.",
                ["key_space"],
                registry=registry,
            ),
            detector_seconds=Histogram(
                "warning_detector_seconds",
                "Processing time of one detector call (an event's update for one key, or a message).",
                ["detector"],
                buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25),
                registry=registry,
            ),
            state_entries=Gauge(
                "warning_state_entries",
                "Table entries held by each detector (and the engine) on this worker's partitions.",
                ["detector"],
                registry=registry,
            ),
            case_model=Info(
                "warning_case_model", "Case-model artefact the case detector scores with.", registry=registry
            ),
            healthy=Gauge(
                "warning_healthy",
                "1 while /healthz answers 200; 0 while it answers 503 (stalled consumer, Redis out of reach).",
                registry=registry,
            ),
            case_score=Histogram(
                "warning_case_score",
                "Case-model score of a case after each of its events (calibrated probability, 0-1).",
                buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0),
                registry=registry,
            ),
        )
        m._precreate()
        return m

    def _precreate(self) -> None:
        for ch in CHANNELS:
            self.events_received.labels(channel=ch)
            self.events_valid.labels(channel=ch)
            self.ingest_halted.labels(channel=ch).set(0)
            for reason in REASONS:
                self.events_dead_lettered.labels(channel=ch, reason=reason)
        for t in ALERT_TYPES:
            self.alert_latency.labels(type=t)
            for lv in LEVELS:
                self.alerts_emitted.labels(type=t, level=lv)
        for lv in LEVELS:
            self.feed_pending.labels(level=lv)
            self.ack_latency.labels(level=lv)
        for ks in ("street", "district", "case"):
            self.late_events.labels(key_space=ks)
            self.events_applied.labels(key_space=ks)
            self.duplicate_events.labels(key_space=ks)
            self.batch_seconds.labels(key_space=ks)
            self.state_writes.labels(key_space=ks)
            self.reorder_pending.labels(key_space=ks).set(0)
        for outcome in ("applied", "rejected"):
            self.config_reloads.labels(outcome=outcome)
        for name in DETECTORS:
            self.detector_seconds.labels(detector=name)
        for owner in STATE_OWNERS:
            self.state_entries.labels(detector=owner).set(0)
        self.healthy.set(1)


def faust_metrics(registry: CollectorRegistry) -> Any:
    """Faust's own sensor metrics (``faust_*``, a `faust.sensors.prometheus.FaustMetrics`) on `registry`.

    Its labels are topic, partition, stream, table, operation, metric name and HTTP status
    code: bounded by our own topics, tables and pages, never by a record's content.
    """
    from faust.sensors.prometheus import FaustMetrics

    return FaustMetrics.create(registry, FAUST_PREFIX)


def faust_sensors(registry: CollectorRegistry) -> Any:
    """A Faust monitor (``app.monitor``) that records into `faust_metrics(registry)`.

    faust.sensors.prometheus's `setup_prometheus_sensors` would add a second /metrics page and
    prefix the names with the app id; this keeps one page and one fixed prefix.
    """
    from faust.sensors.prometheus import PrometheusMonitor

    return PrometheusMonitor(metrics=faust_metrics(registry))
