"""The production shell: Faust agents over a real Kafka broker (DESIGN.md §2).

Agents stay thin — decode, call the pure core, send, count — so the replay shell can run the
same core and produce the same alerts. Three kinds of agent:

* ingest, one per input topic: bytes -> `Event` on ``events`` or a dead letter with the reason
  and the original bytes on ``dead-letters``; a channel whose input turns mostly bad is paused
  (not crashed: a crash would loop on restart) until an operator looks;
* one detector agent per detector: ``events`` re-keyed with ``group_by(detector.key)`` so the
  detector's state table is co-partitioned with its stream; state is JSON in a changelogged
  table; alerts go to ``alerts`` keyed by alert_id;
* the router agent on ``alerts``: delivery to Redis is awaited before the next message, and
  Faust flushes produced messages and commits offsets only after the agent has moved on, so
  an offset is committed only once its alert is in Redis (at-least-once end to end).

Agents keep ``concurrency=1``: faust#606 loses messages under concurrency > 1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
from prometheus_client import CollectorRegistry, generate_latest

from warning import logs
from warning.core.errors import InvalidEvent
from warning.core.events import Event
from warning.core.ingest import DeadLetter, DeadLetterLimit, Pseudonymiser, ingest
from warning.core.ports import Detector
from warning.metrics import Metrics
from warning.pipeline import build_detectors
from warning.settings import Settings
from warning.thresholds import Reloader
from warning.topics import INPUT_CHANNELS, Catalog, load_catalog

log = logs.get("stream")


@dataclass
class Runtime:
    """Mutable runtime of the worker: the thresholds in force and the detectors built from them."""

    settings: Settings
    catalog: Catalog
    metrics: Metrics
    reloader: Reloader
    pseudonymiser: Pseudonymiser
    detectors: dict[str, Detector] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def rebuild(self) -> None:
        """(Re)build detectors from the thresholds in force."""
        self.detectors = {d.name: d for d in build_detectors(self.reloader.current.thresholds)}
        loaded = self.reloader.current
        self.metrics.thresholds_info.info(
            {"version": loaded.thresholds.version, "digest": loaded.digest, "path": str(loaded.path)}
        )


def _received_at(message: Any) -> datetime:
    """Kafka's message timestamp (producer create time) as the time the engine received it."""
    return datetime.fromtimestamp(float(message.timestamp), UTC)


def create_app(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    deliverer_factory: Callable[[Runtime], Any] | None = None,
) -> tuple[faust.App, Runtime]:
    """Build the Faust app and its agents from settings, the topic catalogue and the thresholds."""
    catalog = load_catalog(settings.topics_dir)
    metrics = Metrics.create(registry or CollectorRegistry())
    runtime = Runtime(
        settings=settings,
        catalog=catalog,
        metrics=metrics,
        reloader=Reloader(settings.thresholds_file),
        pseudonymiser=Pseudonymiser(settings.pseudonym_key.get_secret_value().encode()),
    )
    runtime.rebuild()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store=settings.store,
        datadir=str(settings.data_dir / settings.app_id),
        topic_partitions=catalog.events.partitions,
        topic_replication_factor=catalog.events.replication_factor,
        web_port=settings.web_port,
        web_host=settings.bind_host,
        web_bind=settings.bind_host,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        broker_commit_every=100,
        broker_commit_interval=1.0,
        stream_wait_empty=False,
        table_standby_replicas=0,
        broker_session_timeout=settings.broker_session_timeout,
        broker_heartbeat_interval=min(3.0, settings.broker_session_timeout / 3),
        web_tables_enabled=False,
    )

    events_topic = app.topic(
        catalog.events.name, key_type=bytes, value_serializer="json", partitions=catalog.events.partitions
    )
    alerts_topic = app.topic(
        catalog.alerts.name, key_type=bytes, value_serializer="json", partitions=catalog.alerts.partitions
    )
    dead_topic = app.topic(catalog.dead_letters.name, key_type=bytes, value_serializer="raw")

    for role, channel in INPUT_CHANNELS.items():
        spec = catalog.specs[role]
        topic = app.topic(spec.name, key_type=bytes, value_type=bytes, value_serializer="raw", key_serializer="raw")
        _register_ingest(app, runtime, channel, topic, events_topic, dead_topic)

    for name in list(runtime.detectors):
        _register_detector(app, runtime, name, events_topic, alerts_topic)

    if deliverer_factory is not None:
        _register_router(app, runtime, alerts_topic, deliverer_factory(runtime))

    @app.timer(interval=5.0)  # type: ignore[untyped-decorator]  # faust's timer decorator is untyped
    async def reload_thresholds() -> None:
        """Hot reload: a bad edit is logged and counted, the running thresholds stay."""
        try:
            changed = runtime.reloader.poll()
        except Exception:
            log.exception("thresholds_poll_failed")
            return
        if runtime.reloader.last_error:
            metrics.config_reloads.labels(outcome="rejected").inc()
            log.error("thresholds_rejected", error=runtime.reloader.last_error)
            runtime.reloader.last_error = None
        elif changed:
            runtime.rebuild()
            metrics.config_reloads.labels(outcome="applied").inc()
            log.info("thresholds_applied", version=runtime.reloader.current.thresholds.version)

    @app.timer(interval=10.0)  # type: ignore[untyped-decorator]  # faust's timer decorator is untyped
    async def measure_lag() -> None:
        """Consumer lag per topic (log end minus next offset to read), a bounded label set."""
        consumer = app.consumer
        try:
            lags: dict[str, int] = {}
            for tp in consumer.assignment():
                read = getattr(consumer, "_read_offset", {}).get(tp)  # faust has no public read position
                high = consumer.highwater(tp)
                if high is None:
                    continue
                lags[tp.topic] = lags.get(tp.topic, 0) + max(0, high - ((read or -1) + 1))
            for topic_name, lag in lags.items():
                if not topic_name.startswith(settings.app_id):
                    metrics.consumer_lag.labels(topic=topic_name).set(lag)
        except Exception:
            log.debug("lag_measure_failed")

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(metrics.registry), content_type="text/plain; version=0.0.4")

    @app.page("/healthz")
    async def health_page(web: Any, request: Any) -> Any:
        return web.json({"ok": True, "thresholds": runtime.reloader.current.thresholds.version})

    return app, runtime


def _register_ingest(
    app: faust.App, runtime: Runtime, channel: Any, topic: Any, events_topic: Any, dead_topic: Any
) -> None:
    metrics = runtime.metrics
    section = runtime.reloader.current.thresholds.ingest
    limit = DeadLetterLimit(section.dead_letter_halt_ratio, section.dead_letter_halt_min_messages)

    async def ingest_agent(stream: Any) -> AsyncIterator[None]:
        async for ev in stream.events():
            message = ev.message
            raw: bytes = message.value if isinstance(message.value, bytes) else bytes(message.value or b"")
            received_at = _received_at(message)
            metrics.events_received.labels(channel=channel).inc()
            try:
                event = ingest(
                    channel,
                    raw,
                    received_at,
                    runtime.pseudonymiser,
                    runtime.reloader.current.thresholds.ingest.limits(),
                )
            except InvalidEvent as exc:
                letter = DeadLetter(
                    exc.reason, exc.detail, message.topic, message.partition, message.offset, received_at, raw
                )
                await dead_topic.send(
                    key=message.topic.encode(), value=json.dumps(letter.to_dict(), ensure_ascii=False).encode()
                )
                metrics.events_dead_lettered.labels(channel=channel, reason=exc.reason).inc()
                metrics.events_out.labels(topic=dead_topic.get_topic_name()).inc()
                log.warning(
                    "dead_lettered",
                    channel=channel,
                    reason=exc.reason,
                    partition=message.partition,
                    offset=message.offset,
                )
                if limit.record(True):
                    await _halt_channel(app, runtime, channel, topic)
                continue
            limit.record(False)
            await events_topic.send(key=event.location.grid_id.encode(), value=event.to_dict())
            metrics.events_valid.labels(channel=channel).inc()
            metrics.events_out.labels(topic=events_topic.get_topic_name()).inc()
            yield None

    app.agent(topic, name=f"ingest-{channel}")(ingest_agent)


async def _halt_channel(app: faust.App, runtime: Runtime, channel: str, topic: Any) -> None:
    """Pause one channel's partitions; the rest of the engine keeps working."""
    tps = [tp for tp in app.consumer.assignment() if tp.topic == topic.get_topic_name()]
    app.consumer.pause_partitions(tps)
    runtime.metrics.ingest_halted.labels(channel=channel).set(1)
    log.critical(
        "ingest_halted",
        channel=channel,
        action="Operator action: most recent input of this channel was dead-lettered; inspect the dead-letters "
        "topic, fix the producer, then restart the worker to resume.",
    )


def _register_detector(app: faust.App, runtime: Runtime, name: str, events_topic: Any, alerts_topic: Any) -> None:
    metrics = runtime.metrics
    table = app.Table(
        f"state-{name}",
        default=None,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
        partitions=runtime.catalog.events.partitions,
    )

    def key_of(value: dict[str, Any]) -> str:
        return runtime.detectors[name].key(Event.from_dict(value))

    async def detector_agent(stream: Any) -> AsyncIterator[None]:
        async for value in stream.group_by(key_of, name=f"by-{name}"):
            detector = runtime.detectors[name]
            event = Event.from_dict(value)
            key = detector.key(event)
            state = table.get(key)
            if state is None:  # same rule as the replay shell: an empty state is still a state
                state = detector.init_state()
            state, alerts = detector.update(state, event, event.occurred_at)
            table[key] = state
            for alert in alerts:
                await alerts_topic.send(key=alert.alert_id.encode(), value=alert.to_dict())
                metrics.alerts_emitted.labels(type=alert.type, level=alert.level).inc()
                metrics.events_out.labels(topic=alerts_topic.get_topic_name()).inc()
            yield None

    app.agent(events_topic, name=f"detect-{name}")(detector_agent)


def _register_router(app: faust.App, runtime: Runtime, alerts_topic: Any, deliverer: Any) -> None:
    from warning.core.events import Alert

    async def router_agent(stream: Any) -> AsyncIterator[None]:
        async for ev in stream.events():
            alert = Alert.from_dict(ev.value)
            # returns only once Redis has the alert (retrying with backoff meanwhile), so the
            # offset of this message cannot be committed before delivery
            await deliverer.handle(alert, received_at=_received_at(ev.message))
            yield None

    app.agent(alerts_topic, name="router")(router_agent)

    @app.timer(interval=15.0, on_leader=True)  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def escalate() -> None:
        try:
            await deliverer.escalate_due()
        except Exception:
            log.exception("escalation_failed")

    # on the leader only, like escalation: the gauges describe Redis, not this worker, so one
    # worker reports them (the others keep 0; dashboards take max/sum over workers)
    @app.timer(interval=15.0, on_leader=True)  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def measure_pending() -> None:
        try:
            await deliverer.measure_pending(runtime.metrics)
        except Exception:
            log.exception("pending_measure_failed")


def run_worker(settings: Settings, deliver: bool = True) -> None:
    """Run the worker until SIGINT/SIGTERM (the `warning worker` command)."""
    logs.configure(settings.log_level, settings.log_json)
    factory = _deliverer_factory(settings) if deliver else None
    app, _ = create_app(settings, deliverer_factory=factory)
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()


def _deliverer_factory(settings: Settings) -> Callable[[Runtime], Any] | None:
    try:
        from warning.delivery.router import build_deliverer
    except ImportError:
        return None
    return lambda runtime: build_deliverer(settings, runtime.reloader, runtime.metrics)


_ = asyncio
