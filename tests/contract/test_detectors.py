"""One contract suite over every detector `build_detectors` returns (STYLE X3, D1, D6).

Every detector runs through the engine, the loop the shells use: state only in the store
(a copying store gives the same alerts), JSON round-trip of the store at any point with
identical subsequent alerts, the same event twice = once, input shuffled within the lateness
bound = sorted input, determinism, well-formed alerts with evidence, no mutable default
parameters and parameters stored unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import random
import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import numpy as np
import pytest

from warning.core.engine import KV, DictKV, Engine
from warning.core.events import Alert, Event, Location, Party
from warning.core.ports import Detector
from warning.core.taxonomy import CHANNELS
from warning.core.tokens import Tokeniser
from warning.pipeline import build_detectors
from warning.thresholds import Thresholds

TZ = timezone(timedelta(hours=8))
CJK = re.compile(r"[\u4e00-\u9fff]")
DETECTORS = build_detectors(Thresholds(version="contract"))
LATENESS = timedelta(minutes=30)


@cache
def stream() -> tuple[Event, ...]:
    """45 seeded days over two streets: background, a burst, rule-triggering texts, a spike day."""
    rng = np.random.default_rng(2026)
    start = datetime(2026, 3, 2, tzinfo=TZ)
    out: list[Event] = []
    texts = ["", "", "", "", "楼道漏水", "工人聚集讨薪", "围堵大门"]
    tokeniser = Tokeniser(b"contract-key-0123456789")
    callers = [("张伟", "110101199003071234", "13912345678"), ("李娜", "110101198507152345", "13812345678")]
    people = [  # two repeat callers across channels and grids, for the person-linked detectors
        Party("complainant", n, f"p{k}", f"ph{k}", tuple(tokeniser.person(name=n, id_number=idn, phone=ph)))
        for k, (n, idn, ph) in enumerate(callers)
    ]
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
                    case_ref=f"TJ{i % 7}" if i % 5 == 0 else "",  # a few cases for the case detector
                    parties=(people[i % 2],) if i % 6 == 0 else (),
                )
            )
    out.sort(key=lambda e: (e.occurred_at, e.event_id))
    return tuple(out)


def replay(det: Detector, events: Iterable[Event], kv: KV | None = None) -> tuple[dict[str, Any], list[Alert]]:
    """The engine over `det` alone (the loop every shell uses); returns the store and the alerts."""
    store = kv if kv is not None else DictKV()
    engine = Engine(det.key_space, [det], lateness=LATENESS)
    alerts: list[Alert] = []
    for e in events:
        alerts += engine.offer(store, e).alerts
    alerts += engine.drain(store).alerts
    data = store.data if isinstance(store, DictKV) else {}
    return data, alerts


class CopyingKV(DictKV):
    """A store that hands out and keeps copies: a detector that mutates what `get` returned
    without `put` (state the shell would never persist) gives different alerts here."""

    def get(self, key: str) -> Any:
        return copy.deepcopy(super().get(key))

    def put(self, key: str, value: Any) -> None:
        super().put(key, copy.deepcopy(value))


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


def test_keys_are_strings_in_the_declared_key_space(det: Detector) -> None:
    assert det.key_space in ("street", "district", "case")
    for e in stream()[:300]:
        keys = det.keys(e)
        assert all(isinstance(k, str) and k for k in keys)
        assert len(keys) <= 1 or det.key_space == "district"  # one partition per event and key space


def test_state_lives_only_in_the_store(det: Detector) -> None:
    _, plain = replay(det, stream())
    _, copied = replay(det, stream(), CopyingKV())
    assert as_json(plain) == as_json(copied)


def test_state_round_trip_gives_identical_alerts(det: Detector) -> None:
    events = stream()
    cut = len(events) * 2 // 3
    straight, alerts_a = replay(det, events)
    engine = Engine(det.key_space, [det], lateness=LATENESS)
    kv = DictKV()
    first = [a for e in events[:cut] for a in engine.offer(kv, e).alerts]
    revived = DictKV(json.loads(json.dumps(kv.data)))  # what a changelog restore gives back
    again = Engine(det.key_space, [det], lateness=LATENESS)
    second = [a for e in events[cut:] for a in again.offer(revived, e).alerts] + again.drain(revived).alerts
    assert as_json(first + second) == as_json(alerts_a)
    assert json.dumps(revived.data, sort_keys=True) == json.dumps(straight, sort_keys=True)


def test_same_event_twice_is_applied_once(det: Detector) -> None:
    _, once = replay(det, stream())
    _, twice = replay(det, (x for e in stream() for x in (e, e)))
    assert as_json(twice) == as_json(once)


def test_shuffled_within_the_lateness_bound_gives_the_same_alerts(det: Detector) -> None:
    events = list(stream())
    rng = random.Random(7)
    shuffled: list[Event] = []
    for i in range(0, len(events), 4):  # small blocks, shuffled only when inside the bound
        block = events[i : i + 4]
        if block[-1].occurred_at - block[0].occurred_at < LATENESS:
            rng.shuffle(block)
        shuffled += block
    assert shuffled != events
    _, in_order = replay(det, events)
    _, disordered = replay(det, shuffled)
    assert as_json(disordered) == as_json(in_order)


def test_deterministic(det: Detector) -> None:
    _, a = replay(det, stream())
    _, b = replay(det, stream())
    assert as_json(a) == as_json(b)


def test_alerts_are_well_formed(det: Detector) -> None:
    states, alerts = replay(det, stream())
    assert alerts, f"{det.name} raised nothing on the contract stream"
    assert all(a.evidence for a in alerts), "every alert carries its triggering events"
    for a in alerts:
        assert a.indicators
        assert a.score is None or 0.0 <= a.score <= 1.0
        assert CJK.search(a.title), a.title
        assert a.type in {"dynamic", "pattern", "relational", "case"}
        assert a.detector.startswith(det.name)
        assert Alert.from_dict(json.loads(json.dumps(a.to_dict()))) == a
    for s in states.values():
        assert len(json.dumps(s)) < 64_000  # changelog-friendly entries


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


class _CutTable(dict[str, Any]):
    """A Faust table stand-in whose changelog loses the tail of one flush (a SIGKILL mid-send)."""

    def __init__(self) -> None:
        super().__init__()
        self.cut: int | None = None  # writes left before the kill, None: no kill

    def __setitem__(self, key: str, value: Any) -> None:
        if self.cut is not None:
            if self.cut <= 0:
                return
            self.cut -= 1
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if self.cut is not None:
            if self.cut <= 0:
                return
            self.cut -= 1
        super().__delitem__(key)


def _shell_pass(det: Detector, events: list[Event], crash: tuple[int, float] | None) -> list[str]:
    """The stream shell's loop in batches of 8 (`warning.stream.detect`): engine, outputs, then the
    flush; `crash` = (batch, share of its flush that reached the changelog): the worker dies
    there and a new one (new detector objects' engine, JSON-restored table) redelivers from
    that batch on. Returns the distinct alert messages sent, in order."""
    from warning.stream.kv import TableKV

    table, engine, sent, batches = _CutTable(), Engine(det.key_space, [det], lateness=LATENESS), [], 8
    i = 0
    while i < len(events):
        kv, batch = TableKV(table, 0), events[i : i + batches]
        sent += [json.dumps(a.to_dict(), sort_keys=True) for e in batch for a in engine.offer(kv, e).alerts]
        if crash is not None and i // batches == crash[0]:
            table.cut = int(len(kv._dirty) * crash[1])
            kv.flush(object)
            restored = _CutTable()
            restored.update(json.loads(json.dumps(dict(table))))
            table, engine, crash = restored, Engine(det.key_space, [det], lateness=LATENESS), None
            continue  # offsets were not committed: the same batch again
        kv.flush(object)
        i += batches
    kv = TableKV(table, 0)
    sent += [json.dumps(a.to_dict(), sort_keys=True) for a in engine.drain(kv).alerts]
    return list(dict.fromkeys(sent))


@pytest.mark.parametrize("share", [0.0, 0.3, 0.7])
def test_a_batch_cut_short_by_a_crash_gives_the_same_alerts(det: Detector, share: float) -> None:
    """A SIGKILL in the middle of a state flush restores only a prefix of the batch's writes
    (issue 13, bench_faults worker_sigkill): the redelivered batch must give the alerts of a
    pass without the crash - no event dropped as a duplicate with its effects missing, no
    entity renumbered (a relational alert id names its entity)."""
    events = list(stream())
    clean = _shell_pass(det, events, None)
    for batch in (len(events) // 8 // 5, len(events) // 8 // 2):
        assert _shell_pass(det, events, (batch, share)) == clean, (batch, share)
