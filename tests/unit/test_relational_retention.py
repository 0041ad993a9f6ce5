"""Relational state eviction (issue 11): entries not seen for the retention horizon are dropped,
only the entries concerned are touched, and the state stays bounded over a district-year."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from warning.core.detectors.relational.detector import RelationalDetector, RelationalParams
from warning.core.detectors.relational.resolve import entity_id
from warning.core.engine import DictKV
from warning.core.events import Event, Location, Party
from warning.core.tokens import Tokeniser
from warning.pipeline import default_match_weights

TOK = Tokeniser(b"relational-retention-key-01")
TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 1, 1, 10, tzinfo=TZ)
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def name(i: int) -> str:
    rng = random.Random(i)
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def person(i: int) -> Party:
    """A resident of their own: a seeded name and phone (common names recur, as in a district)."""
    phone = f"1{random.Random(-i).randrange(3 * 10**9, 9 * 10**9):010d}"
    return Party("complainant", name(i), tokens=TOK.person(name=name(i), phone=phone))


def event(n: int, at: datetime, parties: tuple[Party, ...], respondent: str | None = None) -> Event:
    grid = f"S0{n % 3 + 1}-C01-G0{n % 4 + 1}"
    ps = parties + ((Party("respondent", respondent),) if respondent else ())
    loc = Location(grid[:3], grid[:7], grid)
    return Event(f"e{n}", "hotline", f"r{n}", at, at, loc, "labour", parties=ps)


def detector(retention_days: int = 60) -> RelationalDetector:
    return RelationalDetector(replace(RelationalParams(), retention_days=retention_days), default_match_weights())


def test_an_entity_not_seen_for_the_horizon_is_evicted_with_its_index_entries() -> None:
    det, store = detector(60), DictKV()
    det.update(store, "district", event(1, T0, (person(1),), "鑫源建筑劳务有限公司"))
    gone = {k for k in store.data if not k.startswith(("gc", "meta"))}
    assert any(k.startswith("ent:") for k in gone) and any(k.startswith("tok:") for k in gone)
    assert any(k.startswith("rs:") for k in gone)
    # person 2 keeps coming back; person 1 never does
    for d in range(0, 70, 10):
        det.update(store, "district", event(100 + d, T0 + timedelta(days=d, hours=1), (person(2),)))
    after = set(store.data)
    shared = {k for k in gone & after if k.startswith("tok:")}  # a key person 2 carries too
    assert not (gone & after) - shared, sorted(gone & after)
    assert all(entity_id("e1#0") not in store.data[k] for k in shared)  # person 1 founded by e1
    assert any(k.startswith("ent:") for k in after)  # person 2 still there
    json.loads(json.dumps(store.data))


def test_a_returning_person_inside_the_horizon_stays_linked() -> None:
    det, store = detector(60), DictKV()
    p = person(7)
    first = det.update(store, "district", event(1, T0, (p,)))
    assert not first.alerts
    for d in range(1, 120, 20):  # seen every 20 days: never idle for the 60-day horizon
        det.update(store, "district", event(10 + d, T0 + timedelta(days=d), (person(500 + d),)))
    det.update(store, "district", event(2, T0 + timedelta(days=50), (p,)))
    det.update(store, "district", event(3, T0 + timedelta(days=100), (p,)))
    ents = [k for k, v in store.data.items() if k.startswith("pv:") and len(v["r"]) >= 1]
    roots = {k for k in ents if any(r[4] == "e3" for r in store.data[k]["r"])}
    assert len(roots) == 1
    (root,) = roots
    assert store.data[root]["ls"] == int((T0 + timedelta(days=100)).timestamp())


def test_eviction_touches_only_the_entries_it_concerns() -> None:
    det, store = detector(30), DictKV()
    det.update(store, "district", event(1, T0, (person(1),)))
    det.update(store, "district", event(2, T0 + timedelta(days=20), (person(2),)))
    before = dict(store.data)
    det.update(store, "district", event(3, T0 + timedelta(days=31), (person(3),)))
    changed = {k for k in set(before) | set(store.data) if before.get(k) != store.data.get(k)}
    person2 = {k for k in before if k.startswith(("ent:", "pv:")) and entity_id("e2#0") in k}
    assert person2 and not changed & person2  # the other, still-recent person untouched


def test_state_stays_bounded_over_a_district_year() -> None:
    """New people every day for a year: the entry count levels off at ~horizon x daily arrivals."""
    det, store = detector(60), DictKV()
    sizes = {}
    n = 0
    for day in range(365):
        for k in range(6):
            n += 1
            at = T0 + timedelta(days=day, minutes=37 * k)
            det.update(store, "district", event(n, at, (person(n),), "佳园物业服务有限公司" if k == 0 else None))
        if day in (90, 180, 364):
            sizes[day] = len(store.data)
    assert sizes[364] <= sizes[90] * 1.1, sizes  # bounded, not growing with the days
