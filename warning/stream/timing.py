"""Per-detector processing time and state size, measured in the shell around the pure core.

The core may not read a clock, so the stream wraps each detector in `Timed`, which observes
``warning_detector_seconds{detector}`` around every `update` and `receive` and otherwise
behaves as the detector (the engine sees the same name, key space and keys). Replay and the
tools use the bare detectors: timing is a property of this process, not of the alerts.

`state_entries` counts a table's entries by owner from the key layout the engine and
`TableKV` write (``<partition>/<detector>|<key>|<entry>``, ``<partition>/~...`` for the
engine's own), for ``warning_state_entries{detector}``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client import Histogram

from warning.core.events import Event
from warning.core.ports import Detector, KeySpace, Message, Outcome, StateStore


class Timed:
    """A detector whose calls are timed into `histogram` (labelled with the detector's name).

    With `scores`, a detector that can score a state (the case detector's `score_of`) has the
    score of the key's new state observed there after every successful update.
    """

    def __init__(self, inner: Detector, histogram: Histogram, scores: Histogram | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.key_space: KeySpace = inner.key_space
        self._observe = histogram.labels(detector=inner.name).observe
        scorer = getattr(inner, "score_of", None)
        self._scorer: Callable[[Any], float | None] | None = scorer if scores is not None else None
        self._score = scores.observe if scores is not None else None

    def keys(self, event: Event) -> Sequence[str]:
        """The wrapped detector's keys (not timed: trivial, and called once per event)."""
        return self.inner.keys(event)

    def update(self, store: StateStore, key: str, event: Event) -> Outcome:
        """The wrapped update, timed (also when it raises: a slow failure is still slow)."""
        started = time.perf_counter()
        try:
            outcome = self.inner.update(store, key, event)
        finally:
            self._observe(time.perf_counter() - started)
        if self._scorer is not None and self._score is not None:
            state = store.get("state")
            score = None if state is None else self._scorer(state)
            if score is not None:
                self._score(score)
        return outcome

    def receive(self, store: StateStore, key: str, message: Message) -> Outcome:
        """The wrapped receive, timed."""
        started = time.perf_counter()
        try:
            return self.inner.receive(store, key, message)
        finally:
            self._observe(time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        """Anything else (a model, parameters) from the wrapped detector."""
        return getattr(self.inner, name)


def timed(detectors: Iterable[Detector], histogram: Histogram, scores: Histogram | None = None) -> list[Detector]:
    """Wrap every detector in `Timed`."""
    return [Timed(d, histogram, scores) for d in detectors]


def state_owner(key: str) -> str:
    """Who owns a table key: the detector name before the first ``|``, or ``engine`` for ``~`` keys."""
    local = key.split("/", 1)[-1]
    if local.startswith("~"):
        return "engine"
    return local.split("|", 1)[0]


def state_entries(keys: Iterable[Any]) -> Counter[str]:
    """Entries per owner over table keys (non-string keys, a foreign writer's, are skipped)."""
    return Counter(state_owner(k) for k in keys if isinstance(k, str))
