"""/healthz (issue 14, item 5): stalled consumer and unreachable Redis, judged from explicit times."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from warning.core.health import Limits, assess
from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery.router import Deliverer
from warning.devtools.testing import T0, make_alert
from warning.settings import Settings
from warning.sinks.memory import MemoryAlertSink
from warning.stream.app import health

LIMITS = Limits(stall_seconds=120, redis_seconds=60)


def test_a_fresh_worker_is_healthy() -> None:
    v = assess(1000.0, lag=0, last_progress=None, redis_down_since=None, limits=LIMITS)
    assert v.ok and v.reasons == ()
    assert v.detail == {"lag": 0, "idle_seconds": None, "redis_unreachable_seconds": None}


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
    base: dict[str, Any] = {"settings": settings, "lag": 0, "progress": {}, "deliverer": None}
    return SimpleNamespace(**{**base, **kw})


def test_health_reads_the_runtime_and_the_settings_limits() -> None:
    deliverer = SimpleNamespace(unreachable_since=10.0)
    assert health(_runtime(deliverer=deliverer), 39.0).ok
    bad = health(_runtime(deliverer=deliverer), 41.0)
    assert not bad.ok and bad.reasons == ("redis unreachable for 31 s",)
    stalled = health(_runtime(lag=2, progress={"router": 0.0, "detect-street": 5.0}), 56.0)
    assert not stalled.ok and stalled.detail["idle_seconds"] == 51.0
    assert health(_runtime(), 1e9).ok  # no delivery in this worker: Redis is not its concern
