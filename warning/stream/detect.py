"""Key-space agents: every detector of one key space, through the engine, over one table.

Per batch (`stream.take_events`): events are grouped by partition; each partition's engine
gets its events and progress marks in log order through a `TableKV`; the dirty entries are
written once; then the alerts go to ``alerts``, the failures to ``dead-letters`` and the
messages for other key spaces to their topics. Faust acknowledges the batch only after this
body returns, and commits offsets only after the producer has flushed what the body sent, so
a crash before that replays the batch — which the engine's dedupe by ``event_id`` absorbs.

Outputs before state: the state entries are written only once the broker has acknowledged
every alert, dead letter and message the partition's share of the batch produced. A crash in
between replays the batch against the old state and re-emits the same alerts (event-time
``created_at``: the router's occurrence mark makes them no-ops). The other order can lose an
alert: a SIGKILL after the changelog records reached the broker but before the alert did
leaves state that says "seen", the replayed events are dropped as duplicates and the alert
is never sent (found by reading the agent for bench/bench_faults.py's worker_sigkill).

The rule for errors: a detector that raises is the engine's business (rolled back, the event
dead-lettered with the traceback summary); a message that is not an event is dead-lettered
here; a failure to send is retried until it succeeds (never acked and lost).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import faust

from warning import logs
from warning.core import excerpts
from warning.core.engine import Engine, Failure, Report
from warning.core.events import Event
from warning.core.ports import KeySpace, Message
from warning.stream.app import BATCH_MAX, BATCH_WITHIN, Runtime, key_space_spec
from warning.stream.ingest import received_at, send_dead_letter
from warning.stream.kv import TableKV
from warning.stream.sending import Sent, all_acked, send

log = logs.get("stream.detect")

CHANGELOG_CONFIG = {
    # compact often: a restore then reads about one record per live entry, not every write
    "segment.ms": "600000",
    "min.cleanable.dirty.ratio": "0.1",
    "delete.retention.ms": "3600000",
    "max.message.bytes": str(4 * 1024 * 1024),
}


def register(
    app: faust.App,
    runtime: Runtime,
    ks: KeySpace,
    topic: Any,
    alerts_topic: Any,
    dead_topic: Any,
    topics: Mapping[KeySpace, Any],
) -> None:
    """The agent of key space `ks` and its state table."""
    table = app.Table(
        f"state-{ks}",
        default=None,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
        partitions=key_space_spec(runtime.catalog, ks).partitions,
        extra_topic_configs=CHANGELOG_CONFIG,
    )
    runtime.tables[ks] = table
    name = f"detect-{ks}"

    async def keyspace_agent(stream: Any) -> None:
        async for batch in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
            started = time.perf_counter()
            engine = runtime.engines.get(ks)
            for partition, events in _by_partition(batch).items():
                await handle_partition(
                    runtime, engine, table, ks, partition, events, (alerts_topic, dead_topic, topics)
                )
            runtime.metrics.batch_seconds.labels(key_space=ks).observe(time.perf_counter() - started)
            runtime.touch(name)

    app.agent(topic, name=name)(keyspace_agent)


def _by_partition(batch: list[Any]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for ev in batch:
        out.setdefault(ev.message.partition, []).append(ev)
    return out


async def handle_partition(
    runtime: Runtime,
    engine: Engine | None,
    table: Any,
    ks: KeySpace,
    partition: int,
    events: list[Any],
    outputs: tuple[Any, Any, Mapping[KeySpace, Any]],
) -> None:
    """One partition's share of a batch: engine, then outputs (acknowledged), then state (module doc)."""
    kv = TableKV(table, partition)
    report = _process(runtime, engine, kv, ks, events) if engine else Report()
    report.alerts = [_with_excerpts(_stamp_received(a, events), events) for a in report.alerts]
    alerts_topic, dead_topic, topics = outputs
    await _emit(runtime, ks, report, alerts_topic, dead_topic, topics, events[-1])
    written = kv.flush(events[-1])
    runtime.metrics.state_writes.labels(key_space=ks).inc(written)


def _process(runtime: Runtime, engine: Engine, kv: TableKV, ks: KeySpace, events: list[Any]) -> Report:
    """One partition's share of a batch through the engine; its writes stay in `kv` until flushed."""
    report = Report()
    for ev in events:
        value = ev.value
        if isinstance(value, dict) and "punctuation" in value:
            for source, (t, caught_up) in value["punctuation"].items():
                report.extend(engine.punctuate(kv, str(source), t, bool(caught_up)))
            continue
        if isinstance(value, dict) and "message" in value:
            m = value["message"]
            report.extend(engine.deliver(kv, Message(ks, str(m["key"]), str(m["kind"]), dict(m["payload"]))))
            continue
        try:
            event = Event.from_dict(value)
        except Exception as exc:  # not an event (a foreign producer): keep it, say why
            report.failures.append(_not_an_event(value, exc))
            continue
        report.extend(engine.offer(kv, event, data=value))  # progress comes as marks, not per event
    metrics = runtime.metrics
    metrics.late_events.labels(key_space=ks).inc(report.late)
    metrics.events_applied.labels(key_space=ks).inc(report.applied)
    metrics.duplicate_events.labels(key_space=ks).inc(report.duplicates)
    metrics.reorder_pending.labels(key_space=ks).set(engine.pending(kv))
    return report


def _stamp_received(alert: Any, events: list[Any]) -> Any:
    """Carry the triggering record's broker time, so the router measures latency end to end."""
    wanted = set(alert.evidence)
    for ev in reversed(events):
        value = ev.value
        if isinstance(value, dict) and value.get("event_id") in wanted:
            return replace(alert, details={**alert.details, "received_at": value.get("received_at")})
    return alert


def _with_excerpts(alert: Any, events: list[Any]) -> Any:
    """Scrubbed excerpts of the evidence events in this batch (`warning.core.excerpts`) on the alert."""
    found = excerpts.for_evidence(alert.evidence, (ev.value for ev in events if isinstance(ev.value, dict)))
    return replace(alert, excerpts=excerpts.merge(alert.excerpts, found)) if found else alert


def _not_an_event(value: Any, exc: Exception) -> Failure:
    payload = value if isinstance(value, dict) else {"value": repr(value)[:2000]}
    return Failure("engine", payload, f"not an event: {type(exc).__name__}: {exc}"[:500], "")


async def _emit(
    runtime: Runtime,
    ks: KeySpace,
    report: Report,
    alerts_topic: Any,
    dead_topic: Any,
    topics: Mapping[KeySpace, Any],
    last: Any,
) -> None:
    """Send the report's outputs and return once the broker acknowledged every one of them."""
    metrics = runtime.metrics
    sent: list[Sent] = []
    for alert in report.alerts:
        sent.append(await send(alerts_topic, alert.alert_id.encode(), alert.to_dict()))
        metrics.alerts_emitted.labels(type=alert.type, level=alert.level).inc()
        metrics.events_out.labels(topic=alerts_topic.get_topic_name()).inc()
    for failure in report.failures:
        m = last.message
        stamped = replace(
            failure.dead_letter(),
            source_topic=m.topic,
            partition=m.partition,
            offset=m.offset,
            received_at=received_at(m),
        )
        metrics.detector_failures.labels(detector=failure.detector).inc()
        sent.append(await send_dead_letter(runtime, dead_topic, stamped, ""))
    for message in report.messages:
        target = topics.get(message.key_space)
        if target is not None:
            value = {"message": {"kind": message.kind, "key": message.key, "payload": dict(message.payload)}}
            sent.append(await send(target, message.key.encode(), value))
    await all_acked(sent)
