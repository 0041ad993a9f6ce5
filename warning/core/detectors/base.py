"""A base for detectors whose whole state per key is one JSON value (dynamic, pattern).

Protocol v2 reads and writes entries one by one; a detector with a small state per key keeps
it in one entry, ``state``, and writes `step` as a pure function of (state, event). The base
turns that into `keys` / `update` / `receive`, so such a detector stays a plain function of
its inputs and the engine still persists only the keys an event touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from warning.core.events import Alert, Event
from warning.core.ports import JSON, NOTHING, KeySpace, Message, Outcome, StateStore

DetectorState = dict[str, JSON]
"""A whole per-key state: JSON-serialisable (one entry in a Faust table and its changelog)."""


class WholeStateDetector:
    """Subclasses set `name`, `version`, `key_space` and implement the four methods below."""

    name: str
    version: str
    key_space: KeySpace

    def init_state(self) -> DetectorState:
        """Empty state for a new key."""
        raise NotImplementedError

    def start_state(self, key: str, event: Event) -> DetectorState:
        """The state a key starts from when the store has none: empty unless a detector warm-starts."""
        return self.init_state()

    def key(self, event: Event) -> str | None:
        """The one key an event belongs to, or None when the event is not this detector's."""
        raise NotImplementedError

    def step(self, state: DetectorState, event: Event, now: datetime) -> tuple[DetectorState, list[Alert]]:
        """Score the event against the state, then learn from it; return new state and alerts."""
        raise NotImplementedError

    def keys(self, event: Event) -> Sequence[str]:
        """Protocol v2: zero or one key."""
        key = self.key(event)
        return () if key is None else (key,)

    def update(self, store: StateStore, key: str, event: Event) -> Outcome:
        """Protocol v2: get the state entry, step, put it back."""
        state = store.get("state")
        new, alerts = self.step(state if state is not None else self.start_state(key, event), event, event.occurred_at)
        store.put("state", new)
        return Outcome(tuple(alerts))

    def receive(self, store: StateStore, key: str, message: Message) -> Outcome:
        """Whole-state detectors take no messages."""
        return NOTHING
