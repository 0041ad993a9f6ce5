"""In-memory twin of the Redis alert sink, for tests and the replay shell.

It keeps the same data model (records with versions, streams with ``<ms>-<seq>`` ids,
score-ordered indexes, occurrence marks, audit) and passes the same contract suite, so a test
against it says something about production. `fail_next` injects outages, the way a Redis
restart would look to the deliverer.

Occurrence marks expire after `occurrence_ttl` seconds of the injected clock, as Redis's
``SET ... EX`` marks do on the server's clock: a test that moves a `ManualClock` past the TTL
sees a replayed message applied again, exactly what production would do.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, timedelta

from warning.core.lifecycle import AlertRecord, AuditEntry
from warning.core.ports import Clock
from warning.core.routing import ApplyResult, Write
from warning.core.units import Hierarchy
from warning.delivery.clock import SystemClock
from warning.sinks.base import (
    PENDING_STATE_INDEXES,
    AlertStore,
    Pending,
    SinkUnavailableError,
    epoch,
    index_names,
)


class MemoryAlertSink(AlertStore):
    """`AlertStore` in dictionaries; one process, no persistence.

    `occurrence_ttl` (seconds) and `audit_maxlen` (0 = never trim) mean what they mean for
    `RedisAlertSink`; `clock` is what the marks expire against (inject the deliverer's).
    """

    def __init__(
        self,
        *,
        occurrence_ttl: int = 35 * 86400,
        audit_maxlen: int = 0,
        clock: Clock | None = None,
        hierarchy: Hierarchy | None = None,
    ) -> None:
        self.occurrence_ttl = occurrence_ttl
        self.hierarchy = hierarchy  # the district's own units: which unit indexes an alert joins
        self.audit_maxlen = audit_maxlen
        self.clock: Clock = clock or SystemClock()
        self.records: dict[str, AlertRecord] = {}
        self.feeds: defaultdict[str, list[tuple[str, dict[str, str]]]] = defaultdict(list)
        self.indexes: defaultdict[str, dict[str, float]] = defaultdict(dict)
        # occurrence -> expiry; insertion order is (nearly) expiry order, so pruning pops the front
        self.occurrences: dict[str, datetime] = {}
        self.audit_log: list[tuple[str, AuditEntry]] = []
        self.officers: dict[str, str] = {}
        self._seq = itertools.count(1)
        self._failures = 0

    def fail_next(self, n: int) -> None:
        """Make the next `n` calls raise `SinkUnavailableError` (an outage in a test)."""
        self._failures = n

    def _check(self) -> None:
        if self._failures > 0:
            self._failures -= 1
            raise SinkUnavailableError("memory sink: injected outage", retry_after=0.0)

    def _seen(self, occurrence: str) -> bool:
        """True while the occurrence's mark lives (expired marks are dropped on the way)."""
        now = self.clock.now()
        while self.occurrences:  # prune from the oldest so the dict does not grow forever
            first, expiry = next(iter(self.occurrences.items()))
            if expiry > now:
                break
            del self.occurrences[first]
        mark = self.occurrences.get(occurrence)
        return mark is not None and mark > now

    def _append_audit(self, entry: AuditEntry) -> str:
        entry_id = self._next_id()
        self.audit_log.append((entry_id, entry))
        if self.audit_maxlen > 0 and len(self.audit_log) > self.audit_maxlen:
            del self.audit_log[: len(self.audit_log) - self.audit_maxlen]
        return entry_id

    def _next_id(self) -> str:
        # Redis-like ids: increasing, comparable as (ms, seq); the counter keeps them unique.
        return f"0-{next(self._seq)}"

    async def load(self, alert_id: str) -> AlertRecord | None:
        """The stored record, or None."""
        self._check()
        return self.records.get(alert_id)

    async def apply(self, write: Write) -> ApplyResult:
        """Check-and-set, all or nothing (single-threaded, so trivially atomic)."""
        self._check()
        if write.occurrence is not None and self._seen(write.occurrence):
            return ApplyResult("duplicate")
        current = self.records.get(write.decision.record.alert_id)
        if (current.version if current else 0) != write.expected_version:
            return ApplyResult("conflict")
        record = write.decision.record
        ids = []
        for feed, fields in write.entries():
            entry_id = self._next_id()
            self.feeds[feed].append((entry_id, dict(fields)))
            ids.append(entry_id)
        old = index_names(write.prev, self.hierarchy) if write.prev else set()
        new = index_names(record, self.hierarchy)
        for name in old - new:
            self.indexes[name].pop(record.alert_id, None)
        for name in new:
            self.indexes[name][record.alert_id] = epoch(record.last_seen)
        if record.due_at is not None:
            self.indexes["due"][record.alert_id] = epoch(record.due_at)
        else:
            self.indexes["due"].pop(record.alert_id, None)
        for line in write.decision.audit:
            self._append_audit(line)
        self.records[record.alert_id] = record
        if write.occurrence is not None:
            self.occurrences.pop(write.occurrence, None)  # re-inserted last: keeps expiry order
            self.occurrences[write.occurrence] = self.clock.now() + timedelta(seconds=self.occurrence_ttl)
        return ApplyResult("applied", tuple(ids))

    async def due(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids with deadline <= now, oldest deadline first."""
        self._check()
        cutoff = epoch(now)
        items = sorted((s, i) for i, s in self.indexes["due"].items() if s <= cutoff)
        return [i for _, i in items[:limit]]

    async def index(self, name: str, since: datetime | None, limit: int) -> list[str]:
        """Ids in an index, newest first."""
        self._check()
        floor = epoch(since) if since else float("-inf")
        items = sorted(((s, i) for i, s in self.indexes[name].items() if s >= floor), reverse=True)
        return [i for _, i in items[:limit]]

    async def append_audit(self, entry: AuditEntry) -> str:
        """Append one audit line."""
        self._check()
        return self._append_audit(entry)

    async def audit(self, alert_id: str | None = None, count: int = 1000) -> list[AuditEntry]:
        """Newest `count` lines, oldest first."""
        self._check()
        lines = [e for _, e in self.audit_log if alert_id is None or e.alert_id == alert_id]
        return lines[-count:]

    async def feed(self, name: str, after: str = "-", count: int = 1000) -> list[tuple[str, dict[str, str]]]:
        """Entries after `after`, oldest first."""
        self._check()
        entries = self.feeds.get(name, [])
        if after != "-":
            floor = _id_key(after)
            entries = [e for e in entries if _id_key(e[0]) > floor]
        return entries[:count]

    async def feed_tail(self, name: str, count: int) -> list[tuple[str, dict[str, str]]]:
        """Newest `count` entries, oldest first."""
        self._check()
        return self.feeds.get(name, [])[-count:]

    async def pending(self) -> Pending:
        """From the unacknowledged states' indexes, like Redis (every record, no scan bound)."""
        self._check()
        ids = {i for name in PENDING_STATE_INDEXES for i in self.indexes[name]}
        return Pending.of((self.records[i].level, self.records[i].delivered_at) for i in ids if i in self.records)

    async def officer_unit(self, name: str) -> str | None:
        """Registered unit of an officer."""
        return self.officers.get(name)

    async def set_officer_unit(self, name: str, unit: str) -> None:
        """Register an officer's unit."""
        self.officers[name] = unit


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
