"""A batch's view of a Faust table: the engine's `KV`, with every dirty entry written once.

The engine reads and writes many small entries per event (its clock, reorder buffer, dedupe
bucket, the detectors' entries); writing each to the changelog at once would cost a Kafka
record per touch. `TableKV` caches what a batch reads, keeps what it writes, and `flush`
writes each dirty entry once at the end of the batch.

Faust sends a table write to the changelog partition of the *current event*; a batch may span
partitions, so `flush` makes one of the partition's own events current while it writes
(``faust.streams._current_event``: the context variable Faust itself sets per event).
Keys are prefixed with the partition: the engine keeps per-partition entries (``~clock``...)
under the same names in every partition, and a table is one mapping over all of them.

Write order (`write_order`): a SIGKILL cuts a flush anywhere - Faust sends the changelog
records one by one, in call order, to the partition's one changelog partition, and the unsent
tail is lost. The engine's dedupe marks (``~seen``) therefore go last: if a mark was
restored, every other entry its batch wrote was restored too, and a batch cut short is
re-applied in full on redelivery (the detectors' entries are idempotent by event id) instead
of having its events dropped as duplicates with their effects missing. Found in
bench/bench_faults.py's worker_sigkill: the changelog held the marks of three events whose
person entries never arrived, so the relational detector resolved the rest of the district
with four fewer entities and every later person alert got another id. Reorder-buffer chunks
are written before their index, so a restored index never names a chunk that was cut; the
clock goes after the marks.
"""

from __future__ import annotations

import weakref
from typing import Any

from faust.streams import _current_event

_DELETED = object()


class TableKV:
    """The entries of one table partition, as one batch sees and changes them."""

    def __init__(self, table: Any, partition: int) -> None:
        self._table = table
        self._prefix = f"{partition}/"
        self._cache: dict[str, Any] = {}
        self._dirty: set[str] = set()

    def get(self, key: str) -> Any:
        """The value (this batch's own write first), or None."""
        if key in self._cache:
            value = self._cache[key]
            return None if value is _DELETED else value
        value = self._table.get(self._prefix + key)
        self._cache[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        """Set the value; written to the table at `flush`."""
        self._cache[key] = value
        self._dirty.add(key)

    def delete(self, key: str) -> None:
        """Remove the key at `flush`."""
        self._cache[key] = _DELETED
        self._dirty.add(key)

    def flush(self, event: Any) -> int:
        """Write every dirty entry once, as of `event` (one of this partition's); returns how many."""
        token = _current_event.set(weakref.ref(event))
        try:
            for key in sorted(self._dirty, key=write_order):
                value = self._cache[key]
                full = self._prefix + key
                if value is _DELETED:
                    if full in self._table:
                        del self._table[full]
                else:
                    self._table[full] = value
        finally:
            _current_event.reset(token)
        written = len(self._dirty)
        self._dirty.clear()
        return written


def write_order(key: str) -> int:
    """Where an entry goes in a flush (module docstring): detector entries, the engine's own
    entries, the reorder buffer's index, the dedupe marks, and the clock last (a clock that
    got through while marks did not would count the redelivered events as late)."""
    if not key.startswith("~"):
        return 0
    if key.startswith("~seen"):
        return 3
    return {"~buf": 2, "~clock": 4}.get(key, 1)
