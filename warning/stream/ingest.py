"""Ingest agents: input bytes -> events on the key-space topics, or a dead letter with the reason.

After each batch the agent sends a progress mark per input partition it read — the latest
event time ingested and whether the partition is caught up — to every partition of every
key-space topic. The marks travel in-band, after the events they cover, so each engine knows
how far every input has got without asking the broker; it releases events only up to the
slowest input that still has data (DESIGN.md §6). A timer marks idle inputs as caught up,
so a channel with no traffic never holds the others back.

A batch ends only once the broker acknowledged its events and dead letters (`sending`):
Faust's commit after `producer.flush()` does not check that a send succeeded.

A channel whose recent input is mostly bad is paused (not crashed: a crash would loop on
restart) until an operator looks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import faust

from warning import logs
from warning.core.errors import InvalidEvent
from warning.core.events import Event
from warning.core.ingest import DeadLetter, DeadLetterLimit, ingest, received_from_kafka_ms
from warning.core.ports import KeySpace
from warning.stream.app import BATCH_MAX, BATCH_WITHIN, Runtime, key_space_spec
from warning.stream.sending import Sent, all_acked, send
from warning.topics import INPUT_CHANNELS

log = logs.get("stream.ingest")

PUNCT_KEY = b"~punct"
Mark = tuple[float | None, bool]


def received_at(message: Any) -> datetime:
    """Kafka's message timestamp (producer create time, seconds in Faust) as the time received.

    `received_from_kafka_ms` never raises (year 10000, negative, absent): ingest then judges
    the record and dead-letters it with the reason instead of the shell dropping it.
    """
    ts = message.timestamp
    return received_from_kafka_ms(None if ts is None else float(ts) * 1000.0)


def punctuation(marks: Mapping[str, Mark]) -> dict[str, Any]:
    """The value of a progress record: ``{"punctuation": {source: [time, caught_up], ...}}``."""
    return {"punctuation": {source: [t, caught_up] for source, (t, caught_up) in marks.items()}}


def register(app: faust.App, runtime: Runtime, topics: Mapping[KeySpace, Any], dead_topic: Any) -> None:
    """One ingest agent per input topic, and the idle-input timer."""
    last_offset: dict[str, int] = {}
    marked: dict[str, Mark] = {}  # the last mark sent per input partition
    for role, channel in INPUT_CHANNELS.items():
        spec = runtime.catalog.specs[role]
        topic = app.topic(spec.name, key_type=bytes, value_type=bytes, value_serializer="raw", key_serializer="raw")
        _register_channel(app, runtime, channel, topic, topics, dead_topic, last_offset, marked)

    @app.timer(interval=1.0)  # type: ignore[untyped-decorator]  # faust's timer decorator is untyped
    async def mark_idle_inputs() -> None:
        """Inputs with nothing left to read are caught up: say so, once, so no engine waits on them."""
        try:
            await _mark_idle(app, runtime, topics, last_offset, marked)
        except Exception:
            log.debug("idle_marks_failed")


def _register_channel(
    app: faust.App,
    runtime: Runtime,
    channel: str,
    topic: Any,
    topics: Mapping[KeySpace, Any],
    dead_topic: Any,
    last_offset: dict[str, int],
    marked: dict[str, Mark],
) -> None:
    section = runtime.reloader.current.thresholds.ingest
    limit = DeadLetterLimit(section.dead_letter_halt_ratio, section.dead_letter_halt_min_messages)
    name = f"ingest-{channel}"

    async def ingest_agent(stream: Any) -> None:
        async for batch in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
            marks: dict[str, Mark] = {}
            sent: list[Sent] = []
            for ev in batch:
                message = ev.message
                source = f"{message.topic}/{message.partition}"
                _check_offset(source, last_offset.get(source), message.offset, _committed(app, message.tp))
                t = await _ingest_one(app, runtime, channel, topic, message, topics, dead_topic, limit, sent)
                high = app.consumer.highwater(message.tp)
                old = marks.get(source, marked.get(source, (None, False)))[0]
                newest = t if old is None or (t is not None and t > old) else old
                marks[source] = (newest, high is not None and message.offset + 1 >= high)
                last_offset[source] = message.offset
            await all_acked(sent)  # before the marks that say these events are in, and before the ack
            await _send_marks(runtime, topics, marks, marked)
            runtime.touch(name)

    app.agent(topic, name=name)(ingest_agent)


def _committed(app: faust.App, tp: Any) -> int | None:
    committed: dict[Any, int | None] = getattr(app.consumer, "_committed_offset", {})  # no public accessor
    return committed.get(tp)


def _check_offset(source: str, previous: int | None, offset: int, committed: int | None) -> None:
    """Log where this worker resumed an input, and any offsets it skipped over.

    Nothing should ever be skipped (at-least-once): a gap here is a record the engine never
    saw, which accounting would otherwise find only as a missing event much later. Offsets
    going back are redelivery after a rebalance or restart, which is expected.
    """
    if previous is None:
        level = logging.WARNING if committed is not None and offset > committed else logging.INFO
        log.log(level, "input_resumed", source=source, offset=offset, committed=committed)
    elif offset > previous + 1:
        log.warning("input_offset_gap", source=source, after=previous, offset=offset)


async def _ingest_one(
    app: faust.App,
    runtime: Runtime,
    channel: str,
    topic: Any,
    message: Any,
    topics: Mapping[KeySpace, Any],
    dead_topic: Any,
    limit: DeadLetterLimit,
    sent: list[Sent],
) -> float | None:
    """Ingest one record, its outputs added to `sent`; its event time (epoch s), or None when dead-lettered."""
    metrics = runtime.metrics
    raw: bytes = message.value if isinstance(message.value, bytes) else bytes(message.value or b"")
    received = received_at(message)
    metrics.events_received.labels(channel=channel).inc()
    try:
        thresholds = runtime.reloader.current.thresholds
        limits = thresholds.ingest.limits(runtime.zone, runtime.hierarchy)
        event = ingest(channel, raw, received, runtime.pseudonymiser, limits)  # type: ignore[arg-type]
    except InvalidEvent as exc:
        letter = DeadLetter(exc.reason, exc.detail, message.topic, message.partition, message.offset, received, raw)
        sent.append(await send_dead_letter(runtime, dead_topic, letter, channel))
        if limit.record(True):
            await _halt_channel(app, runtime, channel, topic)
        return None
    except Exception as exc:  # the rule: anything else ingest raises is a bad record too, kept with the reason
        detail = f"{type(exc).__name__}: {exc}"[:500]
        letter = DeadLetter("schema", detail, message.topic, message.partition, message.offset, received, raw)
        sent.append(await send_dead_letter(runtime, dead_topic, letter, channel))
        return None
    limit.record(False)
    sent.extend(await _forward(runtime, event, topics))
    metrics.events_valid.labels(channel=channel).inc()
    return event.occurred_at.timestamp()


async def _forward(runtime: Runtime, event: Event, topics: Mapping[KeySpace, Any]) -> list[Sent]:
    """The event to every key space: ``events`` always, the others when one of their detectors wants it."""
    value = event.to_dict()
    sent: list[Sent] = []
    for ks, topic in topics.items():
        engine = runtime.engines.get(ks)
        if ks == "street":
            key = event.location.street
        else:
            keys = [k for d in engine.detectors for k in d.keys(event)] if engine else []
            if not keys:
                continue  # no detector of this key space wants it
            key = keys[0]
        sent.append(await send(topic, key.encode(), value))
        runtime.metrics.events_out.labels(topic=topic.get_topic_name()).inc()
    return sent


async def send_dead_letter(runtime: Runtime, dead_topic: Any, letter: DeadLetter, channel: str) -> Sent:
    """Write a dead letter and count it (ingest and the detector agents share this).

    Returns the send, for the caller to wait for its acknowledgement (`sending.all_acked`)
    before its batch ends: a dead letter is kept, never acked-and-lost.
    """
    key = letter.source_topic.encode()
    value = json.dumps(letter.to_dict(), ensure_ascii=False).encode()
    out = await send(dead_topic, key, value)
    if channel:
        runtime.metrics.events_dead_lettered.labels(channel=channel, reason=letter.reason).inc()
    runtime.metrics.events_out.labels(topic=dead_topic.get_topic_name()).inc()
    log.warning(
        "dead_lettered", channel=channel, reason=letter.reason, partition=letter.partition, offset=letter.offset
    )
    return out


async def _send_marks(
    runtime: Runtime, topics: Mapping[KeySpace, Any], marks: Mapping[str, Mark], sent: dict[str, Mark]
) -> None:
    """One progress record with every changed input partition, to each partition of each key-space topic."""
    changed = {source: mark for source, mark in marks.items() if sent.get(source) != mark}
    if not changed:
        return
    value = punctuation(changed)
    for ks, topic in topics.items():
        if ks != "street" and ks not in runtime.engines:
            continue
        for partition in range(key_space_spec(runtime.catalog, ks).partitions):
            await topic.send(key=PUNCT_KEY, value=value, partition=partition)
    sent.update(changed)


async def _mark_idle(
    app: faust.App,
    runtime: Runtime,
    topics: Mapping[KeySpace, Any],
    last_offset: Mapping[str, int],
    sent: dict[str, Mark],
) -> None:
    inputs = {runtime.catalog.specs[role].name for role in INPUT_CHANNELS}
    tps = [tp for tp in app.consumer.assignment() if tp.topic in inputs]
    if not tps:
        return
    highs = await app.consumer.highwaters(*tps)
    committed = getattr(app.consumer, "_committed_offset", {})  # faust keeps it; no public accessor
    marks: dict[str, Mark] = {}
    for tp in tps:
        source = f"{tp.topic}/{tp.partition}"
        done = last_offset[source] + 1 if source in last_offset else (committed.get(tp) or 0)
        if highs.get(tp) is not None and done >= highs[tp]:
            marks[source] = (sent.get(source, (None, False))[0], True)
    await _send_marks(runtime, topics, marks, sent)


async def _halt_channel(app: faust.App, runtime: Runtime, channel: str, topic: Any) -> None:
    """Pause one channel's partitions; the rest of the engine keeps working."""
    tps = [tp for tp in app.consumer.assignment() if tp.topic == topic.get_topic_name()]
    app.consumer.pause_partitions(tps)
    runtime.halted.add(topic.get_topic_name())
    runtime.metrics.ingest_halted.labels(channel=channel).set(1)
    log.critical(
        "ingest_halted",
        channel=channel,
        action="Operator action: most recent input of this channel was dead-lettered; inspect the dead-letters "
        "topic, fix the producer, then restart the worker to resume.",
    )
