"""The production shell: Faust agents over a real Kafka broker (DESIGN.md §2).

Agents stay thin — decode, call the pure core, send, count — so replay runs the same core
and produces the same alerts. Three kinds of agent (modules beside this one):

* ingest (`warning.stream.ingest`), one per input topic: bytes -> `Event` on the key-space
  topics (``events`` by street; ``events-district`` and ``events-case`` when a detector of
  that key space wants it) or a dead letter; after every batch, in-band progress marks so the
  engines know how far each input partition has got (their watermark);
* one agent per key space (`warning.stream.detect`): every detector of the key space, through
  `warning.core.engine.Engine`, over a changelogged table written once per batch;
* the router (`warning.stream.route`) on ``alerts``: delivery to Redis is awaited before the
  batch is acknowledged, so an offset is committed only once its alert is in Redis.

No exception acks-and-loses a message or stops an agent: each agent catches per message, and
the message is dead-lettered with the reason or retried, by the rule written where it is caught.
Agents keep ``concurrency=1``: faust#606 loses messages under concurrency > 1.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

import faust
from prometheus_client import CollectorRegistry, generate_latest

from warning import logs
from warning.core.engine import Engine
from warning.core.health import Limits, Mark, Verdict, assess, stuck, watch
from warning.core.ingest import Pseudonymiser
from warning.core.ports import KeySpace
from warning.core.units import Hierarchy
from warning.metrics import STATE_OWNERS, Metrics, faust_sensors
from warning.pipeline import KEY_SPACES, Artefacts, build_detectors, build_engines, load_artefacts
from warning.settings import Settings
from warning.thresholds import Reloader, diff_summary
from warning.topics import INPUT_CHANNELS, Catalog, Role, TopicSpec, load_catalog
from warning.units_cli import configured_hierarchy

log = logs.get("stream")

KEY_SPACE_ROLES: dict[KeySpace, Role] = {"street": "events", "district": "events_district", "case": "events_case"}
BATCH_MAX = 500
BATCH_WITHIN = 0.05  # seconds a batch waits to fill: the latency a quiet stream pays


@dataclass
class Runtime:
    """Mutable runtime of the worker: the thresholds in force and the engines built from them."""

    settings: Settings
    catalog: Catalog
    metrics: Metrics
    reloader: Reloader
    pseudonymiser: Pseudonymiser
    artefacts: Artefacts
    sources: tuple[str, ...] = ()
    engines: dict[KeySpace, Engine] = field(default_factory=dict)
    progress: dict[str, float] = field(default_factory=dict)
    """Monotonic time of each agent's last processed batch (the health check reads it)."""
    lag: int = 0
    """Messages behind the log end on the partitions agents read, halted channels excepted (the
    lag timer sets it; changelogs, read only in recovery, are left out)."""
    marks: dict[str, Mark] = field(default_factory=dict)
    """Each assigned partition's read position and when it last moved (the lag timer sets them)."""
    halted: set[str] = field(default_factory=set)
    """Input topics an operator must look at (ingest paused them on purpose; not stuck)."""
    zone: tzinfo | None = None
    """The district's time zone (WARNING_TIMEZONE): ingest converts every time to it."""
    hierarchy: Hierarchy | None = None
    """The district's own units (WARNING_UNITS_FILE); None: the default Sxx-Cxx-Gxx layout."""
    deliverer: Any = None
    """The router's `Deliverer` (None without delivery): /healthz reads its `unreachable_since`."""
    tables: dict[KeySpace, Any] = field(default_factory=dict)
    """Each key space's state table (the state-size timer counts their entries)."""

    def rebuild(self) -> None:
        """(Re)build the engines from the thresholds in force; agents pick them up per batch.

        Agents exist for every key space whatever is enabled, so a reload can enable, disable
        or reconfigure detectors without restarting: a disabled detector's entries stay in the
        table untouched, an enabled one starts from empty state.
        """
        from warning.stream.timing import timed

        thresholds = self.reloader.current.thresholds
        detectors = timed(
            build_detectors(thresholds, self.artefacts), self.metrics.detector_seconds, self.metrics.case_score
        )
        engines = build_engines(detectors, thresholds)
        for engine in engines.values():
            engine.sources = self.sources
        self.engines = engines
        loaded = self.reloader.current
        self.metrics.thresholds_info.info(
            {"version": loaded.thresholds.version, "digest": loaded.digest, "path": str(loaded.path)}
        )
        model = self.artefacts.get("case_model")
        scoring = thresholds.case.enabled and model is not None
        self.metrics.case_model.info(
            {"version": str(model.version) if model is not None else "none", "scoring": "yes" if scoring else "no"}
        )

    def touch(self, agent: str) -> None:
        """Record that `agent` made progress."""
        self.progress[agent] = time.monotonic()


def input_sources(catalog: Catalog) -> tuple[str, ...]:
    """Every input partition's name, ``<topic>/<partition>``: the engines wait for all of them."""
    return tuple(
        f"{catalog.specs[role].name}/{p}" for role in INPUT_CHANNELS for p in range(catalog.specs[role].partitions)
    )


def key_space_spec(catalog: Catalog, ks: KeySpace) -> TopicSpec:
    """The topic of a key space."""
    return catalog.specs[KEY_SPACE_ROLES[ks]]


def create_app(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    deliverer_factory: Callable[[Runtime], Any] | None = None,
) -> tuple[faust.App, Runtime]:
    """Build the Faust app and its agents from settings, the topic catalogue and the thresholds."""
    from warning.stream import detect, ingest, route

    catalog = load_catalog(settings.topics_dir)
    runtime = Runtime(
        settings=settings,
        catalog=catalog,
        metrics=Metrics.create(registry or CollectorRegistry()),
        reloader=Reloader(settings.thresholds_file),
        pseudonymiser=Pseudonymiser(settings.pseudonym_key.get_secret_value().encode()),
        artefacts=load_artefacts(pattern_profile=settings.pattern_profile),
        sources=input_sources(catalog),
        zone=settings.zone(),
        hierarchy=configured_hierarchy(settings),
    )
    runtime.rebuild()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = _faust_app(settings, catalog)
    app.monitor = faust_sensors(runtime.metrics.registry)
    topics = {ks: _json_topic(app, catalog.specs[role]) for ks, role in KEY_SPACE_ROLES.items()}
    alerts_topic = _json_topic(app, catalog.alerts)
    dead_topic = app.topic(catalog.dead_letters.name, key_type=bytes, value_serializer="raw")
    ingest.register(app, runtime, topics, dead_topic)
    for ks in KEY_SPACES:
        detect.register(app, runtime, ks, topics[ks], alerts_topic, dead_topic, topics)
    if deliverer_factory is not None:
        route.register(app, runtime, alerts_topic, dead_topic, deliverer_factory(runtime))
    _register_timers(app, runtime)
    _register_pages(app, runtime)
    return app, runtime


def _faust_app(settings: Settings, catalog: Catalog) -> faust.App:
    return faust.App(
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
        # commit on an interval, not every N messages: each commit waits for a producer flush
        broker_commit_every=100_000,
        broker_commit_interval=1.0,
        stream_wait_empty=False,
        table_standby_replicas=settings.table_standby_replicas,
        broker_session_timeout=settings.broker_session_timeout,
        broker_heartbeat_interval=min(3.0, settings.broker_session_timeout / 3),
        # a small fetch per partition keeps the input partitions close in event time while a
        # backlog is read (the engines wait for the slowest; smaller fetches = smaller buffers)
        consumer_max_fetch_size=256 * 1024,
        # let the producer batch: one request per partition every 5 ms instead of one per record
        producer_linger=0.005,
        # state entries are bounded (reorder chunks, dedupe shards) but a detector's entry may
        # exceed the 1 MB default; the changelogs accept as much (detect.CHANGELOG_CONFIG)
        producer_max_request_size=4 * 1024 * 1024,
        web_tables_enabled=False,
    )


def _json_topic(app: faust.App, spec: TopicSpec) -> Any:
    return app.topic(spec.name, key_type=bytes, value_serializer="json", partitions=spec.partitions)


def _register_timers(app: faust.App, runtime: Runtime) -> None:
    metrics = runtime.metrics

    @app.timer(interval=5.0)  # type: ignore[untyped-decorator]  # faust's timer decorator is untyped
    async def reload_thresholds() -> None:
        """Hot reload: a bad edit is logged and counted, the running thresholds stay."""
        old = runtime.reloader.current.thresholds
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
            new = runtime.reloader.current.thresholds
            log.info("thresholds_applied", version=new.version, changes=diff_summary(old, new))

    @app.timer(interval=10.0)  # type: ignore[untyped-decorator]  # faust's timer decorator is untyped
    async def measure_lag() -> None:
        """Consumer lag per topic, internal topics included (a bounded label set: topic names).

        Health reads only the topics an agent consumes: a changelog partition is read during
        recovery and then never again, so its "lag" is the worker's own later writes.
        """
        consumer = app.consumer
        consumed = {spec.name for spec in runtime.catalog.specs.values()} - runtime.halted
        try:
            ends = await _log_ends(consumer, consumed)
            lags, readings = lag_readings(consumer, consumed, ends)
            for topic_name, lag in lags.items():
                metrics.consumer_lag.labels(topic=topic_name).set(lag)
            runtime.lag = sum(max(0, high - position) for position, high in readings.values())
            # Faust pauses fetching on purpose while it rebalances or recovers tables
            settling = bool(getattr(app, "rebalancing", False) or getattr(app, "in_recovery", False))
            runtime.marks = {} if settling else watch(runtime.marks, readings, time.monotonic())
        except Exception:
            log.debug("lag_measure_failed")

    @app.timer(interval=10.0)  # type: ignore[untyped-decorator]  # faust's timer decorator is untyped
    async def measure_health() -> None:
        """The /healthz verdict as a gauge: Prometheus alerts where no orchestrator restarts on it."""
        metrics.healthy.set(1 if health(runtime, time.monotonic()).ok else 0)

    @app.timer(interval=60.0)  # type: ignore[untyped-decorator]  # faust's timer decorator is untyped
    async def measure_state() -> None:
        """Entries per detector over this worker's table partitions (a full key scan: once a minute)."""
        try:
            counts = await count_state(runtime.tables.values())
        except RuntimeError:  # the memory store's dict changed under the scan: next minute
            return
        except Exception:
            log.debug("state_measure_failed")
            return
        for owner in {*STATE_OWNERS, *counts}:
            metrics.state_entries.labels(detector=owner).set(counts.get(owner, 0))


async def count_state(tables: Any, chunk: int = 5000) -> dict[str, int]:
    """Entries per owner over `tables`, yielding to the loop every `chunk` keys (agents keep running)."""
    from warning.stream.timing import state_entries

    total: dict[str, int] = {}
    for table in tables:
        keys: list[Any] = []
        for key in table:  # its keys (a Faust table iterates like a dict)
            keys.append(key)
            if len(keys) >= chunk:
                _add(total, state_entries(keys))
                keys.clear()
                await asyncio.sleep(0)
        _add(total, state_entries(keys))
    return total


def _add(total: dict[str, int], more: Any) -> None:
    for k, v in more.items():
        total[k] = total.get(k, 0) + v


def _register_pages(app: faust.App, runtime: Runtime) -> None:
    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(runtime.metrics.registry), content_type="text/plain; version=0.0.4")

    @app.page("/healthz")
    async def health_page(web: Any, request: Any) -> Any:
        verdict = health(runtime, time.monotonic())
        body = {
            "ok": verdict.ok,
            "reasons": list(verdict.reasons),
            "thresholds": runtime.reloader.current.thresholds.version,
            **verdict.detail,
        }
        return web.json(body, status=200 if verdict.ok else 503)


def lag_readings(
    consumer: Any, consumed: set[str], ends: Mapping[Any, int] | None = None
) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """Lag per topic (every assigned one), and `topic/partition -> (position, end)` of `consumed`.

    `ends` are log-end offsets asked of the broker: the fetcher's highwater is known only for
    a partition it has fetched, so a partition never fetched after a rebalance (faust#629,
    the very one to report) would otherwise have no reading at all.
    """
    lags: dict[str, int] = {}
    readings: dict[str, tuple[int, int]] = {}
    for tp, position, high in _positions(consumer, ends or {}):
        lags[tp.topic] = lags.get(tp.topic, 0) + max(0, high - position)
        if tp.topic in consumed:
            readings[f"{tp.topic}/{tp.partition}"] = (position, high)
    return lags, readings


async def _log_ends(consumer: Any, consumed: set[str]) -> Mapping[Any, int]:
    """Log-end offsets of the consumed partitions from the broker; {} (fetcher's highwater) if it is slow."""
    watched = [tp for tp in consumer.assignment() if tp.topic in consumed]
    try:
        return await asyncio.wait_for(consumer.highwaters(*watched), 5.0) if watched else {}
    except Exception:
        return {}


def _positions(consumer: Any, ends: Mapping[Any, int]) -> Iterator[tuple[Any, int, int]]:
    """Each assigned partition with the next offset this worker will read and the log end.

    Faust has no public read position: the later of its last read offset and its committed
    offset (the next to read) is what it has consumed.
    """
    read_offsets = getattr(consumer, "_read_offset", {})
    committed = getattr(consumer, "_committed_offset", {})
    for tp in consumer.assignment():
        high = ends.get(tp, consumer.highwater(tp))
        if high is not None:
            yield tp, max((read_offsets.get(tp) or -1) + 1, committed.get(tp) or 0), high


def health(runtime: Runtime, now: float) -> Verdict:
    """The /healthz verdict (`warning.core.health.assess`) from the runtime's readings at `now`.

    Stalled consumer (faust#175: lag > 0, no batch for WARNING_HEALTH_STALL_SECONDS), a stuck
    partition (faust#629: messages waiting, position unmoved for as long) or Redis
    out of the router's reach for WARNING_HEALTH_REDIS_SECONDS: the process lives, nothing
    useful happens, so an orchestrator restarts the worker on the 503.
    """
    settings = runtime.settings
    return assess(
        now,
        lag=runtime.lag,
        last_progress=max(runtime.progress.values(), default=None),
        redis_down_since=getattr(runtime.deliverer, "unreachable_since", None),
        limits=Limits(settings.health_stall_seconds, settings.health_redis_seconds),
        stuck_partitions=stuck(runtime.marks, now, settings.health_stall_seconds),
    )


def run_worker(settings: Settings, deliver: bool = True) -> None:
    """Run the worker until SIGINT/SIGTERM (the `warning worker` command)."""
    logs.configure(settings.log_level, settings.log_json)
    factory = _deliverer_factory(settings) if deliver else None
    app, _ = create_app(settings, deliverer_factory=factory)
    worker = _Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()


class _Worker(faust.Worker):
    """Faust's worker, with repeated connection errors rate-limited on the handlers it installs."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        logs.install_rate_limit(logger)


def _deliverer_factory(settings: Settings) -> Callable[[Runtime], Any]:
    """The router's deliverer; an import error here must stop the worker, not start it without one."""
    from warning.delivery.router import build_deliverer

    return lambda runtime: build_deliverer(settings, runtime.reloader, runtime.metrics)
