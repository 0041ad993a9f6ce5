"""Entity resolution and the relational detector (issue 11): the cases that must link and must not."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from warning.core.detectors.relational.compare import compare
from warning.core.detectors.relational.detector import RelationalDetector, RelationalParams
from warning.core.detectors.relational.fs import MatchWeights, fit
from warning.core.detectors.relational.resolve import Resolver, ResolverParams
from warning.core.engine import DictKV, Engine
from warning.core.events import Event, Location, Party
from warning.core.tokens import Tokeniser, group
from warning.pipeline import default_match_weights

TOK = Tokeniser(b"relational-test-key-0123")
TZ = timezone(timedelta(hours=8))
ID = "330302194405289687"
TWIN = "330302194405289679"  # same region and birth date, next sequence number
PHONE = "15512349505"


def weights() -> MatchWeights:
    return default_match_weights()


def resolve_all(records: list[dict[str, Any]], params: ResolverParams | None = None) -> list[str]:
    """Cluster roots of each record, resolved in order."""
    resolver = Resolver(weights(), params)
    store = DictKV()
    out = []
    for r in records:
        res = resolver.resolve(store, TOK.person(**r))
        assert res is not None
        out.append(res.entity)
    return [resolver.find(store, e) for e in out]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"name": "陈伟强", "id_number": ID}, {"name": "陳偉強", "id_number": ID.lower()}),  # 繁简, lower x
        ({"name": "张伟强", "phone": PHONE}, {"name": "张炜强", "phone": "155****9505"}),  # 同音 + masked
        ({"name": "张伟强", "id_number": ID}, {"name": "张伟强", "id_number": ID[:9] + "7" + ID[10:]}),  # typo'd ID
        ({"name": "张伟强", "id_number": ID}, {"name": "张伟", "id_number": ID}),  # 2 vs 3 characters
        ({"name": "王丽", "phone": PHONE}, {"name": "王女士", "phone": "155****9505"}),  # 称谓 + masked
    ],
    ids=["traditional", "homophone-masked-phone", "typo-id", "dropped-character", "honorific"],
)
def test_variants_of_one_person_link(first: dict[str, str], second: dict[str, str]) -> None:
    a, b = resolve_all([first, second])
    assert a == b


def test_link_reasons_say_why() -> None:
    resolver = Resolver(weights())
    store = DictKV()
    resolver.resolve(store, TOK.person(name="张伟强", phone=PHONE, id_number=ID))
    res = resolver.resolve(store, TOK.person(name="张炜强", id_number=ID[:9] + "7" + ID[10:]))
    assert res is not None and not res.new
    assert "同一身份证号(校验位错误一位)" in res.reasons and "同音姓名" in res.reasons


def test_twins_stay_apart() -> None:
    # same surname, birth date, region, parents' phone; the ID numbers differ in two places
    a, b = resolve_all([
        {"name": "杨芳", "id_number": ID, "phone": PHONE},
        {"name": "杨平", "id_number": TWIN, "phone": PHONE},
    ])  # fmt: skip
    assert a != b
    assert compare(group(TOK.person(id_number=ID)), group(TOK.person(id_number=TWIN)))[0] == 2


def test_a_twins_id_less_mentions_do_not_let_the_other_twins_id_in() -> None:
    # the second twin's records without an ID number look like the first twin's (surname,
    # birth date, home, phone, a name one character off); once one carries the other
    # well-formed ID, it is another person, however many of those joined the first
    born = datetime(1944, 5, 28).date()
    home = {"phone": PHONE, "address": "北岙街道海滨路12号3幢1单元501室", "birth_date": born}
    roots = resolve_all([
        {"name": "杨芳", "id_number": ID, **home},
        {"name": "杨芳", **home},
        {"name": "杨平", **home},
        {"name": "杨平", "id_number": TWIN, **home},
        {"name": "杨芳", "id_number": ID, **home},
    ])  # fmt: skip
    assert roots[0] == roots[1] == roots[4] != roots[3]


def test_a_hub_phone_is_no_evidence_once_capped() -> None:
    # a front desk's number, given by more people than block_cap: "高女士" calling from it is
    # not 高辉辉, who once gave it too (the number alone would have linked them)
    hub = "13800577000"
    params = ResolverParams(block_cap=8)
    names = ["李娜", "赵强", "孙丽", "周杰", "吴敏", "郑涛", "冯雪", "陈刚", "褚红", "卫东"]
    roots = resolve_all([{"name": n, "phone": hub} for n in names] + [
        {"name": "高辉辉", "phone": hub, "id_number": ID},
        {"name": "高女士", "phone": hub},
    ], params)  # fmt: skip
    assert roots[-1] != roots[-2]


def test_same_name_strangers_stay_apart() -> None:
    a, b = resolve_all([
        {"name": "张伟", "id_number": ID, "phone": PHONE},
        {"name": "张伟", "id_number": "330381198001010013", "phone": "13900001111"},
    ])  # fmt: skip
    assert a != b


def test_a_hub_number_does_not_glue_people_and_gets_capped() -> None:
    hub = "057763311000"
    names = ["李娜", "赵强", "孙丽", "周杰", "吴敏", "郑涛", "冯雪", "陈刚", "褚红", "卫东", "蒋平", "沈洁"]
    params = ResolverParams(block_cap=8)
    roots = resolve_all([{"name": n, "phone": hub} for n in names], params)
    assert len(set(roots)) == len(names)
    resolver, store = Resolver(weights(), params), DictKV()
    for n in names:
        resolver.resolve(store, TOK.person(name=n, phone=hub))
    ph = next(t for t in TOK.phone(hub) if t.startswith("ph:"))
    assert store.get(f"tok:{ph}") == {"cap": params.block_cap + 1}


def test_a_bare_honorific_does_not_bridge_two_people() -> None:
    roots = resolve_all([
        {"name": "王伟", "id_number": ID},
        {"name": "王强", "id_number": "330381198001010013"},
        {"name": "王先生"},
    ])  # fmt: skip
    assert roots[0] != roots[1]


def test_state_is_json_and_touched_entry_by_entry() -> None:
    resolver, store = Resolver(weights()), DictKV()
    resolver.resolve(store, TOK.person(name="张伟强", phone=PHONE, id_number=ID))
    before = dict(store.data)
    json.loads(json.dumps(store.data))
    resolver.resolve(store, TOK.person(name="李娜", phone="13900001111"))
    changed = {k for k in store.data if store.data[k] != before.get(k)}
    assert all(k.startswith(("tok:", "ent:", "meta")) for k in changed)
    assert not any(k in changed for k in before if k.startswith("ent:"))  # the other person untouched


def test_em_learns_that_agreement_is_evidence() -> None:
    matches = [(0, -1, -1, 0, 0, -1)] * 300 + [(0, -1, -1, -1, 1, -1)] * 100
    strangers = [(2, -1, -1, 4, 6, -1)] * 2000 + [(-1, -1, -1, 4, 0, -1)] * 100
    w = fit(matches + strangers[:200], strangers)
    assert w.probability((0, -1, -1, 0, 0, -1)) > 0.99
    assert w.probability((2, -1, -1, 4, 6, -1)) < 0.01
    assert MatchWeights.from_dict(json.loads(json.dumps(w.to_dict()))) == w


def event(i: int, day: int, channel: str, grid: str, parties: tuple[Party, ...], category: str = "labour") -> Event:
    t = datetime(2026, 3, 1, 10, tzinfo=TZ) + timedelta(days=day, minutes=i)
    street, community = grid.split("-")[0], "-".join(grid.split("-")[:2])
    return Event(f"e{i}", channel, f"r{i}", t, t, Location(street, community, grid), category, parties=parties)  # type: ignore[arg-type]


def complainant(name: str, id_number: str = "", phone: str = "") -> Party:
    return Party("complainant", name, tokens=TOK.person(name=name, id_number=id_number, phone=phone))


def run(events: list[Event]) -> list[tuple[str, str]]:
    det = RelationalDetector(RelationalParams(), weights())
    engine, kv = Engine("district", [det], timedelta(0)), DictKV()
    alerts = []
    for e in events:
        alerts += engine.offer(kv, e).alerts
    alerts += engine.drain(kv).alerts
    json.loads(json.dumps(kv.data))
    return [(a.details["kind"], a.level) for a in alerts]


def test_same_person_across_channels_and_grids_alerts_with_reasons() -> None:
    det = RelationalDetector(RelationalParams(), weights())
    store = DictKV()
    es = [
        event(1, 0, "hotline", "S01-C01-G01", (complainant("张女士", phone="155****9505"),)),
        event(2, 3, "grid", "S01-C01-G02", (complainant("张伟强", id_number=ID, phone=PHONE),)),
        event(3, 9, "petition", "S01-C02-G01", (complainant("张炜强", id_number=ID),)),
    ]
    alerts = [a for e in es for a in det.update(store, "district", e).alerts]
    assert len(alerts) == 1
    a = alerts[0]
    assert a.type == "relational" and a.unit == "S01" and a.departments == ("人社局",)
    assert set(a.evidence) == {"e1", "e2", "e3"}
    assert any(i.name == "link_reason" and "同一身份证号" in i.label for i in a.indicators)
    assert "张" not in a.title  # no names in titles


def test_unrelated_people_raise_nothing() -> None:
    names = ["李娜", "赵强", "孙丽", "周杰", "吴敏", "郑涛"]
    es = [event(i, i, "hotline", f"S01-C01-G0{i % 3 + 1}", (complainant(n, phone=f"1390000{i:04d}"),))
          for i, n in enumerate(names)]  # fmt: skip
    assert run(es) == []


def test_many_against_one_respondent_after_warm_up() -> None:
    import random

    rng = random.Random(5)
    surnames, given = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    names = iter({rng.choice(surnames) + rng.choice(given) + rng.choice(given) for _ in range(60)})

    def caller() -> Party:
        return complainant(next(names), phone=f"13{rng.randrange(10**9):09d}")

    firm = Party("respondent", "鑫源建筑劳务有限公司")
    quiet = [event(i, i * 10, "hotline", "S01-C01-G01", (caller(), firm)) for i in range(8)]
    burst = [event(100 + i, 90 + i % 5, "hotline", "S01-C01-G02", (caller(), Party("respondent", "鑫源公司")))
             for i in range(12)]  # fmt: skip
    kinds = run(quiet + burst)
    assert ("many_against_one", "yellow") in kinds
    assert run(quiet) == []
