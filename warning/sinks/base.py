"""The alert store interface shared by the Redis sink and its in-memory twin.

One abstract class, two backends, one contract suite (tests/contract/test_sinks.py), after
arroyo's local backends: whatever the memory twin does in a test, Redis does in production.

Key scheme (prefix ``warning:`` by default; tests use their own prefix):

=================================  ========================================================
``warning:feed:<feed>``            stream per desk: unit code, ``dept:<code>`` or ``all``
``warning:alert:<alert_id>``       hash: current `AlertRecord` (`AlertRecord.to_fields`)
``warning:idx:<index>``            sorted sets of alert ids scored by last_seen (epoch s):
                                   ``all``, ``unit:<unit or ancestor or dept feed>``,
                                   ``type:<t>``, ``level:<l>``, ``state:<s>``
``warning:idx:due``                sorted set of unacknowledged alerts scored by ack deadline
``warning:occ:<occurrence>``       marker of an applied alert message (expires)
``warning:audit``                  append-only audit stream (never trimmed by default)
``warning:officers``               hash officer login -> unit scope (`warning.delivery.acl`)
=================================  ========================================================

The prefix is ``WARNING_REDIS_PREFIX`` (`warning.settings.Settings.redis_prefix`), so two
districts can share one Redis and tests can isolate their keys.

The audit stream is deliberately never trimmed: it is the append-only record of who did what
to which alert (reference/domain.md §4 "可查询、可追溯"), and dropping its head would erase
exactly the evidence an inquiry asks for. Only when ``[delivery] audit_maxlen`` is set above
0 (the default, "never") is it capped, approximately, like the feeds; archive it first.

"Pending" (`AlertStore.pending`) means delivered to a desk but not acknowledged yet: the
alerts in the ``state:new``, ``state:escalated`` and ``state:reopened`` indexes
(`warning.core.lifecycle.UNACKNOWLEDGED`).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from warning.core import units
from warning.core.errors import Backpressure
from warning.core.lifecycle import UNACKNOWLEDGED, AlertRecord, AuditEntry
from warning.core.routing import DEPT_PREFIX, ApplyResult, Write
from warning.core.taxonomy import LEVELS

DEFAULT_PREFIX = "warning:"
QUERY_SCAN_LIMIT = 5000
"""History queries filter at most this many newest candidates from one index (bounded work)."""


PENDING_STATE_INDEXES = tuple(sorted(f"state:{s}" for s in UNACKNOWLEDGED))
"""The indexes whose union is the set of delivered-but-unacknowledged alerts."""


@dataclass(frozen=True, slots=True)
class Pending:
    """Delivered but unacknowledged alerts: how many per current level, and since when.

    `oldest_delivered_at` is the earliest `AlertRecord.delivered_at` (wall clock of the
    delivery at the current level) among them, None when nothing is pending.
    """

    counts: Mapping[str, int]
    oldest_delivered_at: datetime | None = None

    @property
    def total(self) -> int:
        """Pending alerts of every level."""
        return sum(self.counts.values())

    @classmethod
    def of(cls, records: Iterable[tuple[str, datetime]]) -> Pending:
        """Summary of (level, delivered_at) pairs; every level is present, zeros included."""
        counts: dict[str, int] = dict.fromkeys(LEVELS, 0)
        oldest: datetime | None = None
        for level, delivered_at in records:
            counts[level] = counts.get(level, 0) + 1
            if oldest is None or delivered_at < oldest:
                oldest = delivered_at
        return cls(counts, oldest)


class SinkUnavailableError(Backpressure):
    """The store cannot be reached right now; the write did not happen and may be retried."""


def ancestors(unit: str, h: units.Hierarchy | None = None) -> list[str]:
    """The unit and every unit above it, up to the district (in the district's own units if loaded)."""
    chain = [unit]
    while unit != units.DISTRICT:
        unit = units.parent(unit, h)
        chain.append(unit)
    return chain


def index_names(record: AlertRecord, h: units.Hierarchy | None = None) -> set[str]:
    """The query indexes an alert belongs to (its territory's units, departments, type, ...)."""
    names = {"all", f"type:{record.alert.type}", f"level:{record.level}", f"state:{record.state}"}
    if units.is_unit(record.alert.unit, h):
        names.update(f"unit:{u}" for u in ancestors(record.alert.unit, h))
    names.update(f"unit:{f}" for f in record.feeds if f.startswith(DEPT_PREFIX))
    return names


def epoch(t: datetime) -> float:
    """Sort score of a time."""
    return t.timestamp()


class AlertStore(abc.ABC):
    """Async store of routed alerts: records, feeds, indexes, audit (see the module key scheme).

    Every backend has `occurrence_ttl` (seconds an occurrence mark lives) and `audit_maxlen`
    (approximate cap of the audit stream; 0 = never trim), settable after construction.
    """

    occurrence_ttl: int
    audit_maxlen: int

    @abc.abstractmethod
    async def load(self, alert_id: str) -> AlertRecord | None:
        """The stored record, or None."""

    @abc.abstractmethod
    async def apply(self, write: Write) -> ApplyResult:
        """Atomically: refuse a seen occurrence (duplicate) or a changed record (conflict);
        else write record, feed entries, indexes, audit lines and the occurrence mark."""

    @abc.abstractmethod
    async def due(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids of unacknowledged alerts whose ack deadline is at or before `now`, oldest first."""

    @abc.abstractmethod
    async def index(self, name: str, since: datetime | None, limit: int) -> list[str]:
        """Alert ids in index `name` (see `index_names`), newest last_seen first."""

    @abc.abstractmethod
    async def append_audit(self, entry: AuditEntry) -> str:
        """Append one audit line outside any alert write (e.g. a read of person-level details)."""

    @abc.abstractmethod
    async def audit(self, alert_id: str | None = None, count: int = 1000) -> list[AuditEntry]:
        """The newest `count` audit lines (oldest first), optionally only one alert's."""

    @abc.abstractmethod
    async def feed(self, name: str, after: str = "-", count: int = 1000) -> list[tuple[str, dict[str, str]]]:
        """Feed entries (id, fields) after id `after` (exclusive; "-" = from the start)."""

    @abc.abstractmethod
    async def feed_tail(self, name: str, count: int) -> list[tuple[str, dict[str, str]]]:
        """The newest `count` entries of a feed, oldest first."""

    @abc.abstractmethod
    async def pending(self) -> Pending:
        """Delivered but unacknowledged alerts by current level, and the oldest delivery time.

        Answered from the ``state:<s>`` indexes (no full scan of alerts), so it is cheap enough
        for a timer every few seconds.
        """

    @abc.abstractmethod
    async def officer_unit(self, name: str) -> str | None:
        """The unit scope registered for an officer login (`warning.delivery.acl`), or None."""

    @abc.abstractmethod
    async def set_officer_unit(self, name: str, unit: str) -> None:
        """Register an officer's unit scope."""

    async def close(self) -> None:
        """Release connections."""
        return None

    async def load_many(self, ids: Iterable[str]) -> list[AlertRecord]:
        """Records for ids that still exist, in the given order."""
        out: list[AlertRecord] = []
        for alert_id in ids:
            rec = await self.load(alert_id)
            if rec is not None:
                out.append(rec)
        return out

    async def query(
        self,
        *,
        unit: str | None = None,
        type: str | None = None,
        level: str | None = None,
        state: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> list[AlertRecord]:
        """History query, newest first: candidates from the most selective index, then filtered."""
        primary = (
            f"unit:{unit}"
            if unit
            else f"state:{state}"
            if state
            else f"level:{level}"
            if level
            else f"type:{type}"
            if type
            else "all"
        )
        ids = await self.index(primary, since, QUERY_SCAN_LIMIT)
        out: list[AlertRecord] = []
        for start in range(0, len(ids), 100):
            for rec in await self.load_many(ids[start : start + 100]):
                if (type and rec.alert.type != type) or (level and rec.level != level):
                    continue
                if state and rec.state != state:
                    continue
                out.append(rec)
                if len(out) >= limit:
                    return out
        return out
