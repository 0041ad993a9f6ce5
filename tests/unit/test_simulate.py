"""The synthetic district: determinism, schema-valid records, ground truth, seasonality, live mode."""

from __future__ import annotations

import dataclasses
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
from warning.core.taxonomy import ALERT_TYPES, CATEGORIES, LEVELS, Channel
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
            "case-labels.csv",
            "geography.json",
            "units.csv",
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
    assert any(t["negative"] for t in truth)
    # every dynamic incident says how serious it is (21 days need not hold a red one)
    assert all(t["expected_level"] in LEVELS for t in truth if t["type"] == "dynamic")


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


# ---- honest data (issue 10): no shared code or lists with the detectors, no tells ---------------

SIMULATE_DIR = REPO / "warning" / "simulate"
FORBIDDEN = ("warning.core.detectors", "warning.thresholds", "warning.pipeline")


def _simulator_modules() -> list[Path]:
    return sorted(SIMULATE_DIR.glob("*.py"))


@pytest.mark.parametrize("path", _simulator_modules(), ids=lambda p: p.name)
def test_simulator_imports_nothing_from_detectors_thresholds_or_pipeline(path: Path) -> None:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            base = node.module or ""
            imported += [base, *(f"{base}.{a.name}" for a in node.names)]
    bad = [m for m in imported if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert not bad, f"{path.name} imports {bad}"


def _keyword_lists() -> list[list[str]]:
    import tomllib

    from warning.core.detectors.dynamic import DEFAULT_KEYWORDS

    shipped = tomllib.loads((REPO / "warning" / "thresholds.toml").read_text(encoding="utf-8"))
    return [list(shipped["dynamic"]["keywords"]), [k for k, _ in DEFAULT_KEYWORDS]]


def test_no_detector_keyword_list_is_copied_into_the_simulator() -> None:
    import ast

    lists = _keyword_lists()
    for path in _simulator_modules():
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict):
                elements = node.keys if isinstance(node, ast.Dict) else node.elts
                strings = {e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                for words in lists:
                    # a literal holding half the rule's words is a copy of the list, not natural vocabulary
                    assert len(strings & set(words)) < len(words) / 2, f"{path.name}:{node.lineno} copies {words}"
        for words in lists:
            assert "、".join(words) not in source and ", ".join(f'"{w}"' for w in words) not in source


def test_calendar_periods_are_shifted_per_seed_and_documented(tmp_path: Path) -> None:
    import tomllib

    shipped = tomllib.loads((REPO / "warning" / "thresholds.toml").read_text(encoding="utf-8"))
    season = shipped["calendar"]["fishing_seasons"][0]
    shipped_span = (season["start"], season["end"])
    seen = set()
    for seed in range(1, 6):
        d = District(SimConfig(seed=seed, days=1, streets=9, grids=30, scale=0.01, incidents=0))
        assert d.calendar.fishing_season != shipped_span
        assert d.calendar.campaigns != cal_mod.NOMINAL_CAMPAIGNS
        offsets = d.calendar_shifts["fishing_season"]["offset_days"] + d.calendar_shifts["campaigns"]["offset_days"]
        assert all(5 <= abs(k) <= 21 for k in offsets)
        seen.add(d.calendar.fishing_season)
    assert len(seen) > 1
    given = District(SimConfig(seed=1, days=1, grids=30, streets=9, scale=0.01, fishing_season=("08-01", "01-10")))
    assert given.calendar.fishing_season == ("08-01", "01-10") and "given" in given.calendar_shifts["fishing_season"]
    assert given.calendar.in_fishing_season(date(2027, 1, 5)) and not given.calendar.in_fishing_season(date(2027, 3, 1))


# Tokens of a record that are not its identity, time or people: field names, categorical values,
# due-date offsets, and the clauses of its free text with numbers and the fillers (who, where)
# replaced, so a token is a phrase template a learner could key on.
_CLAUSE = re.compile(r"[，。；：、,;:]")


def _filler_pattern() -> re.Pattern[str]:
    from warning.simulate import vocabulary as vocab

    words = {w for ws in vocab.ACTOR.values() for w in ws} | {w for ws in vocab.PLACE.values() for w in ws}
    words |= set(vocab.DEFAULT_PLACE)
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def _tokens(rec: dict[str, Any], channel: str, filler: re.Pattern[str]) -> set[tuple[Any, ...]]:
    skip = {"report_id", "ticket_no", "case_no", "occurred_at", "location", "parties", "worker_id", "headcount"}
    out: set[tuple[Any, ...]] = {(channel, "keys", tuple(sorted(rec)))}
    t0 = datetime.fromisoformat(rec["occurred_at"])
    for key, value in rec.items():
        if key in skip:
            continue
        if key in ("text", "demand"):
            text = filler.sub("@", re.sub(r"\d+", "#", value))
            out |= {("clause", c) for c in _CLAUSE.split(text) if c}
        elif key in ("due_at", "deadline"):
            out.add((channel, key, (datetime.fromisoformat(value) - t0).total_seconds()))
        elif isinstance(value, list):
            out |= {(channel, key, v) for v in value}
        else:
            out.add((channel, key, value))
    out |= {(channel, "party", p["role"], tuple(sorted(p))) for p in rec["parties"]}
    return out


@pytest.fixture(scope="module")
def month_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("month")
    write(
        District(SimConfig(seed=3, start=date(2026, 3, 2), days=30, difficulty="realistic")), out, Settings().topics_dir
    )
    return out


Tagged = list[tuple[Channel, dict[str, Any]]]


def _split(out: Path, types: tuple[str, ...]) -> tuple[Tagged, Tagged]:
    """(background records, records of incidents of `types`), each with its channel."""
    truth = [json.loads(line) for line in (out / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    injected = {r: t["type"] for t in truth for r in t["source_refs"]}
    id_field = {"grid": "report_id", "hotline": "ticket_no", "petition": "case_no"}
    background: Tagged = []
    incident: Tagged = []
    for channel, recs in _records(out).items():
        for r in recs:
            typ = injected.get(r[id_field[channel]])
            if typ is None:
                background.append((channel, r))
            elif typ in types:
                incident.append((channel, r))
    return background, incident


def test_no_token_flag_or_field_marks_an_injected_record(month_run: Path) -> None:
    background, incident = _split(month_run, ("dynamic", "pattern"))
    filler = _filler_pattern()
    seen: set[tuple[Any, ...]] = set()
    for channel, r in background:
        seen |= _tokens(r, channel, filler)
    tells: Counter[tuple[Any, ...]] = Counter()
    for channel, r in incident:
        tells.update(_tokens(r, channel, filler) - seen)
    assert len(incident) > 100
    assert not tells, f"in injected records only: {tells.most_common(10)}"
    # the old tells exist in ordinary records too
    texts = [r["text"] for _, r in background]
    assert sum("情绪激动，要求尽快处理" in t for t in texts) > 100
    assert sum("gathering" in r.get("flags", []) for _, r in background) > 20


def test_headcounts_of_incidents_and_background_overlap(month_run: Path) -> None:
    background, incident = _split(month_run, ("dynamic",))
    bg_groups = sorted(r["headcount"] for _, r in background if r["headcount"] > 1)
    inc_groups = sorted(r["headcount"] for _, r in incident if r["headcount"] > 1)
    assert inc_groups and len(bg_groups) > 10 * len(inc_groups)
    assert sum(h >= 20 for h in bg_groups) >= 8  # crowds happen without an incident
    inside = sum(bg_groups[0] <= h <= bg_groups[-1] for h in inc_groups)
    assert inside / len(inc_groups) >= 0.95
    # most incident records state no headcount at all
    assert sum(r["headcount"] == 1 for _, r in incident) / len(incident) > 0.5
    # collective petitions of 5-30 people without incident
    assert sum(1 for c, r in background if c == "petition" and 5 <= r["headcount"] <= 30) >= 3


def _peak_6h(times: list[datetime]) -> int:
    """Most of `times` inside any 6-hour window (what a 6 h burst window sees)."""
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u - t < timedelta(hours=6)) for i, t in enumerate(times))


def _dynamic_stats(difficulty: str) -> dict[str, float]:
    import tempfile

    cfg = SimConfig(seed=5, start=date(2026, 3, 2), days=150, streets=9, grids=80, scale=0.03, difficulty=difficulty)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write(District(cfg), out, Settings().topics_dir)
        truth = [json.loads(line) for line in (out / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
        when = {
            r.get("report_id") or r.get("ticket_no") or r.get("case_no"): datetime.fromisoformat(r["occurred_at"])
            for recs in _records(out).values()
            for r in recs
        }
        bursts = [t for t in truth if t["type"] == "dynamic" and t["kind"] == "burst"]
        _, incident = _split(out, ("dynamic",))
        peaks = sorted(_peak_6h([when[r] for r in t["source_refs"]]) for t in bursts)
        return {
            "records": sum(len(t["source_refs"]) for t in bursts) / len(bursts),
            "peak_6h": peaks[len(peaks) // 2],
            "headcount": sum(r["headcount"] > 1 for _, r in incident) / len(incident),
            "kinds": len({t["kind"] for t in truth if t["type"] == "dynamic"}),
        }


def test_presets_change_what_they_claim() -> None:
    from warning.simulate.difficulty import PRESETS

    easy, realistic, hard = PRESETS["easy"], PRESETS["realistic"], PRESETS["hard"]
    assert easy.burst_records[0] > hard.burst_records[1]
    assert easy.keyword_p > realistic.keyword_p > hard.keyword_p
    assert easy.bg_keyword_p < realistic.bg_keyword_p < hard.bg_keyword_p
    e, h = _dynamic_stats("easy"), _dynamic_stats("hard")
    assert e["records"] > 2 * h["records"]
    assert e["peak_6h"] > 2 * h["peak_6h"]  # fewer records, spread over longer
    assert e["headcount"] > 2 * h["headcount"]
    assert h["kinds"] >= 4  # hard mixes small, partial, odour and slow-rise incidents in


def test_knobs_override_the_preset_and_land_in_the_manifest(tmp_path: Path) -> None:
    cfg = dataclasses.replace(SMALL, difficulty="hard", knobs=(("keyword_p", 1.0), ("burst_records", (30, 31))))
    assert cfg.tuning.keyword_p == 1.0 and cfg.tuning.burst_records == (30, 31)
    assert cfg.tuning.headcount_p == 0.2  # the rest is the preset's
    manifest = write(District(cfg), tmp_path, Settings().topics_dir)
    assert manifest["difficulty"]["preset"] == "hard"
    assert manifest["difficulty"]["overrides"] == {"keyword_p": 1.0, "burst_records": [30, 31]}
    assert manifest["difficulty"]["knobs"]["keyword_p"] == 1.0
    with pytest.raises(ValueError, match="Unknown difficulty knob"):
        dataclasses.replace(SMALL, knobs=(("loudness", 1.0),))
    with pytest.raises(ValueError, match="Unknown difficulty"):
        dataclasses.replace(SMALL, difficulty="brutal")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dataclasses.replace(SMALL, knobs=(("keyword_p", 1.5),))


def test_dynamic_truth_has_every_kind_and_odour_bursts_stay_quiet(tmp_path: Path) -> None:
    cfg = SimConfig(seed=8, start=date(2026, 3, 2), days=200, streets=9, grids=80, scale=0.02)
    write(District(cfg), tmp_path, Settings().topics_dir)
    truth = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    dynamic = [t for t in truth if t["type"] == "dynamic"]
    assert {t["kind"] for t in dynamic} == {"burst", "small_burst", "partial", "odour", "slow_rise"}
    assert all(t["scenario"] for t in dynamic)
    by_ref = {
        r.get("report_id") or r.get("ticket_no") or r.get("case_no"): r
        for recs in _records(tmp_path).values()
        for r in recs
    }
    odour = [by_ref[ref] for t in dynamic if t["kind"] == "odour" for ref in t["source_refs"]]
    assert odour and all(r["headcount"] == 1 and r["category"] == "environment" for r in odour)
    rises = [t for t in dynamic if t["kind"] == "slow_rise"]
    assert all((datetime.fromisoformat(t["end"]) - datetime.fromisoformat(t["start"])).days >= 6 for t in rises)
    partial = [t for t in dynamic if t["kind"] == "partial"]
    assert all(sum(1 for n in t["channels"].values() if n) == 1 for t in partial)


def test_periodic_peaks_have_one_truth_line_per_occurrence(small_run: tuple[Path, dict[str, Any]]) -> None:
    out, _ = small_run
    truth = [json.loads(line) for line in (out / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    market = [t for t in truth if t["kind"] == "weekly_market_traffic"]
    saturdays = [
        SMALL.start + timedelta(days=i) for i in range(SMALL.days) if (SMALL.start + timedelta(days=i)).weekday() == 5
    ]
    assert len(market) == len(saturdays)
    assert all(t["start"][:10] == t["end"][:10] for t in market)
    # a window that began before the run is marked (only its tail is in the data)
    fee = [t for t in truth if t["kind"] == "property_fee_season"]
    assert fee and all(t["clipped"] for t in fee)


@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_each_difficulty_is_deterministic_per_seed(difficulty: str, tmp_path: Path) -> None:
    cfg = dataclasses.replace(SMALL, difficulty=difficulty, days=10)
    a, b = tmp_path / "a", tmp_path / "b"
    write(District(cfg), a, Settings().topics_dir)
    write(District(cfg), b, Settings().topics_dir)
    for name in ("hotline-calls.jsonl", "truth.jsonl", "manifest.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    write(District(dataclasses.replace(cfg, seed=cfg.seed + 1)), tmp_path / "c", Settings().topics_dir)
    assert (tmp_path / "c" / "truth.jsonl").read_bytes() != (a / "truth.jsonl").read_bytes()


def test_units_file_is_the_district_geography_in_the_default_layout(small_run: tuple[Path, dict[str, Any]]) -> None:
    from warning.core import units
    from warning.units_cli import read_units

    out, _ = small_run
    h = read_units(out / "units.csv")
    geo = json.loads((out / "geography.json").read_text(encoding="utf-8"))
    grids = [g for s in geo["streets"] for c in s["communities"] for g in c["grids"]]
    assert h.district_name == geo["district"]["name"]
    assert sum(u.level == "grid" for u in h.units.values()) == len(grids)
    for g in grids:  # names from the file, keys and paths as the code-derived layout has them
        assert units.name_of(g["code"], h) == g["name"]
        assert units.feed_key(g["code"], h) == g["code"]
        assert units.path_of(g["code"], h) == units.path_of(g["code"])
