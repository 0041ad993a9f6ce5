"""The one "get state, update, put back" loop, shared by the stream shell, replay and the tools.

An `Engine` runs every detector of one key space over one partition's key-value store. It owns
what no detector should re-implement (DESIGN.md §6):

* **event-time order** — events wait in a reorder buffer until the partition's watermark
  (latest event time seen minus the bounded lateness) passes them, then go to the detectors in
  ``(occurred_at, channel, source_ref, event_id)`` order, so a backlog, a catch-up or a bulk
  export within the bound gives the same alerts as live arrival;
* **late events** — one older than what was already released is still applied (counted
  where possible), counted, and reported on the next alert as ``details.late_events``;
* **idempotence** — an ``event_id`` seen before (a redelivery after a crash) is applied once;
* **isolation** — a detector that raises on an event has that update rolled back and the
  failure returned, so the shell dead-letters the event with the reason; the other detectors
  and the following events go on.

State layout in the store (keys are strings; values JSON):
``<detector>|<key>|<entry>`` detector entries; ``~clock`` ``[max_seen, released]`` epoch
seconds; ``~src`` ``{source: [latest event time, caught_up]}`` per input partition; ``~buf``
the reorder buffer's chunks in order, ``[[first sort key, chunk id], ...]``, ``~buf/<id>`` a
chunk's rows ``[t, channel rank, source_ref, event_id, event_dict]`` (at most `CHUNK_ROWS`) and
``~bufn`` the last chunk id; ``~seen`` the hours with dedupe entries and
``~seen/<hour>/<shard>`` event ids of that hour; ``~late`` late events not yet reported on an
alert.
"""

from __future__ import annotations

import bisect
import json
import math
import traceback
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from warning.core import excerpts
from warning.core.events import Alert, Event
from warning.core.ingest import DeadLetter
from warning.core.ports import JSON, Detector, KeySpace, Message
from warning.core.taxonomy import CHANNELS

_RANK = {c: i for i, c in enumerate(CHANNELS)}
_DELETED = object()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK_ROWS = 32
SEEN_SHARDS = 16


class KV(Protocol):
    """A partition's flat key-value store (a Faust table behind a batch cache, or a dict)."""

    def get(self, key: str) -> JSON | None:
        """The value, or None when absent."""
        ...

    def put(self, key: str, value: JSON) -> None:
        """Set the value."""
        ...

    def delete(self, key: str) -> None:
        """Remove the key."""
        ...


class DictKV:
    """A KV over a plain dict (replay, tests, tools)."""

    def __init__(self, data: dict[str, JSON] | None = None) -> None:
        self.data: dict[str, JSON] = {} if data is None else data
        if type(self) is DictKV:  # (a subclass's own get/put win)
            # the dict's own methods, bound once: replay calls these millions of times
            self.get = self.data.get  # type: ignore[method-assign,assignment]  # same behaviour, no Python frame
            self.put = self.data.__setitem__  # type: ignore[method-assign,assignment]  # same behaviour, no Python frame

    def get(self, key: str) -> JSON | None:
        """The value, or None."""
        return self.data.get(key)

    def put(self, key: str, value: JSON) -> None:
        """Set the value."""
        self.data[key] = value

    def delete(self, key: str) -> None:
        """Remove the key."""
        self.data.pop(key, None)


class _Scoped:
    """A detector's view of one key: writes are staged and applied only if the update succeeds."""

    __slots__ = ("_kv", "_prefix", "staged")

    def __init__(self, kv: KV, detector: str, key: str) -> None:
        self._kv = kv
        self._prefix = f"{detector}|{key}|"
        self.staged: dict[str, Any] = {}

    def get(self, entry: str) -> JSON | None:
        value = self.staged.get(entry)
        if value is None:
            return self._kv.get(self._prefix + entry)
        return None if value is _DELETED else value

    def put(self, entry: str, value: JSON) -> None:
        self.staged[entry] = value

    def delete(self, entry: str) -> None:
        self.staged[entry] = _DELETED

    def commit(self) -> None:
        for entry, value in self.staged.items():
            if value is _DELETED:
                self._kv.delete(self._prefix + entry)
            else:
                self._kv.put(self._prefix + entry, value)


@dataclass(frozen=True, slots=True)
class Failure:
    """A detector raised on an event: the shell dead-letters the event with this reason."""

    detector: str
    event: Mapping[str, Any]
    error: str
    trace: str

    def dead_letter(self) -> DeadLetter:
        """The event kept with the reason, as both shells write it to the dead-letter topic."""
        raw = json.dumps(self.event, ensure_ascii=False, default=str).encode("utf-8")
        detail = f"{self.detector}: {self.error}\n{self.trace}"[-2000:]
        return DeadLetter("detector_error", detail, "events", -1, -1, _EPOCH, raw)


@dataclass(slots=True)
class Report:
    """What the engine did for one call: everything a shell must send, count or dead-letter."""

    alerts: list[Alert] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    applied: int = 0
    late: int = 0
    duplicates: int = 0

    def extend(self, other: Report) -> None:
        """Fold another report into this one."""
        self.alerts += other.alerts
        self.messages += other.messages
        self.failures += other.failures
        self.applied += other.applied
        self.late += other.late
        self.duplicates += other.duplicates


def _sort_key(event: Event) -> tuple[float, int, str, str]:
    return (event.occurred_at.timestamp(), _RANK.get(event.channel, 9), event.source_ref, event.event_id)


class Engine:
    """All detectors of one key space, over one partition's store (see the module docstring).

    `sources` names every input partition that feeds this key space (``hotline-calls/0`` ...);
    with it the watermark is the slowest source's progress (in-band punctuation from ingest,
    `punctuate`), without it (replay: one sorted input) the latest event time seen.
    """

    def __init__(
        self,
        key_space: KeySpace,
        detectors: Sequence[Detector],
        lateness: timedelta = timedelta(minutes=10),
        dedupe_horizon: timedelta = timedelta(days=2),
        sources: Sequence[str] = (),
    ) -> None:
        self.key_space = key_space
        self.detectors = [d for d in detectors if d.key_space == key_space]
        self.lateness = lateness.total_seconds()
        self.horizon = dedupe_horizon.total_seconds()
        self.sources = tuple(sources)
        self._decoded: dict[str, Event] = {}

    def wants(self, event: Event) -> bool:
        """Does any detector of this key space take the event (so ingest forwards it)?"""
        return any(d.keys(event) for d in self.detectors)

    def offer(
        self, kv: KV, event: Event, source: str = "", caught_up: bool = False, data: JSON | None = None
    ) -> Report:
        """Take one event: dedupe, buffer, release what the watermark now passes.

        `source` and `caught_up` say which input partition it came from and whether that
        partition had nothing more to read; `data` is the event's dict when the shell has it
        (saves encoding it again for the buffer).
        """
        report = Report()
        t = event.occurred_at.timestamp()
        if source:
            self._note_source(kv, source, t, caught_up)
        if not self._first_sighting(kv, event):
            report.duplicates += 1
            return report
        seen_max, released = _clock(kv)
        if released is not None and t < released:
            report.late += 1
            kv.put("~late", int(kv.get("~late") or 0) + 1)
            self._apply(kv, event, report)
            return report
        seen_max = t if seen_max is None else max(seen_max, t)
        kv.put("~clock", [seen_max, released])
        if not kv.get("~buf") and t <= self.watermark(kv):  # nothing waits, nothing earlier can come
            kv.put("~clock", [seen_max, t if released is None else max(released, t)])
            self._apply(kv, event, report)
            return report
        self._buffer(kv, event, data)
        report.extend(self.advance(kv, self.watermark(kv)))
        return report

    def punctuate(self, kv: KV, source: str, time: float | None, caught_up: bool) -> Report:
        """An input partition's progress (ingest sends it in-band): release what it allows."""
        self._note_source(kv, source, time, caught_up)
        return self.advance(kv, self.watermark(kv))

    def watermark(self, kv: KV) -> float:
        """Event time (epoch s) up to which every event has arrived, less the lateness bound."""
        if not self.sources:
            seen_max = _clock(kv)[0]
            return -math.inf if seen_max is None else seen_max - self.lateness
        progress: dict[str, list[Any]] = kv.get("~src") or {}
        lows = []
        for source in self.sources:
            time, caught_up = progress.get(source, (None, False))
            lows.append(math.inf if caught_up else (-math.inf if time is None else time))
        return min(lows) - self.lateness

    def advance(self, kv: KV, watermark: float) -> Report:
        """Release buffered events at or before `watermark` (epoch seconds), in order."""
        report = Report()
        index: list[list[Any]] = list(kv.get("~buf") or [])
        ready: list[list[Any]] = []
        while index and index[0][0][0] <= watermark:
            chunk = f"~buf/{index[0][1]}"
            rows: list[list[Any]] = kv.get(chunk) or []
            cut = bisect.bisect_right(rows, watermark, key=lambda r: r[0])
            ready += rows[:cut]
            if cut < len(rows):
                kv.put(chunk, rows[cut:])
                index[0] = [rows[cut][:4], index[0][1]]
                break
            kv.delete(chunk)
            index.pop(0)
        if not ready:
            return report
        kv.put("~buf", index)
        seen_max, released = _clock(kv)
        kv.put("~clock", [seen_max, ready[-1][0] if released is None else max(released, ready[-1][0])])
        for row in ready:
            event = self._decoded.pop(row[3], None) or Event.from_dict(row[4])
            self._apply(kv, event, report)
        return report

    def drain(self, kv: KV) -> Report:
        """Release the whole buffer (end of a replay)."""
        return self.advance(kv, math.inf)

    def deliver(self, kv: KV, message: Message) -> Report:
        """Hand a message from another key space to this key's detectors."""
        report = Report()
        for detector in self.detectors:
            store = _Scoped(kv, detector.name, message.key)
            try:
                outcome = detector.receive(store, message.key, message)
            except Exception as exc:  # isolation: one bad message must not stop the key space
                report.failures.append(Failure(detector.name, dict(message.payload), repr(exc), _trace(exc)))
                continue
            store.commit()
            report.alerts += outcome.alerts
            report.messages += outcome.messages
        return report

    def pending(self, kv: KV) -> int:
        """Events waiting in the reorder buffer."""
        return sum(len(kv.get(f"~buf/{chunk}") or []) for _, chunk in kv.get("~buf") or [])

    def _buffer(self, kv: KV, event: Event, data: JSON | None) -> None:
        """Insert in order into the chunk whose range holds the event; split chunks that grow.

        Chunks of at most `CHUNK_ROWS` rows keep every entry far below the broker's message
        size, however many events share one hour (a flood, an export with one timestamp).
        """
        key = list(_sort_key(event))
        row = [*key, event.to_dict() if data is None else data]
        index: list[list[Any]] = list(kv.get("~buf") or [])
        if not index:
            index = [[key, self._new_chunk(kv)]]
        at = max(0, bisect.bisect_right(index, key, key=lambda c: c[0]) - 1)
        chunk_id = index[at][1]
        rows: list[list[Any]] = list(kv.get(f"~buf/{chunk_id}") or [])
        if any(r[3] == event.event_id for r in rows):
            return  # buffered before a crash cut the flush short of its dedupe mark (`stream.kv`)
        bisect.insort(rows, row, key=lambda r: (r[0], r[1], r[2], r[3]))
        index[at] = [rows[0][:4], chunk_id]
        if len(rows) > CHUNK_ROWS:
            half = len(rows) // 2
            new_id = self._new_chunk(kv)
            kv.put(f"~buf/{new_id}", rows[half:])
            index.insert(at + 1, [rows[half][:4], new_id])
            rows = rows[:half]
        kv.put(f"~buf/{chunk_id}", rows)
        kv.put("~buf", index)
        if len(self._decoded) > 200_000:  # a cache, not state: a rebalance may strand entries
            self._decoded.clear()
        self._decoded[event.event_id] = event

    def _new_chunk(self, kv: KV) -> int:
        n = int(kv.get("~bufn") or 0) + 1
        kv.put("~bufn", n)
        return n

    def _note_source(self, kv: KV, source: str, time: float | None, caught_up: bool) -> None:
        progress: dict[str, list[Any]] = dict(kv.get("~src") or {})
        old = progress.get(source, [None, False])
        best = old[0] if time is None else (time if old[0] is None else max(old[0], time))
        if [best, caught_up] != list(old):
            progress[source] = [best, caught_up]
            kv.put("~src", progress)

    def _apply(self, kv: KV, event: Event, report: Report) -> None:
        report.applied += 1
        for detector in self.detectors:
            for key in detector.keys(event):
                store = _Scoped(kv, detector.name, key)
                try:
                    outcome = detector.update(store, key, event)
                except Exception as exc:  # the rule: roll back, report, carry on (module docstring)
                    report.failures.append(Failure(detector.name, event.to_dict(), repr(exc), _trace(exc)))
                    continue
                store.commit()
                if outcome.alerts:  # (most updates raise none: no ~late read for them)
                    report.alerts += [excerpts.attach(a, event) for a in self._stamp_late(kv, outcome.alerts)]
                report.messages += outcome.messages

    def _stamp_late(self, kv: KV, alerts: Iterable[Alert]) -> list[Alert]:
        alerts = list(alerts)
        late = kv.get("~late")
        if not alerts or not late:
            return alerts
        kv.delete("~late")
        first = alerts[0]
        return [replace(first, details={**first.details, "late_events": int(late)}), *alerts[1:]]

    def _first_sighting(self, kv: KV, event: Event) -> bool:
        """Record the event id in its hour's shard; False if it was there already.

        Each hour is split into `SEEN_SHARDS` entries by a hash of the id, so a flood of one
        hour stays in small entries; hours older than the horizon are dropped whole.
        """
        hour = int(event.occurred_at.timestamp() // 3600)
        shard = zlib.crc32(event.event_id.encode()) % SEEN_SHARDS
        bucket_key = f"~seen/{hour}/{shard}"
        bucket: list[str] = kv.get(bucket_key) or []
        if event.event_id in bucket:
            return False
        kv.put(bucket_key, [*bucket, event.event_id])
        hours: list[int] = kv.get("~seen") or []
        if hour not in hours:
            hours = sorted([*hours, hour])
            oldest = hours[-1] - int(self.horizon // 3600)
            for old in [h for h in hours if h < oldest]:
                for n in range(SEEN_SHARDS):
                    kv.delete(f"~seen/{old}/{n}")
            kv.put("~seen", [h for h in hours if h >= oldest])
        return True


def _clock(kv: KV) -> tuple[float | None, float | None]:
    """(latest event time seen, latest event time released), epoch seconds."""
    clock = kv.get("~clock")
    if not clock:
        return None, None
    return clock[0], clock[1]


def _trace(exc: BaseException) -> str:
    """The last frames of a traceback, short enough for a dead letter."""
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-4)
    return "".join(frames)[-2000:]


class Pipeline:
    """Every key space's engine over in-process stores: replay, the tools and the tests.

    The stream shell runs the same engines over Faust tables, one partition at a time; here
    each key space has one store, and messages between key spaces are delivered at once.
    """

    def __init__(self, engines: Mapping[KeySpace, Engine], kvs: Mapping[KeySpace, KV] | None = None) -> None:
        self.engines = dict(engines)
        self.kvs: dict[KeySpace, KV] = {ks: DictKV() for ks in self.engines}
        self.kvs.update(kvs or {})

    def feed(self, event: Event) -> Report:
        """Offer one event to every key space that wants it."""
        report = Report()
        for ks, engine in self.engines.items():
            if engine.wants(event):
                report.extend(engine.offer(self.kvs[ks], event))
        return self._deliver(report)

    def finish(self) -> Report:
        """Drain every reorder buffer (end of input)."""
        report = Report()
        for ks, engine in self.engines.items():
            report.extend(engine.drain(self.kvs[ks]))
        return self._deliver(report)

    def _deliver(self, report: Report) -> Report:
        pending, report.messages = report.messages, []
        while pending:
            message = pending.pop(0)
            engine = self.engines.get(message.key_space)
            if engine is None:
                continue  # no detector of that key space is enabled: nothing to tell
            more = engine.deliver(self.kvs[message.key_space], message)
            pending += more.messages
            more.messages = []
            report.extend(more)
        return report
