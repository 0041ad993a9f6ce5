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
            for key in self._dirty:
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
