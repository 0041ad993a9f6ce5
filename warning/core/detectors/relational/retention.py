"""State eviction of the relational detector: what was not seen for ``retention_days`` goes.

Without it the entity index grows with every one-off caller for as long as the worker runs
(a district-year is ~6x10^5 events, most of them people who never come back). Eviction must
touch only the entries it concerns (protocol v2: no scan of the store), so it works from a
**time wheel**: each entry that matters for retention is listed, once per hour it was active,
in the bucket ``gc:<hour>``; each update sweeps the buckets whose hour fell behind the horizon
(a few per update, so a catch-up after a gap is spread out) and, for each name listed, checks
that entry's own last-seen time - an entry active again later is listed in a later bucket and
stays. What a sweep removes:

- an entity (``E<n>``): its summary ``ent:``, its pointers (the entities merged into it),
  its history ``pv:`` and reasons ``pr:``, and its id in the blocking lists ``tok:`` of the
  keys its summary still yields plus the ID block keys its ``pv`` entry kept (a list left
  empty is deleted; a capped hub keeps its count). A key of a value the bounded summary
  dropped (a fifth phone) can outlive the entity; the list then names a missing entity,
  which the matcher scores as empty, and the next eviction touching that list removes it;
- a group (``rs:``/``cf:``) or an alert episode (``al:``) last touched before the horizon.

A returning person after the horizon is a new entity: every relational window
(``window_days``) is far shorter than the horizon, so no alert can need what was dropped.
Deterministic in event time: the same input sweeps the same entries in stream and replay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from warning.core.detectors.relational.resolve import Resolver, blocking_keys
from warning.core.ports import StateStore

HOUR: Final = 3600
WHEEL: Final = "gcw"  # {"next": the next hour bucket to sweep}


def touch(store: StateStore, name: str, before: int | None, t: int) -> None:
    """List `name` in the bucket of hour `t` unless it was already listed this hour (`before`)."""
    hour = t // HOUR
    if before is not None and before // HOUR == hour:
        return
    bucket = f"gc:{hour}"
    names: list[str] = list(store.get(bucket) or [])
    if name not in names:
        store.put(bucket, [*names, name])


def sweep(store: StateStore, resolver: Resolver, t: int, retention_s: int, max_buckets: int) -> int:
    """Sweep at most `max_buckets` buckets older than ``t - retention_s``; the entries evicted."""
    wheel: dict[str, Any] = dict(store.get(WHEEL) or {"next": t // HOUR})
    horizon = (t - retention_s) // HOUR
    evicted = 0
    swept = 0
    while wheel["next"] < horizon and swept < max_buckets:
        bucket = f"gc:{wheel['next']}"
        for name in store.get(bucket) or []:
            evicted += _evict(store, resolver, name, t - retention_s)
        store.delete(bucket)
        wheel["next"] += 1
        swept += 1
    if swept or store.get(WHEEL) is None:
        store.put(WHEEL, wheel)
    return evicted


def _evict(store: StateStore, resolver: Resolver, name: str, cutoff: int) -> int:
    if name.startswith(("rs:", "cf:")):
        return _drop_if(store, name, cutoff, lambda v: int(v["t"]))
    if name.startswith("al:"):
        return _drop_if(store, name, cutoff, lambda v: int(v["last"]))
    return _evict_entity(store, resolver, name, cutoff)


def _drop_if(store: StateStore, name: str, cutoff: int, last: Callable[[Any], int]) -> int:
    value = store.get(name)
    if value is None or last(value) >= cutoff:
        return 0
    store.delete(name)
    return 1


def _evict_entity(store: StateStore, resolver: Resolver, eid: str, cutoff: int) -> int:
    root = resolver.find(store, eid)
    meta = store.get(f"pv:{root}")
    if not isinstance(meta, dict) or int(meta.get("ls", 0)) >= cutoff:
        return 0  # seen since (listed in a later bucket), or already gone
    gone = {root, *meta.get("al", ())}
    summary = resolver.summary(store, root)
    for key in dict.fromkeys([*blocking_keys(summary["k"]), *meta.get("ix", ())]):
        _unindex(store, resolver, f"tok:{key}", gone)
    for e in gone:
        store.delete(f"ent:{e}")
    store.delete(f"pv:{root}")
    store.delete(f"pr:{root}")
    return 1


def _unindex(store: StateStore, resolver: Resolver, entry: str, gone: set[str]) -> None:
    ids = store.get(entry)
    if not isinstance(ids, list | tuple):
        return  # absent, or a capped hub (it keeps only its count)
    kept = tuple(e for e in ids if e not in gone and resolver.find(store, e) not in gone)
    if not kept:
        store.delete(entry)
    elif len(kept) != len(ids):
        store.put(entry, kept)
