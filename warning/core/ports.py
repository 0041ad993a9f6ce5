"""The seams between the pure core and the world: detectors, sinks, clocks, metrics.

Shells (Faust, replay) own the I/O and hand the core plain values; these Protocols are all the
core knows of them, which is what lets one core run under both shells and under tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from warning.core.events import Alert, Event
from warning.core.lifecycle import AlertRecord
from warning.core.routing import ApplyResult, Write

S = TypeVar("S")

DetectorState = dict[str, Any]
"""Detector state: JSON-serialisable (it lives in a Faust table and its changelog)."""


@runtime_checkable
class Detector(Protocol):
    """A warning detector: parameters fixed at construction, state passed in and out.

    `update` must not read a clock, the environment or a file; `now` is the event-time clock
    the shell chose (the event's time in replay, the message time in the stream), so replay
    and stream produce the same alerts for the same input.
    """

    name: str
    version: str

    def init_state(self) -> DetectorState:
        """Empty state for a new key."""
        ...

    def update(self, state: DetectorState, event: Event, now: datetime) -> tuple[DetectorState, list[Alert]]:
        """Score the event against the state, then learn from it; return new state and alerts."""
        ...

    def key(self, event: Event) -> str:
        """The state key an event belongs to (table key; co-partitioned with the stream)."""
        ...


class AlertSink(Protocol):
    """Where routed alerts are stored: Redis in production, memory in tests and replay.

    The core decides (`warning.core.routing.decide`) from the record `load` returned; `apply`
    writes the decision in one transaction only if the record's version is unchanged and the
    occurrence was not applied before (`warning.sinks.base.AlertStore` is the full interface).
    """

    async def load(self, alert_id: str) -> AlertRecord | None:
        """The stored record, or None; raise `Backpressure` when the store is unreachable."""
        ...

    async def apply(self, write: Write) -> ApplyResult:
        """Check-and-set: feed entries, record, indexes, audit and occurrence mark, atomically."""
        ...


class Clock(Protocol):
    """Injectable time (escalation deadlines, tests)."""

    def now(self) -> datetime:
        """Current aware datetime."""
        ...


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        """The time last set."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move time forward."""
        self._now += delta


MetricName = Literal[
    "events_received",
    "events_valid",
    "events_dead_lettered",
    "alerts_emitted",
]


class Metrics(Protocol):
    """What the core may report; `warning.metrics` implements it with prometheus_client."""

    def increment(self, name: MetricName, value: float = 1.0, **labels: str) -> None:
        """Add to a counter with bounded labels."""
        ...


class NoMetrics:
    """Metrics that go nowhere (replay, unit tests)."""

    def increment(self, name: MetricName, value: float = 1.0, **labels: str) -> None:
        """Discard."""
