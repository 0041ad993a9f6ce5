"""Is the worker worth keeping alive? The verdict behind /healthz, from explicit times only.

Two failures leave the process running while nothing useful happens, and only a restart
(by the orchestrator, on a 503) gets it going again:

* the stalled consumer (faust#175): messages wait (lag > 0) but no agent has finished a batch
  for `stall_seconds`;
* a stuck partition (faust#629: after a rebalance aiokafka may never fetch one of the
  partitions it was given): that partition has messages waiting and its read position has not
  moved for `stall_seconds`, while the other partitions keep the worker looking busy;
* Redis out of reach: the router has failed every attempt to reach it for `redis_seconds`
  (a fresh connection pool after a restart is the cheapest cure for a wedged client, and the
  orchestrator's restart count tells the operator something is wrong).

Times are monotonic seconds the shell reads; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Limits:
    """How long each failure may last before the worker is declared unhealthy (seconds)."""

    stall_seconds: float = 120.0
    redis_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer: healthy or not, the reasons why not, and the numbers behind them."""

    ok: bool
    reasons: tuple[str, ...]
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Mark:
    """A partition's read position and the (monotonic) time it was last seen moving or caught up."""

    position: int
    since: float


def watch(marks: Mapping[str, Mark], readings: Mapping[str, tuple[int, int]], now: float) -> dict[str, Mark]:
    """The marks after one reading of `partition -> (next offset to read, log end)`.

    A partition that moved, is caught up, or was not seen before starts its clock again;
    partitions no longer assigned are forgotten (a rebalance gives fresh clocks). The shell
    passes empty readings while a rebalance or table recovery is under way, because Faust
    pauses fetching then on purpose.
    """
    fresh: dict[str, Mark] = {}
    for tp, (position, end) in readings.items():
        old = marks.get(tp)
        if old is not None and old.position == position and position < end:
            fresh[tp] = old
        else:
            fresh[tp] = Mark(position, now)
    return fresh


def stuck(marks: Mapping[str, Mark], now: float, limit: float) -> int:
    """How many watched partitions have had messages waiting, unread, for longer than `limit`."""
    return sum(1 for m in marks.values() if now - m.since > limit)


def assess(
    now: float,
    *,
    lag: int,
    last_progress: float | None,
    redis_down_since: float | None,
    limits: Limits = Limits(),
    stuck_partitions: int = 0,
) -> Verdict:
    """Judge the worker at `now` from its lag, last batch time and first failed Redis attempt.

    `last_progress` None means no agent has processed anything yet (a worker still joining
    its group is not stalled); `redis_down_since` None means the last attempt succeeded;
    `stuck_partitions` is `stuck` of the shell's partition marks.
    """
    idle = None if last_progress is None else round(now - last_progress, 1)
    down = None if redis_down_since is None else round(now - redis_down_since, 1)
    reasons: list[str] = []
    if lag > 0 and idle is not None and idle > limits.stall_seconds:
        reasons.append(f"stalled: {lag} messages waiting, no batch processed for {idle:g} s")
    if stuck_partitions:
        reasons.append(
            f"stuck: {stuck_partitions} partition(s) with messages waiting not read for {limits.stall_seconds:g} s"
        )
    if down is not None and down > limits.redis_seconds:
        reasons.append(f"redis unreachable for {down:g} s")
    detail = {"lag": lag, "idle_seconds": idle, "redis_unreachable_seconds": down, "stuck_partitions": stuck_partitions}
    return Verdict(not reasons, tuple(reasons), detail)
