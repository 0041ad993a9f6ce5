"""/healthz (issue 14, item 5): stalled consumer and unreachable Redis, judged from explicit times."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from warning.core.health import Limits, Mark, assess, stuck, watch
from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery.router import Deliverer
from warning.devtools.testing import T0, make_alert
from warning.settings import Settings
from warning.sinks.memory import MemoryAlertSink
from warning.stream.app import health, lag_readings

LIMITS = Limits(stall_seconds=120, redis_seconds=60)


def test_a_fresh_worker_is_healthy() -> None:
    v = assess(1000.0, lag=0, last_progress=None, redis_down_since=None, limits=LIMITS)
    assert v.ok and v.reasons == ()
    assert v.detail == {"lag": 0, "idle_seconds": None, "redis_unreachable_seconds": None, "stuck_partitions": 0}


@pytest.mark.parametrize(
    ("lag", "last", "ok"),
    [
        (5, 1000.0 - 121, False),  # messages wait, nothing moved for over the limit: stalled
        (5, 1000.0 - 119, True),  # within the limit
        (0, 1000.0 - 9999, True),  # idle for long, but nothing to do: a quiet stream
        (5, None, True),  # nothing processed yet: still joining the group
    ],
    ids=["stalled", "recent-batch", "quiet", "joining"],
)
def test_stalled_consumer(lag: int, last: float | None, ok: bool) -> None:
    v = assess(1000.0, lag=lag, last_progress=last, redis_down_since=None, limits=LIMITS)
    assert v.ok is ok
    assert any(r.startswith("stalled") for r in v.reasons) is not ok


@pytest.mark.parametrize(("since", "ok"), [(1000.0 - 61, False), (1000.0 - 59, True), (None, True)])
def test_redis_unreachable_longer_than_the_limit(since: float | None, ok: bool) -> None:
    v = assess(1000.0, lag=0, last_progress=999.0, redis_down_since=since, limits=LIMITS)
    assert v.ok is ok
    if not ok:
        assert v.reasons == ("redis unreachable for 61 s",)
        assert v.detail["redis_unreachable_seconds"] == 61.0


def test_both_failures_are_both_reported() -> None:
    v = assess(1000.0, lag=3, last_progress=0.0, redis_down_since=0.0, limits=LIMITS)
    assert not v.ok
    assert [r.split(":")[0].split(" for")[0] for r in v.reasons] == ["stalled", "redis unreachable"]


def test_a_partition_never_read_while_others_move_is_stuck() -> None:
    """faust#629: the worker stays busy on its other partitions, so only the per-partition clock sees it."""
    marks: dict[str, Mark] = {}
    for t in range(0, 140, 10):
        marks = watch(marks, {"alerts/0": (t, t + 5), "alerts/1": (3, 9), "alerts/2": (7, 7)}, float(t))
    assert set(marks) == {"alerts/0", "alerts/1", "alerts/2"}
    assert marks["alerts/1"].since == 0.0  # unmoved with 6 waiting since the first reading
    assert stuck(marks, 130.0, 120.0) == 1
    v = assess(130.0, lag=11, last_progress=129.0, redis_down_since=None, limits=LIMITS, stuck_partitions=1)
    assert not v.ok and v.reasons == ("stuck: 1 partition(s) with messages waiting not read for 120 s",)


def test_a_partition_that_moves_catches_up_or_is_reassigned_starts_its_clock_again() -> None:
    marks = {"t/0": Mark(3, 0.0), "t/1": Mark(5, 0.0), "t/2": Mark(1, 0.0), "t/3": Mark(2, 0.0)}
    marks = watch(marks, {"t/0": (4, 9), "t/1": (5, 5), "t/2": (1, 8)}, 200.0)
    assert marks == {"t/0": Mark(4, 200.0), "t/1": Mark(5, 200.0), "t/2": Mark(1, 0.0)}  # t/3 revoked: gone
    assert stuck(marks, 200.0, 120.0) == 1


class _Mono:
    """A monotonic clock tests move by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def _no_sleep(_: float) -> None:
    return None


async def test_deliverer_records_the_start_of_an_outage_and_clears_it_on_success() -> None:
    sink = MemoryAlertSink()
    mono = _Mono()
    d = Deliverer(sink, RoutingRules(), None, ManualClock(T0), sleep=_no_sleep, monotonic=mono)
    sink.fail_next(1)
    assert await d.probe() is False
    assert d.unreachable_since == 100.0
    mono.t = 130.0
    sink.fail_next(1)
    assert await d.probe() is False
    assert d.unreachable_since == 100.0, "the outage starts at the first failure, not the latest"
    assert await d.probe() is True
    assert d.unreachable_since is None


async def test_a_delivery_through_an_outage_clears_it_once_written() -> None:
    sink = MemoryAlertSink()
    d = Deliverer(sink, RoutingRules(), None, ManualClock(T0), sleep=_no_sleep, monotonic=_Mono())
    sink.fail_next(3)
    await d.handle(make_alert())
    assert d.unreachable_since is None


def _runtime(**kw: Any) -> Any:
    settings = Settings(health_redis_seconds=30, health_stall_seconds=50)
    base: dict[str, Any] = {"settings": settings, "lag": 0, "progress": {}, "deliverer": None, "marks": {}}
    return SimpleNamespace(**{**base, **kw})


def test_health_reads_the_runtime_and_the_settings_limits() -> None:
    deliverer = SimpleNamespace(unreachable_since=10.0)
    assert health(_runtime(deliverer=deliverer), 39.0).ok
    bad = health(_runtime(deliverer=deliverer), 41.0)
    assert not bad.ok and bad.reasons == ("redis unreachable for 31 s",)
    stalled = health(_runtime(lag=2, progress={"router": 0.0, "detect-street": 5.0}), 56.0)
    assert not stalled.ok and stalled.detail["idle_seconds"] == 51.0
    assert health(_runtime(), 1e9).ok  # no delivery in this worker: Redis is not its concern
    stuck_one = health(_runtime(lag=4, progress={"router": 55.0}, marks={"alerts/2": Mark(3, 0.0)}), 56.0)
    assert stuck_one.reasons == ("stuck: 1 partition(s) with messages waiting not read for 50 s",)


def test_health_reads_the_agents_topics_with_the_later_of_read_and_committed_offsets() -> None:
    """A changelog is read in recovery only: its 'lag' (this worker's own writes) must not look stalled."""
    parts = {
        TP("alerts", 0): (None, 3, 3),  # never read here, committed by the previous owner
        TP("alerts", 1): (4, 2, 9),  # read offset 4: next is 5
        TP("state-street-changelog", 0): (None, None, 13),
    }
    consumer = SimpleNamespace(
        assignment=lambda: set(parts),
        highwater=lambda t: parts[t][2],
        _read_offset={t: r for t, (r, _, _) in parts.items() if r is not None},
        _committed_offset={t: c for t, (_, c, _) in parts.items() if c is not None},
    )
    lags, readings = lag_readings(consumer, {"alerts"})
    assert lags == {"alerts": 4, "state-street-changelog": 13}
    assert readings == {"alerts/0": (3, 3), "alerts/1": (5, 9)}


def test_a_partition_never_fetched_is_read_against_the_brokers_log_end() -> None:
    """faust#629: a partition not fetched since the rebalance has no highwater; the broker's end still counts."""
    tp = TP("alerts", 3)
    consumer = SimpleNamespace(
        assignment=lambda: {tp}, highwater=lambda t: None, _read_offset={}, _committed_offset={tp: 2}
    )
    assert lag_readings(consumer, {"alerts"}) == ({}, {})  # the fetcher alone cannot see it
    assert lag_readings(consumer, {"alerts"}, {tp: 5}) == ({"alerts": 3}, {"alerts/3": (2, 5)})
