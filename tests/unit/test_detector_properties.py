"""Property tests: every registered detector survives any valid event sequence.

Lulls, gaps of years, bursts, a single category, out-of-order arrival within and beyond the
lateness bound: no detector may raise (the engine would dead-letter the event, which for valid
input is a bug) and every state entry stays JSON with finite numbers (a NaN or an infinity in a
changelog poisons every later update). The regression that motivated this: a months-long lull
shrank a pattern month effect to exactly 0.0 and the next refit divided by it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warning.core.engine import DictKV, Engine, Pipeline
from warning.core.events import Event, Location
from warning.pipeline import build_detectors, build_engines
from warning.thresholds import Thresholds

TZ = timezone(timedelta(hours=8))
START = datetime(2026, 1, 1, 8, tzinfo=TZ)
THRESHOLDS = Thresholds(version="properties")
DETECTORS = build_detectors(THRESHOLDS)

gaps = st.one_of(
    st.floats(min_value=0, max_value=2),  # bursts: minutes apart
    st.floats(min_value=2, max_value=72),  # ordinary days
    st.floats(min_value=24 * 60, max_value=24 * 400),  # lulls of months, silences of a year
)
texts = st.sampled_from(["", "楼道漏水", "工人聚集讨薪", "扬言跳楼", "围堵大门 拉横幅", "噪音扰民"])
steps = st.tuples(
    gaps,
    st.sampled_from(["labour", "family", "property", "environment"]),
    st.sampled_from(["S01", "S02"]),
    st.sampled_from(["grid", "hotline", "petition"]),
    st.integers(min_value=1, max_value=200),
    texts,
)


def _events(plan: list[tuple[float, str, str, str, int, str]]) -> list[Event]:
    t = START
    out = []
    for i, (gap, cat, street, channel, headcount, text) in enumerate(plan):
        t += timedelta(hours=gap)
        loc = Location(street, f"{street}-C01", f"{street}-C01-G0{i % 3 + 1}")
        out.append(Event(f"p{i}", channel, f"r{i}", t, t, loc, cat, headcount=headcount, text=text))  # type: ignore[arg-type]
    return out


def _finite(kv: DictKV) -> None:
    json.dumps(kv.data, allow_nan=False)  # raises ValueError on NaN or infinity


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(steps, min_size=1, max_size=120))
def test_no_detector_raises_and_states_stay_finite(plan: list[tuple[float, str, str, str, int, str]]) -> None:
    pipeline = Pipeline(build_engines(DETECTORS, THRESHOLDS))
    failures = []
    for event in _events(plan):
        failures += pipeline.feed(event).failures
    failures += pipeline.finish().failures
    assert not failures, failures[0].trace
    for kv in pipeline.kvs.values():
        assert isinstance(kv, DictKV)
        _finite(kv)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(steps, min_size=2, max_size=80), st.randoms(use_true_random=False))
def test_any_arrival_order_is_applied_without_error(plan: list[tuple[float, str, str, str, int, str]], rnd) -> None:  # type: ignore[no-untyped-def]
    events = _events(plan)
    rnd.shuffle(events)  # beyond any bound: late events are applied out of order, never dropped
    for ks, engine in build_engines(DETECTORS, THRESHOLDS).items():
        kv = DictKV()
        failures = []
        offered = [e for e in events if engine.wants(e)]
        applied = 0
        for event in offered:
            report = engine.offer(kv, event)
            failures += report.failures
            applied += report.applied
        report = engine.drain(kv)
        assert not failures and not report.failures, ks
        assert applied + report.applied == len(offered), f"{ks}: an event was dropped"
        _finite(kv)


def test_engine_is_shared_by_all_key_spaces() -> None:
    assert {d.key_space for d in DETECTORS} <= {"street", "district", "case"}
    assert all(isinstance(e, Engine) for e in build_engines(DETECTORS, THRESHOLDS).values())
