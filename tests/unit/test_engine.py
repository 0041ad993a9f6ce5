"""The engine loop itself: ordering, dedupe, late events, bounded entries, isolation."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

from warning.core.detectors.base import DetectorState, WholeStateDetector
from warning.core.engine import DictKV, Engine
from warning.core.events import Alert, Event, Location
from warning.core.ports import KeySpace

TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, tzinfo=TZ)


class Order(WholeStateDetector):
    """Records the order it saw events in."""

    name = "order"
    version = "1"
    key_space: KeySpace = "street"

    def init_state(self) -> DetectorState:
        return {"seen": []}

    def key(self, event: Event) -> str:
        return event.location.street

    def step(self, state: DetectorState, event: Event, now: datetime) -> tuple[DetectorState, list[Alert]]:
        return {"seen": [*state["seen"], event.event_id]}, []


def ev(i: int, t: datetime) -> Event:
    return Event(f"e{i:05d}", "hotline", f"r{i:05d}", t, t, Location("S01", "S01-C01", "S01-C01-G01"), "labour")


def seen(kv: DictKV) -> list[str]:
    state = kv.get("order|S01|state")
    return list(state["seen"]) if state else []


def test_a_flood_in_one_instant_keeps_every_entry_small_and_loses_nothing() -> None:
    events = [ev(i, T0) for i in range(5000)]  # an export with one timestamp
    random.Random(1).shuffle(events)
    engine, kv = Engine("street", [Order()], lateness=timedelta(minutes=10)), DictKV()
    for e in events:
        engine.offer(kv, e)
    assert engine.pending(kv) == 5000
    largest = max(len(json.dumps(v)) for k, v in kv.data.items() if k.startswith("~"))
    assert largest < 200_000, largest  # far below a Kafka message
    engine.drain(kv)
    assert seen(kv) == sorted(e.event_id for e in events)  # source_ref order within the instant


def test_sources_hold_events_until_the_slowest_input_passes_them() -> None:
    engine = Engine("street", [Order()], lateness=timedelta(0), sources=("a/0", "b/0"))
    kv = DictKV()
    engine.offer(kv, ev(2, T0 + timedelta(hours=2)))
    engine.punctuate(kv, "a/0", (T0 + timedelta(hours=2)).timestamp(), False)
    assert seen(kv) == []  # b has said nothing yet
    engine.offer(kv, ev(1, T0 + timedelta(hours=1)))
    engine.punctuate(kv, "b/0", (T0 + timedelta(hours=1)).timestamp(), False)
    assert seen(kv) == ["e00001"]
    engine.punctuate(kv, "b/0", None, True)  # b caught up: nothing more can come from it
    assert seen(kv) == ["e00001", "e00002"]


def test_late_events_are_applied_counted_and_duplicates_ignored() -> None:
    engine, kv = Engine("street", [Order()], lateness=timedelta(minutes=5)), DictKV()
    engine.offer(kv, ev(1, T0))
    engine.offer(kv, ev(3, T0 + timedelta(hours=1)))  # releases e1
    late = engine.offer(kv, ev(0, T0 - timedelta(hours=1)))
    again = engine.offer(kv, ev(1, T0))
    engine.drain(kv)
    assert late.late == 1 and again.duplicates == 1
    assert seen(kv) == ["e00001", "e00000", "e00003"]  # applied out of order, never dropped
