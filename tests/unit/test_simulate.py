"""The synthetic district: determinism, schema-valid records, ground truth, seasonality, live mode."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warning.core import units
from warning.core.ingest import IngestLimits, Pseudonymiser, ingest
from warning.core.taxonomy import ALERT_TYPES, CATEGORIES, Channel
from warning.settings import Settings
from warning.simulate import calendar as cal_mod
from warning.simulate import names
from warning.simulate.district import District, SimConfig, arrivals, file_names, publish_live, write

SMALL = SimConfig(seed=11, start=date(2026, 1, 1), days=21, streets=9, grids=60, scale=0.15)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("sim")
    return out, write(District(SMALL), out, Settings().topics_dir)


def _files(out: Path) -> dict[Channel, Path]:
    return {c: out / n for c, n in file_names(Settings().topics_dir).items()}


def _records(out: Path) -> dict[Channel, list[dict[str, Any]]]:
    return {
        c: [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()] for c, p in _files(out).items()
    }


def test_output_files_are_named_by_the_topic_catalogue(small_run: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = small_run
    names_on_disk = sorted(p.name for p in out.iterdir())
    assert names_on_disk == sorted(
        [
            "grid-reports.jsonl",
            "hotline-calls.jsonl",
            "petitions.jsonl",
            "truth.jsonl",
            "geography.json",
            "manifest.json",
        ]
    )
    assert manifest["counts"] == {p.name: len(p.read_text().splitlines()) for p in _files(out).values()}
    assert manifest["seed"] == 11 and manifest["date_range"]["days"] == 21


def test_every_generated_record_ingests_cleanly(small_run: tuple[Path, dict[str, Any]]) -> None:
    out, _ = small_run
    pseudo = Pseudonymiser(b"test-key-0123456789")
    limits = IngestLimits()
    n = 0
    for channel, path in _files(out).items():
        for raw in path.read_bytes().splitlines():
            received = datetime.fromisoformat(json.loads(raw)["occurred_at"])
            event = ingest(channel, raw, received, pseudo, limits)  # raises InvalidEvent on any defect
            assert event.category in CATEGORIES
            assert not re.search(r"\d{17}[\dXx]", event.text)  # identifiers never survive ingest
            n += 1
    assert n > 3000


def test_files_are_sorted_by_occurred_at_and_numbers_unique(small_run: tuple[Path, dict[str, Any]]) -> None:
    out, _ = small_run
    id_field = {"grid": "report_id", "hotline": "ticket_no", "petition": "case_no"}
    for channel, recs in _records(out).items():
        times = [datetime.fromisoformat(r["occurred_at"]) for r in recs]
        assert times == sorted(times), channel
        assert all(r["occurred_at"].endswith("+08:00") for r in recs)
        refs = [r[id_field[channel]] for r in recs]
        assert len(refs) == len(set(refs)), channel


def test_raw_identifiers_exist_in_inputs_and_are_valid(small_run: tuple[Path, dict[str, Any]]) -> None:
    out, _ = small_run
    ids = [p["id_number"] for r in _records(out)["petition"] for p in r["parties"] if "id_number" in p]
    assert len(ids) > 100
    valid = sum(names.is_valid_id(i) for i in ids)
    assert valid / len(ids) > 0.95  # a few clerk typos are intended
    phones = [p["phone"] for r in _records(out)["hotline"] for p in r["parties"] if "phone" in p]
    assert any("****" in ph for ph in phones) and any(re.fullmatch(r"1\d{10}", ph) for ph in phones)


def test_truth_covers_every_warning_type_and_refs_exist(small_run: tuple[Path, dict[str, Any]]) -> None:
    out, _ = small_run
    truth = [json.loads(line) for line in (out / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {t["type"] for t in truth} == set(ALERT_TYPES)
    id_field = {"grid": "report_id", "hotline": "ticket_no", "petition": "case_no"}
    refs = {r[id_field[c]] for c, recs in _records(out).items() for r in recs}
    for t in truth:
        assert t["source_refs"], t["incident_id"]
        assert set(t["source_refs"]) <= refs, t["incident_id"]
        assert units.is_unit(t["unit"]) and units.street_of(t["unit"]) in (t["street"], "district")
        assert t["start"] <= t["end"] and t["start"].endswith("+08:00")
        assert t["category"] is None or t["category"] in CATEGORIES
    # case records share their case_ref
    case_refs = {r.get("case_ref") for recs in _records(out).values() for r in recs}
    assert all(t["case_ref"] in case_refs for t in truth if t["type"] == "case")
    assert any(t["negative"] for t in truth) and any(
        t["expected_level"] == "red" for t in truth if t["type"] == "dynamic" or t["type"] == "case"
    )


def test_truth_holds_no_raw_identifiers(small_run: tuple[Path, dict[str, Any]]) -> None:
    out, _ = small_run
    text = (out / "truth.jsonl").read_text(encoding="utf-8")
    assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", text)
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)


def test_geography_codes_follow_units(small_run: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = small_run
    geo = json.loads((out / "geography.json").read_text(encoding="utf-8"))
    assert len(geo["streets"]) == 9
    grids = [g for s in geo["streets"] for c in s["communities"] for g in c["grids"]]
    assert len(grids) == 60 == manifest["geography"]["grids"]
    for s in geo["streets"]:
        assert units.kind(s["code"]) == "street" and s["name"].endswith(("街道", "镇", "乡", "区"))
        for c in s["communities"]:
            assert units.parent(c["code"]) == s["code"] and c["name"].endswith(("社区", "村"))
            for g in c["grids"]:
                assert units.parent(g["code"]) == c["code"] and g["population"] > 0


def test_default_geography_is_in_domain_ranges() -> None:
    d = District(SimConfig(seed=3, days=1, scale=0.01))
    assert 9 <= len(d.geography.streets) <= 21
    assert 300 <= len(d.geography.grids) <= 750


def test_same_seed_gives_byte_identical_files_even_across_processes(
    small_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, _ = small_run
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # a different str hash must not matter
    args = [
        "simulate",
        "--days",
        "21",
        "--seed",
        "11",
        "--start",
        "2026-01-01",
        "--streets",
        "9",
        "--grids",
        "60",
        "--scale",
        "0.15",
        "--out",
        str(tmp_path),
    ]
    code = "import sys; from warning.cli import app; sys.argv = ['warning', *sys.argv[1:]]; app()"
    res = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )
    assert res.returncode == 0, res.stderr
    for name in (
        "grid-reports.jsonl",
        "hotline-calls.jsonl",
        "petitions.jsonl",
        "truth.jsonl",
        "geography.json",
        "manifest.json",
    ):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_a_different_seed_gives_different_data(small_run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    out, _ = small_run
    write(
        District(
            SimConfig(
                **{
                    **SMALL.to_dict(),
                    "seed": 12,
                    "start": SMALL.start,
                    "campaigns": SMALL.campaigns,
                    "fishing_season": SMALL.fishing_season,
                }
            )
        ),
        tmp_path,
        Settings().topics_dir,
    )
    assert (tmp_path / "hotline-calls.jsonl").read_bytes() != (out / "hotline-calls.jsonl").read_bytes()


def _labour_per_day(cfg: SimConfig, first: date, last: date) -> float:
    d = District(cfg)
    n = sum(
        1
        for rec in d.records()
        if '"category":"labour"' in rec.line
        and first.isoformat() <= rec.line.split('"occurred_at":"')[1][:10] <= last.isoformat()
    )
    return n / ((last - first).days + 1)


def test_wage_disputes_rise_in_the_three_weeks_before_spring_festival() -> None:
    spring_festival = date(2026, 2, 17)  # from the holidays package; checked in the next test
    cfg = SimConfig(seed=5, start=date(2026, 1, 20), days=28, streets=9, grids=80, scale=0.3)
    with_peak = _labour_per_day(cfg, spring_festival - timedelta(days=21), spring_festival - timedelta(days=1))
    baseline_cfg = SimConfig(seed=5, start=date(2026, 1, 20), days=28, streets=9, grids=80, scale=0.3, incidents=0)
    baseline = _labour_per_day(baseline_cfg, spring_festival - timedelta(days=21), spring_festival - timedelta(days=1))
    assert with_peak > 1.5 * baseline > 0


@pytest.mark.parametrize(
    ("day", "holiday", "workday", "fishing", "campaign"),
    [
        (date(2026, 2, 17), True, False, False, False),  # 春节
        (date(2026, 10, 1), True, False, True, True),  # 国庆, fishing season, autumn campaign
        (date(2026, 6, 10), False, True, False, True),  # a Wednesday in the 5-7月 campaign
        (date(2026, 8, 1), False, False, False, False),  # a Saturday in the fishing moratorium
    ],
)
def test_calendar(day: date, holiday: bool, workday: bool, fishing: bool, campaign: bool) -> None:
    cal = cal_mod.build(date(2026, 1, 1), date(2026, 12, 31))
    assert date(2026, 2, 17) in cal.spring_festivals
    assert cal.is_holiday(day) is holiday
    assert cal.is_workday(day) is workday
    assert cal.in_fishing_season(day) is fishing
    assert cal.in_campaign(day) is campaign


def test_holiday_effects_on_daily_factors() -> None:
    cal = cal_mod.build(date(2026, 1, 1), date(2026, 12, 31))
    festival, ordinary = date(2026, 2, 18), date(2026, 3, 18)
    assert cal_mod.day_factor("family", festival, cal) > cal_mod.day_factor("family", ordinary, cal)
    assert cal_mod.day_factor("labour", festival, cal) < cal_mod.day_factor("labour", ordinary, cal)
    assert cal_mod.channel_factor("petition", festival, cal) < cal_mod.channel_factor("petition", ordinary, cal)


@pytest.mark.parametrize(
    ("first17", "check"),
    [("11010519491231002", "X"), ("44052418800101001", "4")],  # published valid examples,
)
def test_id_check_digit(first17: str, check: str) -> None:
    assert names.id_check_digit(first17) == check
    assert names.is_valid_id(first17 + check)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_generated_people_have_valid_ids_and_phones(seed: int) -> None:
    import random

    p = names.PersonFactory(random.Random(seed)).person()
    assert names.is_valid_id(p.id_number)
    # ISO 7064 MOD 11-2, stated independently: sum(a_i * 2^(18-i)) % 11 == 1 with X = 10
    digits = [10 if ch == "X" else int(ch) for ch in p.id_number]
    assert sum(a * 2 ** (17 - i) for i, a in enumerate(digits)) % 11 == 1
    assert (int(p.id_number[16]) % 2 == 1) == (p.gender == "M")
    assert re.fullmatch(r"1[3-9]\d{9}", p.phone)
    assert 2 <= len(p.name) <= 3
    variant, kind = names.name_variant(p.name, random.Random(seed))
    assert (variant == p.name) == (kind == "exact")
    masked = names.mask_phone(p.phone)
    assert masked[:3] == p.phone[:3] and masked[3:7] == "****" and masked[7:] == p.phone[7:]


@pytest.mark.parametrize(
    ("name", "allowed"),
    [("张伟", {"章伟", "張伟", "张炜", "张玮", "张偉"}), ("侯明", {"候明", "侯鸣", "侯铭"})],
)
def test_name_variants_are_realistic(name: str, allowed: set[str]) -> None:
    import random

    seen = {names.name_variant(name, random.Random(i))[0] for i in range(60)}
    assert seen - {name} <= allowed and seen - {name}


class FakeSender:
    def __init__(self, fail_after: int | None = None) -> None:
        self.sent: list[tuple[str, bytes, bytes | None]] = []
        self.flushes = 0
        self.fail_after = fail_after

    def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise KeyboardInterrupt
        self.sent.append((topic, value, key))

    def flush(self) -> None:
        self.flushes += 1


def _fake_time() -> tuple[Callable[[], float], Callable[[float], None], list[float]]:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    return (lambda: now[0]), sleep, sleeps


LIVE = SimConfig(seed=2, start=date(2026, 3, 2), days=2, streets=9, grids=30, scale=0.05, incidents=0)
TOPICS: dict[Channel, str] = {"grid": "grid-reports", "hotline": "hotline-calls", "petition": "petitions"}


def test_live_mode_publishes_every_record_at_the_chosen_rate() -> None:
    clock, sleep, _ = _fake_time()
    sender = FakeSender()
    sent = publish_live(District(LIVE), sender, TOPICS, rate=100.0, sleep=sleep, clock=clock)
    total = sum(sent.values())
    assert total == len(sender.sent) > 50 and sender.flushes == 1
    assert clock() == pytest.approx((total - 1) / 100.0)  # paced, not bursted
    assert {t for t, _, _ in sender.sent} == set(TOPICS.values())
    _, value, key = sender.sent[0]
    assert key is not None and json.loads(value)["location"]["grid_id"] == key.decode()


def test_live_mode_speed_follows_arrival_time_and_reorders_by_channel_lag() -> None:
    clock, sleep, _ = _fake_time()
    sender = FakeSender()
    publish_live(District(LIVE), sender, TOPICS, speed=3600.0, sleep=sleep, clock=clock)
    arrival_times = [a for a, _ in arrivals(District(LIVE), LIVE.seed)]
    assert arrival_times == sorted(arrival_times)
    span = arrival_times[-1] - arrival_times[0]
    assert clock() == pytest.approx(span / 3600.0, rel=1e-6)
    occurred = [datetime.fromisoformat(json.loads(v)["occurred_at"]) for _, v, _ in sender.sent]
    assert occurred != sorted(occurred)  # petitions are registered later than calls of the same hour


def test_live_mode_flushes_on_ctrl_c() -> None:
    clock, sleep, _ = _fake_time()
    sender = FakeSender(fail_after=10)
    with pytest.raises(KeyboardInterrupt):
        publish_live(District(LIVE), sender, TOPICS, rate=1000.0, sleep=sleep, clock=clock)
    assert len(sender.sent) == 10 and sender.flushes == 1


def test_live_mode_needs_exactly_one_pace() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        publish_live(District(LIVE), FakeSender(), TOPICS)


def test_scale_adjusts_volume() -> None:
    small = sum(1 for _ in District(SimConfig(seed=1, days=2, streets=9, grids=30, scale=0.05, incidents=0)).records())
    big = sum(1 for _ in District(SimConfig(seed=1, days=2, streets=9, grids=30, scale=0.2, incidents=0)).records())
    assert 3 * small < big < 5 * small


def test_channel_volumes_differ() -> None:
    counts: Counter[str] = Counter(
        r.channel for r in District(SimConfig(seed=4, days=7, streets=9, grids=30, scale=0.1)).records()
    )
    assert counts["hotline"] > counts["grid"] > counts["petition"] > 0
