"""The seams between the pure core and the world: detectors, their state stores, clocks.

Shells (Faust, replay) own the I/O and hand the core plain values; these Protocols are all the
core knows of them, which is what lets one core run under both shells and under tests.

Detector protocol v2 (DESIGN.md §6). A detector names the *key space* it partitions by and the
keys an event belongs to (none = not mine; several = one update per key, e.g. one per party).
State is not one value per key but entries read and written one by one through a
`StateStore` scoped to (detector, key): a detector whose state is large (an entity index) reads
and writes only the entries an event touches, and the shell persists only dirty entries, once
per batch. The engine (`warning.core.engine`) owns ordering, deduplication and lateness, so a
detector sees each key's events once each, in event-time order, with ``event.occurred_at`` as
its clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

from warning.core.events import Alert, Event

JSON = Any
"""An entry value: JSON-serialisable (it lives in a Faust table and its changelog)."""

KeySpace = Literal["street", "district", "case"]
"""How a detector's keys are partitioned in the stream.

``street``: the ``events`` topic's own key, so street detectors need no repartition;
``district``: one key for the whole district (one partition; an entity index must be global);
``case``: the case reference (``case_ref``), repartitioned once for all case detectors.
"""

DISTRICT_KEY = "district"


class StateStore(Protocol):
    """The entries of one detector under one key (the shell scopes and namespaces them)."""

    def get(self, entry: str) -> JSON | None:
        """The entry's value, or None when absent."""
        ...

    def put(self, entry: str, value: JSON) -> None:
        """Set the entry; the value must be JSON-serialisable and not be mutated afterwards."""
        ...

    def delete(self, entry: str) -> None:
        """Remove the entry (absent entries are fine)."""
        ...


@dataclass(frozen=True, slots=True)
class Message:
    """A value one detector sends to a key of another key space (e.g. a resolved person to case)."""

    key_space: KeySpace
    key: str
    kind: str
    payload: Mapping[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one update produced: alerts for the router, messages for other keys."""

    alerts: tuple[Alert, ...] = ()
    messages: tuple[Message, ...] = ()


NOTHING = Outcome()


@runtime_checkable
class Detector(Protocol):
    """A warning detector: parameters (and artefacts such as a model) fixed at construction.

    `update` must not read a clock, the environment or a file: its clock is
    ``event.occurred_at``, so replay and stream produce the same alerts for the same input.
    """

    name: str
    version: str
    key_space: KeySpace

    def keys(self, event: Event) -> Sequence[str]:
        """The keys this event updates, in the detector's key space; empty = not mine."""
        ...

    def update(self, store: StateStore, key: str, event: Event) -> Outcome:
        """Score the event against the key's state, then learn from it."""
        ...

    def receive(self, store: StateStore, key: str, message: Message) -> Outcome:
        """Take a message another detector sent to this key (most detectors ignore them)."""
        ...


class Clock(Protocol):
    """Injectable wall time (escalation deadlines, tests); detectors never use one."""

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
