"""Metrics completeness (issue 14, item 4): per-detector timing, state size, case model, Faust's sensors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from warning.core.detectors.case import FEATURES, CaseDetector, CaseParams, LinearCaseModel
from warning.core.engine import DictKV, Engine
from warning.core.events import Event, Location
from warning.core.ports import NOTHING, Outcome
from warning.devtools.testing import T0
from warning.metrics import DETECTORS, Metrics, faust_metrics
from warning.pipeline import build_detectors, load_artefacts
from warning.stream.app import count_state
from warning.stream.timing import Timed, state_entries, state_owner, timed
from warning.thresholds import load


class _Slow:
    name = "dynamic"
    version = "1"
    key_space = "street"

    def __init__(self) -> None:
        self.model = "an artefact"

    def keys(self, event: Any) -> list[str]:
        return ["k"]

    def update(self, store: Any, key: str, event: Any) -> Outcome:
        return NOTHING

    def receive(self, store: Any, key: str, message: Any) -> Outcome:
        raise RuntimeError("boom")


def test_timed_detector_observes_every_call_and_behaves_as_the_detector() -> None:
    m = Metrics.create(CollectorRegistry())
    wrapped = Timed(_Slow(), m.detector_seconds)  # type: ignore[arg-type]  # a stand-in detector
    assert (wrapped.name, wrapped.key_space, wrapped.model) == ("dynamic", "street", "an artefact")
    engine = Engine("street", [wrapped])
    kv = DictKV()
    for i in range(3):
        t = T0 + timedelta(minutes=i)
        engine.offer(kv, Event(f"e{i}", "hotline", f"r{i}", t, t, Location("S01", "S01-C01", "S01-C01-G01"), "labour"))
    engine.drain(kv)
    with pytest.raises(RuntimeError):
        wrapped.receive(None, "k", None)  # type: ignore[arg-type]  # the stand-in ignores them
    count = m.registry.get_sample_value("warning_detector_seconds_count", {"detector": "dynamic"})
    assert count == 4  # three updates and the failed receive (a slow failure is still slow)


def test_every_enabled_detector_has_a_pre_created_label() -> None:
    detectors = build_detectors(load(None).thresholds, load_artefacts())
    names = {d.name for d in detectors}
    assert names and names <= set(DETECTORS), f"add {names - set(DETECTORS)} to warning.metrics.DETECTORS"
    m = Metrics.create(CollectorRegistry())
    assert all(t.name in names for t in timed(detectors, m.detector_seconds))


@pytest.mark.parametrize(
    ("key", "owner"),
    [
        ("0/dynamic|S01-C01-G01|hist", "dynamic"),
        ("3/pattern_district|d|x", "pattern_district"),
        ("1/~clock", "engine"),
        ("12/~buf/7", "engine"),
    ],
)
def test_state_owner_reads_the_key_layout(key: str, owner: str) -> None:
    assert state_owner(key) == owner


def test_state_entries_counts_by_owner() -> None:
    keys = ["0/case|a|s", "0/case|b|s", "1/relational|p|s", "0/~clock", 42]
    assert state_entries(keys) == {"case": 2, "relational": 1, "engine": 1}


def test_new_metrics_are_exposed_with_bounded_labels() -> None:
    registry = CollectorRegistry()
    m = Metrics.create(registry)
    faust_metrics(registry)  # beside ours on the same registry, as the worker does
    m.case_model.info({"version": "v3", "scoring": "yes"})
    m.case_score.observe(0.72)
    text = generate_latest(registry).decode()
    for name in DETECTORS:
        assert f'warning_detector_seconds_count{{detector="{name}"}} 0.0' in text
    assert 'warning_state_entries{detector="engine"} 0.0' in text
    assert 'warning_case_model_info{scoring="yes",version="v3"} 1.0' in text
    assert "warning_case_score_count 1.0" in text
    assert "warning_healthy 1.0" in text  # healthy until the first verdict says otherwise
    assert "# TYPE faust_messages_received_total counter" in text
    assert "# TYPE warning_late_events_total counter" in text


async def test_count_state_sums_every_table_in_chunks() -> None:
    street = {f"{p}/dynamic|S01-C01-G0{i}|h": 1 for p in range(2) for i in range(5)} | {"0/~clock": 1, "1/~src": 1}
    case = {"0/case|person:x|s": 1, "0/~clock": 1}
    counts = await count_state([street, case], chunk=3)
    assert counts == {"dynamic": 10, "engine": 3, "case": 1}


def test_case_scores_of_every_event_are_observed_and_match_the_alerts_score() -> None:
    n = len(FEATURES)
    coef = np.zeros(n)
    coef[FEATURES.index("failed_mediations")] = 2.0
    model = LinearCaseModel("t1", FEATURES, np.zeros(n), np.ones(n), coef, -2.0)
    m = Metrics.create(CollectorRegistry())
    (det,) = timed([CaseDetector(CaseParams(), model)], m.detector_seconds, m.case_score)
    engine = Engine("case", [det])
    kv = DictKV()
    loc = Location("S01", "S01-C01", "S01-C01-G01")
    alerts = []
    for i, text in enumerate(["咨询", "调解未果", "第2次调解未果"]):
        t = T0 + timedelta(days=i)
        event = Event(f"c{i}", "grid", f"r{i}", t, t, loc, "family", case_ref="TJ9", text=text)
        alerts += engine.offer(kv, event).alerts
    alerts += engine.drain(kv).alerts
    assert m.registry.get_sample_value("warning_case_score_count") == 3  # every event, alerted or not
    scored = [a.score for a in alerts if a.score is not None]
    assert scored, "the model should have raised the case"
    total = m.registry.get_sample_value("warning_case_score_sum")
    assert total is not None and max(scored) <= total
    state = kv.get("case|TJ9|state")
    assert state is not None and abs(CaseDetector(CaseParams(), model).score_of(state) - scored[-1]) < 1e-5  # type: ignore[operator]  # float | None
