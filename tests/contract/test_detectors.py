"""One contract suite over every detector `build_detectors` returns (STYLE X3, D1, D6).

Purity (update never mutates its input state), JSON round-trip of state at any point with
identical subsequent alerts, determinism, well-formed alerts, no mutable default parameters
and parameters stored unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import re
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import numpy as np
import pytest

from warning.core.events import Alert, Event, Location
from warning.core.ports import Detector, DetectorState
from warning.core.taxonomy import CHANNELS
from warning.pipeline import build_detectors
from warning.thresholds import Thresholds

TZ = timezone(timedelta(hours=8))
CJK = re.compile(r"[\u4e00-\u9fff]")
DETECTORS = build_detectors(Thresholds(version="contract"))


@cache
def stream() -> tuple[Event, ...]:
    """45 seeded days over two streets: background, a burst, rule-triggering texts, a spike day."""
    rng = np.random.default_rng(2026)
    start = datetime(2026, 3, 2, tzinfo=TZ)
    out: list[Event] = []
    texts = ["", "", "", "", "楼道漏水", "工人聚集讨薪", "围堵大门"]
    for h in range(45 * 24):
        n = int(rng.poisson(0.6))
        if 40 * 24 + 9 <= h < 40 * 24 + 13:
            n += 8  # a burst on day 40
        for _ in range(n):
            street = f"S0{int(rng.integers(1, 3))}"
            grid = f"{street}-C01-G0{int(rng.integers(1, 4))}"
            t = start + timedelta(hours=h, minutes=int(rng.integers(0, 60)))
            i = len(out)
            out.append(
                Event(
                    f"e{i}",
                    CHANNELS[int(rng.integers(0, 3))],
                    f"r{i}",
                    t,
                    t,
                    Location(street, f"{street}-C01", grid),
                    ["labour", "family", "property"][int(rng.integers(0, 3))],
                    text=texts[int(rng.integers(0, len(texts)))],
                    headcount=int(rng.choice([1, 1, 1, 2, 25])),
                )
            )
    out.sort(key=lambda e: (e.occurred_at, e.event_id))
    return tuple(out)


def replay(
    det: Detector, events: tuple[Event, ...], states: dict[str, DetectorState] | None = None
) -> tuple[dict[str, DetectorState], list[Alert]]:
    table = states if states is not None else {}
    alerts: list[Alert] = []
    for e in events:
        k = det.key(e)
        table[k], out = det.update(table.get(k) or det.init_state(), e, e.occurred_at)
        alerts.extend(out)
    return table, alerts


def as_json(alerts: list[Alert]) -> list[dict[str, Any]]:
    return [a.to_dict() for a in alerts]


@pytest.fixture(params=DETECTORS, ids=lambda d: d.name)
def det(request: pytest.FixtureRequest) -> Detector:
    d: Detector = request.param
    return d


def test_registered_detectors() -> None:
    assert {d.name for d in DETECTORS} >= {"dynamic", "pattern", "pattern_district"}
    assert len({d.name for d in DETECTORS}) == len(DETECTORS)  # names are table names: unique


def test_protocol_and_version(det: Detector) -> None:
    assert isinstance(det, Detector)
    assert det.version


def test_init_state_is_json(det: Detector) -> None:
    s = det.init_state()
    assert json.loads(json.dumps(s)) == s
    assert det.init_state() is not s  # a fresh state each time


def test_update_never_mutates_its_input(det: Detector) -> None:
    states: dict[str, DetectorState] = {}
    for e in stream()[:3000]:
        k = det.key(e)
        before = states.get(k) or det.init_state()
        frozen = copy.deepcopy(before)
        states[k], _ = det.update(before, e, e.occurred_at)
        assert before == frozen


def test_state_round_trip_gives_identical_alerts(det: Detector) -> None:
    events = stream()
    cut = len(events) * 2 // 3
    straight, alerts_a = replay(det, events)
    states, first = replay(det, events[:cut])
    revived = {k: json.loads(json.dumps(v)) for k, v in states.items()}
    revived, second = replay(det, events[cut:], revived)
    assert as_json(first + second) == as_json(alerts_a)
    assert json.dumps(revived, sort_keys=True) == json.dumps(straight, sort_keys=True)


def test_deterministic(det: Detector) -> None:
    _, a = replay(det, stream())
    _, b = replay(det, stream())
    assert as_json(a) == as_json(b)


def test_alerts_are_well_formed(det: Detector) -> None:
    states, alerts = replay(det, stream())
    assert alerts, f"{det.name} raised nothing on the contract stream"
    for a in alerts:
        assert a.indicators
        assert a.score is None or 0.0 <= a.score <= 1.0
        assert CJK.search(a.title), a.title
        assert a.type in {"dynamic", "pattern", "relational", "case"}
        assert a.detector.startswith(det.name)
        assert Alert.from_dict(json.loads(json.dumps(a.to_dict()))) == a
    for s in states.values():
        assert len(json.dumps(s)) < 64_000  # changelog-friendly


def test_key_is_a_string(det: Detector) -> None:
    assert all(isinstance(det.key(e), str) and det.key(e) for e in stream()[:200])


def test_no_mutable_default_params(det: Detector) -> None:
    for p in inspect.signature(type(det).__init__).parameters.values():
        assert not isinstance(p.default, list | dict | set | bytearray), p.name


def test_params_stored_unchanged(det: Detector) -> None:
    params: Any = getattr(det, "params", None)
    assert params is not None
    assert dataclasses.is_dataclass(params) and not isinstance(params, type)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(params, dataclasses.fields(params)[0].name, None)
    for f in dataclasses.fields(params):
        assert not isinstance(getattr(params, f.name), list | dict | set)
    again = type(det)(params)  # type: ignore[call-arg]  # every registered detector takes params first
    assert getattr(again, "params", None) is params
