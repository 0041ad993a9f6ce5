"""Is the worker worth keeping alive? The verdict behind /healthz, from explicit times only.

Two failures leave the process running while nothing useful happens, and only a restart
(by the orchestrator, on a 503) gets it going again:

* the stalled consumer (faust#175): messages wait (lag > 0) but no agent has finished a batch
  for `stall_seconds`;
* Redis out of reach: the router has failed every attempt to reach it for `redis_seconds`
  (a fresh connection pool after a restart is the cheapest cure for a wedged client, and the
  orchestrator's restart count tells the operator something is wrong).

Times are monotonic seconds the shell reads; nothing here reads a clock.
"""

from __future__ import annotations

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


def assess(
    now: float,
    *,
    lag: int,
    last_progress: float | None,
    redis_down_since: float | None,
    limits: Limits = Limits(),
) -> Verdict:
    """Judge the worker at `now` from its lag, last batch time and first failed Redis attempt.

    `last_progress` None means no agent has processed anything yet (a worker still joining
    its group is not stalled); `redis_down_since` None means the last attempt succeeded.
    """
    idle = None if last_progress is None else round(now - last_progress, 1)
    down = None if redis_down_since is None else round(now - redis_down_since, 1)
    reasons: list[str] = []
    if lag > 0 and idle is not None and idle > limits.stall_seconds:
        reasons.append(f"stalled: {lag} messages waiting, no batch processed for {idle:g} s")
    if down is not None and down > limits.redis_seconds:
        reasons.append(f"redis unreachable for {down:g} s")
    detail = {"lag": lag, "idle_seconds": idle, "redis_unreachable_seconds": down}
    return Verdict(not reasons, tuple(reasons), detail)
