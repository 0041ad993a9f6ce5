"""Redis alert sink: Streams for feeds, hashes for alerts, sorted-set indexes, one script a write.

Every write is one Lua script call (DESIGN.md §5, STYLE.md S6), so it is atomic: the script
refuses a message whose occurrence mark exists (a Kafka redelivery: no second feed entry) or
a record whose version moved since the deliverer read it (a concurrent ack: the deliverer
re-reads and decides again), and otherwise applies the ops the pure core planned. The script
holds no business rule: routing, suppression, upgrades and escalation are decided in Python
(`warning.core.routing`), so there is exactly one authority.

Key prefix and Redis Cluster. Every key starts with `prefix` (``WARNING_REDIS_PREFIX``,
default ``warning:``, so the default keys are ``warning:feed:...``, ``warning:alert:...``);
two districts can share one Redis with ``district-a:`` and ``district-b:``. A
``redis+cluster://`` URL connects a ``RedisCluster`` instead (`warning.sinks.connect`, which
explains the rule): one write's keys are all declared in KEYS, and a prefix holding a hash tag
(``{warning}:``, per district ``{district-a}:``) puts all of them in one slot, so the script,
the `pending` counts (ZINTERCARD) and the officers' ACL key patterns keep working unchanged;
an untagged prefix is refused at start-up. Sentinel works with any prefix.

Audit retention. The audit stream is append-only and by default never trimmed: it is the
record of who acknowledged, resolved or read what, and an inquiry needs its oldest lines as
much as its newest. ``[delivery] audit_maxlen`` > 0 caps it approximately (``XADD MAXLEN ~``,
whole radix-tree nodes, so a little more than the cap stays); export the stream before
turning that on. Feeds are capped by ``[delivery] feed_maxlen`` as before.

Retention (`RedisAlertSink.archive`, ``warning alerts archive``): alerts in ``[delivery]
archive_states`` (default closed) last seen more than ``archive_after_days`` ago, and audit
lines older than that, are handed to an archive writer (a fsynced JSON-lines file) and only
then deleted: the alert hash and its index entries by a script that checks the archived
version (a record changed meanwhile stays), the audit lines by XDEL of exactly the ids
written. A crash between the two archives a line twice; nothing is lost. Per-alert audit
reads in Redis then cover the retention window; older lines are in the archive.

Caveats: a Lua script is atomic but does not roll back when a command inside fails (e.g. a
key of the wrong type put there by hand). `pending` needs Redis >= 7.0 (ZINTERCARD) only when
more than `pending_scan` alerts of one state are pending; below that it reads two fields per
pending alert in pipelined HMGETs.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from redis import exceptions as rexc

from warning.core.lifecycle import AlertRecord, AuditEntry
from warning.core.routing import ApplyResult, Write
from warning.core.taxonomy import LEVELS
from warning.core.units import Hierarchy
from warning.sinks.base import (
    DEFAULT_PREFIX,
    PENDING_STATE_INDEXES,
    AlertStore,
    Pending,
    SinkUnavailableError,
    epoch,
    index_names,
)
from warning.sinks.connect import AnyRedis, check_prefix, client_from_url

DESK_GROUP = "desk"
"""Consumer group the engine creates on every feed (from its start): ``warning feed``'s default
``--group``. Officers' Redis users cannot create groups (`warning.delivery.acl`)."""

APPLY_LUA = """
-- KEYS[1] alert hash; KEYS[2] occurrence mark; KEYS[3..] keys the ops name by index.
-- ARGV[1] expected version ("0" = must not exist); ARGV[2] "1" when the occurrence is
-- checked and marked; ARGV[3] occurrence TTL seconds; ARGV[4] ops as JSON; ARGV[5] the
-- desks' consumer group created on each feed.
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then
  return {'duplicate'}
end
local current = redis.call('HGET', KEYS[1], 'version')
if not current then current = '0' end
if current ~= ARGV[1] then
  return {'conflict'}
end
local result = {'applied'}
for _, op in ipairs(cjson.decode(ARGV[4])) do
  local name, key = op[1], KEYS[op[2]]
  if name == 'xadd' then
    if op[5] then
      -- a feed: its desks' consumer group exists from the first entry on, since officers'
      -- users may not create keys or groups; BUSYGROUP on later writes is expected
      redis.pcall('XGROUP', 'CREATE', key, ARGV[5], '0', 'MKSTREAM')
    end
    local id
    if op[3] > 0 then
      id = redis.call('XADD', key, 'MAXLEN', '~', op[3], '*', unpack(op[4]))
    else
      id = redis.call('XADD', key, '*', unpack(op[4]))
    end
    if op[5] then table.insert(result, id) end
  elseif name == 'hset' then
    redis.call('HSET', key, unpack(op[3]))
  elseif name == 'zadd' then
    redis.call('ZADD', key, op[3], op[4])
  elseif name == 'zrem' then
    redis.call('ZREM', key, op[3])
  end
end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
end
return result
"""

ARCHIVE_LUA = """
-- KEYS[1] alert hash; KEYS[2..] its index keys. ARGV[1] the version archived; ARGV[2] alert id.
-- Deletes only the record that was archived: one changed since (reopened) stays.
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[2])
end
return 1
"""

ArchiveWriter = Callable[[list[dict[str, Any]]], None]
"""Takes a batch of archive lines and returns only once they are durable (fsynced)."""


@dataclass(frozen=True, slots=True)
class ArchiveResult:
    """What one archive run moved out of Redis (every item first handed to the writer)."""

    alerts: int
    audit_lines: int
    skipped: int  # archived but changed before deletion: left in Redis (its line is in the archive)


_UNAVAILABLE = (
    rexc.ConnectionError,
    rexc.TimeoutError,
    rexc.BusyLoadingError,
    rexc.ReadOnlyError,
    TimeoutError,
    ConnectionError,
    OSError,
)
AUDIT_SCAN = 10_000
"""Per-alert audit reads scan at most this many newest audit lines."""
PENDING_SCAN = 10_000
"""`pending` reads delivery times of at most this many alerts per unacknowledged state."""


def _flat(fields: dict[str, str]) -> list[str]:
    return [x for kv in fields.items() for x in kv]


class RedisAlertSink(AlertStore):
    """`AlertStore` on Redis or Redis Cluster (``redis.asyncio``, responses decoded as UTF-8)."""

    def __init__(
        self,
        client: AnyRedis,
        *,
        prefix: str = DEFAULT_PREFIX,
        occurrence_ttl: int = 35 * 86400,
        feed_maxlen: int = 100_000,
        audit_maxlen: int = 0,
        pending_scan: int = PENDING_SCAN,
        hierarchy: Hierarchy | None = None,
    ) -> None:
        self.client = client
        self.hierarchy = hierarchy  # the district's own units: which unit indexes an alert joins
        self.prefix = prefix
        self.occurrence_ttl = occurrence_ttl
        self.feed_maxlen = feed_maxlen
        self.audit_maxlen = audit_maxlen  # 0: never trim (see the module docstring)
        self.pending_scan = pending_scan
        self._apply = client.register_script(APPLY_LUA)
        self._archive = client.register_script(ARCHIVE_LUA)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisAlertSink:
        """Connect lazily to `url` (``redis://[user:pass@]host:port/db`` or ``redis+cluster://host:port,...``)."""
        check_prefix(url, kwargs.get("prefix", DEFAULT_PREFIX))
        client = client_from_url(url, decode_responses=True, socket_timeout=5.0, socket_connect_timeout=2.0)
        return cls(client, **kwargs)

    # keys -----------------------------------------------------------------------------
    def feed_key(self, feed: str) -> str:
        """Stream key of a feed."""
        return f"{self.prefix}feed:{feed}"

    def alert_key(self, alert_id: str) -> str:
        """Hash key of an alert."""
        return f"{self.prefix}alert:{alert_id}"

    def index_key(self, name: str) -> str:
        """Sorted-set key of an index."""
        return f"{self.prefix}idx:{name}"

    @property
    def audit_key(self) -> str:
        """The audit stream."""
        return f"{self.prefix}audit"

    @property
    def officers_key(self) -> str:
        """Hash of officer login -> unit scope."""
        return f"{self.prefix}officers"

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        try:
            yield
        except _UNAVAILABLE as exc:
            raise SinkUnavailableError(f"redis unavailable: {type(exc).__name__}", retry_after=1.0) from exc

    # AlertStore -------------------------------------------------------------------------
    async def load(self, alert_id: str) -> AlertRecord | None:
        """HGETALL of the alert hash."""
        async with self._guard():
            fields = cast(dict[str, str], await self.client.hgetall(self.alert_key(alert_id)))
        return AlertRecord.from_fields(fields) if fields else None

    async def load_many(self, ids: Iterable[str]) -> list[AlertRecord]:
        """One pipelined round trip for many hashes."""
        ids = list(ids)
        if not ids:
            return []
        async with self._guard(), self.client.pipeline(transaction=False) as pipe:
            for alert_id in ids:
                pipe.hgetall(self.alert_key(alert_id))
            rows: list[dict[str, str]] = await pipe.execute()
        return [AlertRecord.from_fields(r) for r in rows if r]

    async def apply(self, write: Write) -> ApplyResult:
        """One script call: duplicate / conflict / applied (with new feed entry ids)."""
        record = write.decision.record
        keys: list[str] = [self.alert_key(record.alert_id), self.alert_key(record.alert_id)]
        if write.occurrence is not None:
            keys[1] = f"{self.prefix}occ:{write.occurrence}"

        def k(key: str) -> int:
            keys.append(key)
            return len(keys)  # Lua indexes from 1

        ops: list[list[Any]] = []
        for feed, fields in write.entries():
            ops.append(["xadd", k(self.feed_key(feed)), self.feed_maxlen, _flat(fields), True])
        ops.append(["hset", 1, _flat(record.to_fields())])
        old = index_names(write.prev, self.hierarchy) if write.prev else set()
        new = index_names(record, self.hierarchy)
        for name in sorted(old - new):
            ops.append(["zrem", k(self.index_key(name)), record.alert_id])
        score = repr(epoch(record.last_seen))
        for name in sorted(new):
            ops.append(["zadd", k(self.index_key(name)), score, record.alert_id])
        if record.due_at is not None:
            ops.append(["zadd", k(self.index_key("due")), repr(epoch(record.due_at)), record.alert_id])
        else:
            ops.append(["zrem", k(self.index_key("due")), record.alert_id])
        for line in write.decision.audit:
            ops.append(["xadd", k(self.audit_key), self.audit_maxlen, _flat(line.to_fields()), False])
        args = [
            str(write.expected_version),
            "1" if write.occurrence is not None else "0",
            str(self.occurrence_ttl),
            json.dumps(ops, ensure_ascii=False),
            DESK_GROUP,
        ]
        async with self._guard():
            result: list[str] = await self._apply(keys=keys, args=args)
        status = result[0]
        if status == "applied":
            return ApplyResult("applied", tuple(result[1:]))
        if status == "duplicate":
            return ApplyResult("duplicate")
        return ApplyResult("conflict")

    async def due(self, now: datetime, limit: int = 100) -> list[str]:
        """ZRANGEBYSCORE of the due index."""
        async with self._guard():
            ids = cast(
                list[str],
                await self.client.zrangebyscore(self.index_key("due"), "-inf", epoch(now), start=0, num=limit),
            )
        return ids

    async def index(self, name: str, since: datetime | None, limit: int) -> list[str]:
        """ZREVRANGEBYSCORE of an index."""
        async with self._guard():
            ids: list[str] = await self.client.zrevrangebyscore(  # type: ignore[assignment]  # decode_responses=True: str
                self.index_key(name), "+inf", epoch(since) if since else "-inf", start=0, num=limit
            )
        return ids

    async def append_audit(self, entry: AuditEntry) -> str:
        """XADD to the audit stream."""
        async with self._guard():
            entry_id = cast(
                str,
                await self.client.xadd(
                    self.audit_key,
                    dict(entry.to_fields()),  # type: ignore[arg-type]  # stubs want dict[bytes|str|...]
                    maxlen=self.audit_maxlen or None,
                    approximate=True,
                ),
            )
        return entry_id

    async def audit(self, alert_id: str | None = None, count: int = 1000) -> list[AuditEntry]:
        """Newest lines (bounded scan when filtering by alert), oldest first."""
        async with self._guard():
            rows: list[tuple[str, dict[str, str]]] = await self.client.xrevrange(  # type: ignore[assignment]  # decoded
                self.audit_key, count=AUDIT_SCAN if alert_id else count
            )
        lines = [AuditEntry.from_fields(f) for _, f in rows]
        if alert_id is not None:
            lines = [e for e in lines if e.alert_id == alert_id][:count]
        return lines[::-1]

    async def feed(self, name: str, after: str = "-", count: int = 1000) -> list[tuple[str, dict[str, str]]]:
        """XRANGE from after `after` (exclusive)."""
        start = "-" if after == "-" else f"({after}"
        async with self._guard():
            rows: list[tuple[str, dict[str, str]]] = await self.client.xrange(  # type: ignore[assignment]  # decoded
                self.feed_key(name), min=start, count=count
            )
        return rows

    async def feed_tail(self, name: str, count: int) -> list[tuple[str, dict[str, str]]]:
        """XREVRANGE COUNT, reversed."""
        async with self._guard():
            rows: list[tuple[str, dict[str, str]]] = await self.client.xrevrange(  # type: ignore[assignment]  # decoded
                self.feed_key(name), count=count
            )
        return rows[::-1]

    async def pending(self) -> Pending:
        """Ids from the unacknowledged states' indexes, then level and delivered_at per alert.

        Two pipelined round trips (plus one per 1000 pending alerts). Beyond `pending_scan`
        alerts in one state the counts come from ZINTERCARD of the state and level indexes
        (exact), and the oldest delivery time from the `pending_scan` alerts with the oldest
        last_seen, which in live operation are the oldest delivered.
        """
        async with self._guard():
            async with self.client.pipeline(transaction=False) as pipe:
                for name in PENDING_STATE_INDEXES:
                    pipe.zrange(self.index_key(name), 0, self.pending_scan - 1)
                for name in PENDING_STATE_INDEXES:
                    pipe.zcard(self.index_key(name))
                replies: list[Any] = await pipe.execute()
            n = len(PENDING_STATE_INDEXES)
            ids = list(dict.fromkeys(i for batch in replies[:n] for i in batch))
            truncated = any(int(c) > self.pending_scan for c in replies[n:])
            rows: list[tuple[str, datetime]] = []
            for start in range(0, len(ids), 1000):
                async with self.client.pipeline(transaction=False) as pipe:
                    for alert_id in ids[start : start + 1000]:
                        pipe.hmget(self.alert_key(alert_id), ["level", "delivered_at"])
                    fields: list[list[str | None]] = await pipe.execute()
                rows.extend((lv, datetime.fromisoformat(at)) for lv, at in fields if lv and at)
            summary = Pending.of(rows)
            if not truncated:
                return summary
            async with self.client.pipeline(transaction=False) as pipe:
                for level in LEVELS:
                    for name in PENDING_STATE_INDEXES:
                        pipe.zintercard(2, [self.index_key(name), self.index_key(f"level:{level}")])
                cards: list[int] = await pipe.execute()
        counts: dict[str, int] = {level: sum(cards[i * n : (i + 1) * n]) for i, level in enumerate(LEVELS)}
        return Pending(counts, summary.oldest_delivered_at)

    async def officer_unit(self, name: str) -> str | None:
        """HGET of the officers hash."""
        async with self._guard():
            unit = cast(str | None, await self.client.hget(self.officers_key, name))
        return unit

    async def set_officer_unit(self, name: str, unit: str) -> None:
        """HSET of the officers hash."""
        async with self._guard():
            await self.client.hset(self.officers_key, name, unit)

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()

    # retention ----------------------------------------------------------------------------

    async def archive(
        self, before: datetime, write: ArchiveWriter, *, states: Iterable[str] = ("closed",), batch: int = 500
    ) -> ArchiveResult:
        """Move alerts of `states` last seen before `before`, and audit lines older, to `write`.

        Nothing is deleted before `write` returned for its batch, so a crash between the two
        leaves a line in the archive *and* the key in Redis (archived twice, never lost).
        """
        alerts = skipped = 0
        for state in states:
            moved, kept = await self._archive_state(state, before, write, batch)
            alerts, skipped = alerts + moved, skipped + kept
        return ArchiveResult(alerts, await self._archive_audit(before, write, batch), skipped)

    async def _archive_state(self, state: str, before: datetime, write: ArchiveWriter, batch: int) -> tuple[int, int]:
        moved = kept = 0
        seen: set[str] = set()
        while True:
            async with self._guard():
                ids = cast(
                    list[str],
                    await self.client.zrangebyscore(
                        self.index_key(f"state:{state}"), "-inf", f"({epoch(before)!r}", start=0, num=batch
                    ),
                )
            ids = [i for i in ids if i not in seen]  # a kept (changed) alert must not loop forever
            if not ids:
                return moved, kept
            seen.update(ids)
            async with self._guard(), self.client.pipeline(transaction=False) as pipe:
                for alert_id in ids:
                    pipe.hgetall(self.alert_key(alert_id))
                rows: list[dict[str, str]] = await pipe.execute()
            found = [(i, r) for i, r in zip(ids, rows, strict=True) if r]
            write([{"kind": "alert", "prefix": self.prefix, "id": i, "fields": r} for i, r in found])
            for alert_id, fields in found:
                if await self._delete_alert(alert_id, fields):
                    moved += 1
                else:
                    kept += 1

    async def _delete_alert(self, alert_id: str, fields: dict[str, str]) -> bool:
        record = AlertRecord.from_fields(fields)
        keys = [
            self.alert_key(alert_id),
            *(self.index_key(n) for n in sorted(index_names(record, self.hierarchy) | {"due"})),
        ]
        async with self._guard():
            done = await self._archive(keys=keys, args=[fields.get("version", ""), alert_id])
        return bool(done)

    async def _archive_audit(self, before: datetime, write: ArchiveWriter, batch: int) -> int:
        """Audit lines with a stream id older than `before` (XDEL of exactly the lines written)."""
        end = f"({int(before.astimezone(UTC).timestamp() * 1000)}-0"
        total = 0
        while True:
            async with self._guard():
                rows: list[tuple[str, dict[str, str]]] = await self.client.xrange(  # type: ignore[assignment]  # decoded
                    self.audit_key, min="-", max=end, count=batch
                )
            if not rows:
                return total
            write([{"kind": "audit", "prefix": self.prefix, "id": i, "fields": f} for i, f in rows])
            async with self._guard():
                await self.client.xdel(self.audit_key, *(i for i, _ in rows))
            total += len(rows)


def jsonl_writer(path: Path) -> ArchiveWriter:
    """An `ArchiveWriter` appending JSON lines to `path` and fsyncing before it returns."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(lines: list[dict[str, Any]]) -> None:
        if not lines:
            return
        with path.open("a", encoding="utf-8") as out:
            out.writelines(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n" for line in lines)
            out.flush()
            os.fsync(out.fileno())

    return write
