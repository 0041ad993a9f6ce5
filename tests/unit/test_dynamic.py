"""Dynamic detector and the shared count statistics (oracles: scipy.stats)."""

from __future__ import annotations

import dataclasses
import doctest
import json
import math
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import warning.core.detectors.baselines as baselines_mod
import warning.core.detectors.dynamic as dynamic_mod
from warning.core.detectors.baselines import (
    SeriesParams,
    SeriesScorer,
    count_ppf,
    count_sf,
    level_for,
    nb_cusum_step,
    normal_sf,
    surprise,
)
from warning.core.detectors.dynamic import DynamicDetector, DynamicParams
from warning.core.events import Alert, Event, Location
from warning.core.taxonomy import Channel

TZ = timezone(timedelta(hours=8))
START = datetime(2026, 3, 2, tzinfo=TZ)  # a Monday, no holiday for weeks


# the rules as they were before issue 10: each mass-incident signal alerts alone, one id per window
RULES_ALONE = DynamicParams(rules_alone=True, episode_hours=0.0)


def ev(
    i: int,
    t: datetime,
    grid: str = "S01-C01-G01",
    cat: str = "labour",
    channel: Channel = "grid",
    text: str = "",
    headcount: int = 1,
) -> Event:
    street, community = grid.split("-")[0], grid.rsplit("-", 1)[0]
    return Event(
        f"e{i}", channel, f"r{i}", t, t, Location(street, community, grid), cat, text=text, headcount=headcount
    )


def poisson_stream(seed: int, days: int, per_hour: float, grids: int = 4) -> list[Event]:
    """Flat seeded Poisson background spread over `grids` grids of one street."""
    rng = np.random.default_rng(seed)
    out: list[Event] = []
    for h in range(days * 24):
        for _ in range(int(rng.poisson(per_hour))):
            g = f"S01-C01-G{int(rng.integers(1, grids + 1)):02d}"
            out.append(ev(len(out), START + timedelta(hours=h, minutes=int(rng.integers(0, 60))), g))
    out.sort(key=lambda e: e.occurred_at)
    return out


def run(det: DynamicDetector, events: list[Event]) -> tuple[dict[str, Any], list[tuple[Event, Alert]]]:
    state = det.init_state()
    found: list[tuple[Event, Alert]] = []
    for e in events:
        state, alerts = det.step(state, e, e.occurred_at)
        found.extend((e, a) for a in alerts)
    return state, found


# -- statistics against scipy -----------------------------------------------------------------

_RNG = np.random.default_rng(20261125)
_CASES = [
    (int(_RNG.integers(0, 60)), float(_RNG.uniform(0.05, 40.0)), float(a))
    for a in (0.0, 0.05, 0.5, 2.0)
    for _ in range(15)
]


@pytest.mark.parametrize(("k", "mu", "alpha"), _CASES)
def test_count_sf_matches_scipy(k: int, mu: float, alpha: float) -> None:
    if alpha == 0.0:
        ref = stats.poisson.sf(k - 1, mu)
    else:
        r = 1.0 / alpha
        ref = stats.nbinom.sf(k - 1, r, r / (r + mu))
    assert count_sf(k, mu, alpha) == pytest.approx(ref, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("k", "mu", "alpha"), _CASES[::3])
@pytest.mark.parametrize("q", [0.05, 0.5, 0.95])
def test_count_ppf_matches_scipy(k: int, mu: float, alpha: float, q: float) -> None:
    del k
    ref = stats.poisson.ppf(q, mu) if alpha == 0.0 else stats.nbinom.ppf(q, 1 / alpha, (1 / alpha) / (1 / alpha + mu))
    assert count_ppf(q, mu, alpha) == ref


@pytest.mark.parametrize(("k", "mu", "alpha"), [(0, 2.0, 0.0), (7, 2.0, 0.0), (7, 2.0, 0.4), (0, 5.0, 1.0)])
def test_cusum_step_is_the_log_likelihood_ratio(k: int, mu: float, alpha: float) -> None:
    ratio = 2.0
    if alpha == 0.0:
        llr = stats.poisson.logpmf(k, ratio * mu) - stats.poisson.logpmf(k, mu)
    else:
        r = 1 / alpha
        llr = stats.nbinom.logpmf(k, r, r / (r + ratio * mu)) - stats.nbinom.logpmf(k, r, r / (r + mu))
    assert nb_cusum_step(10.0, k, mu, alpha, ratio) == pytest.approx(max(0.0, 10.0 + llr), rel=1e-9)


@pytest.mark.parametrize("z", [-3.0, 0.0, 1.5, 5.0])
def test_normal_sf(z: float) -> None:
    assert normal_sf(z) == pytest.approx(stats.norm.sf(z), rel=1e-12)


@pytest.mark.parametrize(
    ("p", "scale", "expected"),
    [(1.0, 6.0, 0.0), (1e-3, 6.0, 0.5), (1e-6, 6.0, 1.0), (1e-30, 6.0, 1.0), (0.0, 6.0, 1.0)],
)
def test_surprise(p: float, scale: float, expected: float) -> None:
    assert surprise(p, scale) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("score", "level"), [(0.1, None), (0.5, "blue"), (0.7, "yellow"), (0.8, "orange"), (0.99, "red")]
)
def test_level_for(score: float, level: str | None) -> None:
    assert level_for(score, (0.5, 0.65, 0.8, 0.95)) == level


@given(st.integers(0, 500), st.floats(0.0, 300.0), st.floats(0.0, 3.0))
def test_count_sf_is_a_probability(k: int, mu: float, alpha: float) -> None:
    p = count_sf(k, mu, alpha)
    assert 0.0 <= p <= 1.0


# -- series scorer -------------------------------------------------------------------------------


@given(st.lists(st.one_of(st.integers(0, 1000), st.floats(-1e6, 1e6)), max_size=80))
@settings(max_examples=60, deadline=None)
def test_series_scores_in_unit_interval(values: list[float]) -> None:
    sc = SeriesScorer(SeriesParams(min_history=3))
    state = sc.init_state()
    for v in values:
        state, score = sc.update(state, v)
        assert 0.0 <= score <= 1.0
        assert json.loads(json.dumps(state)) == state


# -- dynamic detector ----------------------------------------------------------------------------


def test_no_baseline_alert_before_warm_up() -> None:
    det = DynamicDetector(DynamicParams(min_history_days=14))
    events = poisson_stream(1, 10, 0.5)
    # a huge burst on day 9: the baseline is not ready, so nothing fires
    burst_t = START + timedelta(days=9, hours=10)
    events += [ev(10_000 + i, burst_t + timedelta(minutes=i)) for i in range(40)]
    events.sort(key=lambda e: e.occurred_at)
    _, found = run(det, events)
    assert not [a for _, a in found if "window_count" in {i.name for i in a.indicators}]


def test_seeded_burst_detected_within_the_burst_and_flat_background_quiet() -> None:
    det = DynamicDetector()
    per_hour = 1.0  # one street, 24 labour events a day over 4 grids
    background = poisson_stream(11, 56, per_hour)
    _, quiet = run(det, background)
    false_windows = {a.alert_id for _, a in quiet}
    assert len(false_windows) <= 3, [a.title for _, a in quiet]

    rng = np.random.default_rng(12)
    b0 = START + timedelta(days=50, hours=10)
    burst = [
        ev(50_000 + i, b0 + timedelta(minutes=int(m)), "S01-C01-G02")
        for i, m in enumerate(sorted(rng.integers(0, 180, size=int(rng.poisson(9 * per_hour * 3)))))
    ]
    events = sorted(background + burst, key=lambda e: e.occurred_at)
    _, found = run(det, events)
    hits = [
        (e, a)
        for e, a in found
        if e.event_id.startswith("e5")
        and "window_count" in {i.name for i in a.indicators}
        and b0 <= e.occurred_at < b0 + timedelta(hours=3)
    ]
    hits = [(e, a) for e, a in hits if e in burst]
    assert hits, "burst not detected within its 3 hours"
    _, first = hits[0]
    assert first.details["observed"] > first.details["expected"]
    assert "基于" in first.title and "天历史" in first.title
    assert first.details["history_days"] >= 14
    assert 0.0 < (first.score or 0.0) <= 1.0
    assert len(first.evidence) <= 20


def test_slow_rise_fires_cusum() -> None:
    det = DynamicDetector(DynamicParams(grid_level=False))
    base = poisson_stream(5, 35, 0.25)
    rng = np.random.default_rng(6)
    extra = [
        ev(90_000 + i, START + timedelta(days=35, hours=float(h)))
        for i, h in enumerate(sorted(rng.uniform(0, 24 * 14, size=int(rng.poisson(0.35 * 24 * 14)))))
    ]
    more = [ev(95_000 + i, e.occurred_at + timedelta(days=35)) for i, e in enumerate(poisson_stream(8, 14, 0.25))]
    _, found = run(det, sorted(base + extra + more, key=lambda e: e.occurred_at))
    rises = [a for _, a in found if a.indicators[0].name == "cusum"]
    assert rises
    assert "持续上升" in rises[0].title


@pytest.mark.parametrize(
    ("kwargs", "indicator", "level"),
    [
        ({"headcount": 20}, "headcount", "yellow"),
        ({"headcount": 100}, "headcount", "red"),
        ({"text": "工人在门口拉横幅"}, "keyword", "yellow"),
        ({"text": "扬言跳楼"}, "keyword", "red"),
        ({"text": "讨薪"}, "keyword", "blue"),
    ],
)
def test_mass_incident_rules_fire_without_history(kwargs: dict[str, object], indicator: str, level: str) -> None:
    det = DynamicDetector(RULES_ALONE)
    _, alerts = det.step(det.init_state(), ev(1, START, **kwargs), START)  # type: ignore[arg-type]
    assert [a.level for a in alerts] == [level]
    assert indicator in {i.name for i in alerts[0].indicators}
    assert alerts[0].unit == "S01-C01-G01"
    assert alerts[0].subject == "S01-C01-G01/labour"
    assert alerts[0].category == "labour"
    assert "群体性事件" in alerts[0].title


def test_plain_event_raises_nothing() -> None:
    det = DynamicDetector()
    _, alerts = det.step(det.init_state(), ev(1, START, text="楼上漏水"), START)
    assert alerts == []


def test_several_channels_same_place_within_minutes() -> None:
    det = DynamicDetector(RULES_ALONE)
    state = det.init_state()
    state, a1 = det.step(state, ev(1, START, channel="grid"), START)
    state, a2 = det.step(state, ev(2, START + timedelta(minutes=5), channel="hotline"), START)
    state, a3 = det.step(state, ev(3, START + timedelta(minutes=10), channel="hotline"), START)
    assert a1 == [] and a2 == []  # two reports are everyday traffic in a busy grid
    assert [i.name for i in a3[0].indicators] == ["multi_channel"]
    # another grid, another category, or too late, does not count
    state, a4 = det.step(state, ev(4, START + timedelta(minutes=15), grid="S01-C01-G09", channel="petition"), START)
    state, a5 = det.step(state, ev(5, START + timedelta(minutes=16), cat="family", channel="petition"), START)
    state, a6 = det.step(state, ev(6, START + timedelta(hours=2), channel="petition"), START)
    assert a4 == [] and a5 == [] and a6 == []


def test_one_channel_repeating_is_not_multi_channel() -> None:
    det = DynamicDetector()
    state = det.init_state()
    alerts = []
    for i in range(4):
        state, out = det.step(state, ev(i, START + timedelta(minutes=i), channel="hotline"), START)
        alerts += out
    assert alerts == []


def test_repeats_in_one_window_share_the_alert_id() -> None:
    det = DynamicDetector(RULES_ALONE)
    state = det.init_state()
    ids = []
    for i in range(3):
        t = START + timedelta(minutes=20 * i)
        state, alerts = det.step(state, ev(i, t, text="堵路"), t)
        ids.append(alerts[0].alert_id)
    assert len(set(ids)) == 1
    t = START + timedelta(hours=7)
    _, later = det.step(state, ev(9, t, text="堵路"), t)
    assert later[0].alert_id != ids[0]


def test_state_is_compact_and_bounded() -> None:
    det = DynamicDetector(DynamicParams(max_series=50))
    rng = np.random.default_rng(3)
    state = det.init_state()
    cats = ["labour", "family", "neighbour", "property"]
    for i in range(6000):
        t = START + timedelta(minutes=i * 13)
        g = f"S01-C{int(rng.integers(1, 4)):02d}-G{int(rng.integers(1, 30)):02d}"
        e = ev(i, t, g, cats[int(rng.integers(0, 4))])
        e = dataclasses.replace(e, event_id=f"{i:020x}")  # real ids are 20 hex digits
        state, _ = det.step(state, e, t)
    series = [rec for ser in state["s"].values() for rec in ser.values()]
    # the cap applies at each day rollover; series first seen today may add to it until then
    assert len(series) <= 50 + 4 * 4 + sum(1 for rec in series if len(rec) > 1)
    assert all(isinstance(rec, list) and 1 <= len(rec) <= 4 for rec in series)
    assert sum(1 for rec in series if len(rec) == 1) > 0  # dormant series cost one number
    assert len(json.dumps(state)) < 6_000  # 33 KB per street in v1 (dicts with long keys)
    assert set(state["s"]) == set(cats)
    assert all(k == "*" or k.startswith("C0") for ser in state["s"].values() for k in ser)


def test_cap_evicts_the_smallest_levels_not_the_least_recent() -> None:
    det = DynamicDetector(DynamicParams(max_series=3, street_level=False))
    state = det.init_state()
    i = 0
    # a busy grid active on day 0 only, then three quiet grids seen once on day 1
    for m in range(30):
        state, _ = det.step(state, ev(i := i + 1, START + timedelta(minutes=m), "S01-C01-G01"), START)
    for g in ("S01-C01-G02", "S01-C01-G03", "S01-C01-G04"):
        t = START + timedelta(days=1, hours=i % 5)
        state, _ = det.step(state, ev(i := i + 1, t, g), t)
    t = START + timedelta(days=2)
    state, _ = det.step(state, ev(i + 1, t, "S01-C01-G05"), t)
    kept = set(state["s"]["labour"])
    assert "C01-G01" in kept  # 30 events outweigh three singletons seen later
    assert "*" in kept  # the street series carries the largest level of all
    assert len(kept - {"C01-G05"}) == 3  # the cap (G05 arrived after the rollover that applied it)


def test_idle_series_with_a_negligible_level_are_evicted() -> None:
    det = DynamicDetector(DynamicParams(evict_after_days=10, half_life_days=5))
    state = det.init_state()
    state, _ = det.step(state, ev(1, START, "S01-C01-G01"), START)
    t = START + timedelta(days=9)
    state, _ = det.step(state, ev(2, t, "S01-C01-G02"), t)
    assert "C01-G01" in state["s"]["labour"]
    t = START + timedelta(days=11)
    state, _ = det.step(state, ev(3, t, "S01-C01-G02"), t)
    assert "C01-G01" not in state["s"]["labour"]


def test_a_v1_state_from_an_old_changelog_restarts_the_street() -> None:
    det = DynamicDetector(RULES_ALONE)
    v1: dict[str, Any] = {
        "v": 1,
        "t0": 0,
        "hour": 0,
        "day": 0,
        "shape": None,
        "disp": [0.0, 0.0],
        "s": {},
        "recent": [],
    }
    state, alerts = det.step(v1, ev(1, START, text="堵路"), START)
    assert state["v"] == 2 and state["s"]["labour"]["C01-G01"][0] == 1.0
    assert [a.level for a in alerts] == ["orange"]


def test_late_event_is_counted_not_crashing() -> None:
    det = DynamicDetector()
    state = det.init_state()
    state, _ = det.step(state, ev(1, START + timedelta(days=2)), START)
    state, _ = det.step(state, ev(2, START + timedelta(days=1)), START)
    assert state["s"]["labour"]["C01-G01"][0] > 1.0


def test_evidence_is_the_open_window() -> None:
    det = DynamicDetector(dataclasses.replace(RULES_ALONE, window_hours=6))
    state = det.init_state()
    times = [START + timedelta(hours=h) for h in (0, 1, 7, 8)]
    alerts: list[Alert] = []
    for i, t in enumerate(times):
        state, out = det.step(state, ev(i, t, text="围堵"), t)
        alerts += out
    grid_alerts = [a for a in alerts if a.unit == "S01-C01-G01"]
    assert grid_alerts[-1].evidence == ("e2", "e3")  # e0 and e1 fell out of the 6-hour window
    assert grid_alerts[1].evidence == ("e0", "e1")


def test_street_series_kept_for_the_shape_but_not_scored_when_off() -> None:
    det = DynamicDetector(DynamicParams(street_level=False))
    state: dict[str, Any]
    state, found = run(det, poisson_stream(4, 20, 1.0))
    assert "*" in state["s"]["labour"]
    assert not [a for _, a in found if a.unit == "S01"]
    assert sum(state["shape"]["labour"][:24]) > 0


def profiled_stream(seed: int, days: int, grids: int = 80, per_day: float = 0.4) -> list[Event]:
    """A street with many sparse grid x category series, each category on its own clock.

    Neighbour disputes peak in the evening, wages in office hours, family disputes at night
    and at weekends: what a district looks like, and what a shape pooled over categories gets
    wrong. Series rates vary (gamma), so some grids are busy and most are quiet.
    """
    rng = np.random.default_rng(seed)
    profiles = {
        "neighbour": [0.2] * 7 + [0.5] * 11 + [1.5, 3, 4, 4, 3, 1.0],
        "labour": [0.05] * 8 + [3, 4, 4, 3, 2, 4, 4, 3, 2] + [0.05] * 7,
        "family": [0.5] * 8 + [1] * 10 + [1.5, 2, 2.5, 3, 3, 2.5],
        "property": [0.3] * 7 + [1] * 12 + [2, 2.5, 2, 1, 0.5],
    }
    rows: list[tuple[datetime, str, str, Channel]] = []
    for cat, weights in profiles.items():
        prof = np.array(weights) / sum(weights)
        for g in range(grids):
            grid = f"S01-C{g // 10 + 1:02d}-G{g % 10 + 1:02d}"
            lam = per_day * rng.gamma(2.0, 0.5)
            for d in range(days):
                weekend = (d % 7) >= 5  # START is a Monday
                factor = (
                    (1.3 if cat in ("neighbour", "family") else 0.6 if cat == "labour" else 1.0) if weekend else 1.0
                )
                for _ in range(int(rng.poisson(lam * factor))):
                    t = START + timedelta(days=d, hours=int(rng.choice(24, p=prof)), minutes=int(rng.integers(0, 60)))
                    rows.append((t, grid, cat, "grid" if rng.integers(0, 2) else "hotline"))
    rows.sort()
    return [ev(i, t, g, c, ch) for i, (t, g, c, ch) in enumerate(rows)]


@cache
def _many_series() -> tuple[Event, ...]:
    return tuple(profiled_stream(21, 56))


def test_many_series_background_gives_few_false_alerts() -> None:
    """320 grid x category series for 8 weeks: per-series p < 1e-3 fires about weekly; adjusted, not at all."""
    background = list(_many_series())
    _, found = run(DynamicDetector(), background)
    assert len({a.alert_id for _, a in found}) <= 1, [a.title for _, a in found]
    v1_like = DynamicParams(
        adjust_for_series=False, surprise_scale=6.0, min_excess=0.0, multichannel_max_p=1.0, cusum_max_days=1e9
    )
    _, unadjusted = run(DynamicDetector(v1_like), background)
    assert len({a.alert_id for _, a in unadjusted if a.indicators[0].name == "window_count"}) >= 5


def test_burst_in_a_quiet_grid_is_found_among_many_series() -> None:
    background = list(_many_series())
    b0 = START + timedelta(days=50, hours=9)
    quiet = "S01-C08-G08"
    burst = [ev(900_000 + i, b0 + timedelta(minutes=12 * i), quiet, "labour", "hotline") for i in range(8)]
    _, found = run(DynamicDetector(), sorted(background + burst, key=lambda e: e.occurred_at))
    hits = [
        (e, a) for e, a in found if a.unit == quiet and "window_count" in {i.name for i in a.indicators} and e in burst
    ]
    assert hits, "an 8-event burst in 2 hours went unseen"
    e, a = hits[0]
    assert e.occurred_at - b0 <= timedelta(hours=1)  # found within the first hour
    assert a.details["p_adjusted"] <= 10 ** (-3.0 * 0.5)
    assert a.details["tests_per_week"] > 28 * 100  # adjusted for hundreds of series


def test_multi_channel_needs_an_unusual_count_once_warm() -> None:
    det = DynamicDetector(RULES_ALONE)
    busy, quiet = "S01-C01-G01", "S01-C01-G02"
    events = [
        ev(i, START + timedelta(days=d, hours=19, minutes=3 * j), busy, "neighbour", "grid" if j % 2 else "hotline")
        for i, (d, j) in enumerate((d, j) for d in range(20) for j in range(4))
    ]
    events.append(ev(10_000, START + timedelta(days=1, hours=3), quiet, "neighbour"))
    state, found = run(det, events)
    after_warm_up = [a for e, a in found if e.occurred_at >= START + timedelta(days=15)]
    before = [a for e, a in found if e.occurred_at < START + timedelta(days=14)]
    assert before and not after_warm_up  # four evening reports are this grid's normal, once known
    t = START + timedelta(days=20, hours=10)
    alerts: list[Alert] = []
    channels: tuple[Channel, ...] = ("grid", "hotline", "hotline")
    for k, ch in enumerate(channels):
        state, out = det.step(state, ev(20_000 + k, t + timedelta(minutes=k), quiet, "neighbour", ch), t)
        alerts += out
    assert [i.name for a in alerts for i in a.indicators] == ["multi_channel"]


@pytest.mark.parametrize("module", [dynamic_mod, baselines_mod])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


def test_math_is_finite_on_extreme_gaps() -> None:
    det = DynamicDetector()
    state = det.init_state()
    for i, t in enumerate([START, START + timedelta(days=3000), START + timedelta(days=3000, hours=1)]):
        state, alerts = det.step(state, ev(i, t), t)
        assert all(a.score is None or 0 <= a.score <= 1 for a in alerts)
    assert all(math.isfinite(v) for row in state["shape"].values() for v in row)
    assert all(math.isfinite(v) for v in state["x"] + state["disp"])


# -- issue 10: words and crowds are evidence, one alert per burst, street alerts for spread bursts --


def _wordy_background(days: int, share: float, seed: int = 5) -> list[Event]:
    """A street whose ordinary reports say 聚集 in `share` of cases (people use the word)."""
    rng = np.random.default_rng(seed)
    out = poisson_stream(seed, days, 0.8, grids=20)
    return [dataclasses.replace(e, text="楼下有人聚集吵闹") if rng.random() < share else e for e in out]


def test_a_lone_marked_report_is_evidence_not_an_alert() -> None:
    det = DynamicDetector()
    _, alerts = det.step(det.init_state(), ev(1, START, text="工人聚集讨薪", headcount=30), START)
    assert alerts == []


def test_two_marked_reports_in_one_quiet_grid_window_alert_with_their_words() -> None:
    det = DynamicDetector()
    state, found = run(det, _wordy_background(21, 0.02))
    assert not found  # words at their usual share raise nothing
    t = START + timedelta(days=21, hours=10)
    alerts: list[Alert] = []
    for k in range(2):
        e = ev(90_000 + k, t + timedelta(minutes=30 * k), "S01-C01-G07", text="工人聚集堵路讨薪", headcount=25)
        state, out = det.step(state, e, e.occurred_at)
        alerts += out
    assert alerts and alerts[-1].unit == "S01-C01-G07"
    names = {i.name for i in alerts[-1].indicators}
    assert {"window_count", "keyword", "headcount"} <= names
    assert alerts[-1].details["marked"] == [2, 2]


def test_a_word_common_in_the_street_needs_more_reports() -> None:
    """The same two reports in a street where a third of reports say the word are less surprising."""
    p_adj = []
    for share in (0.02, 0.35):
        det = DynamicDetector()
        state, _ = run(det, _wordy_background(21, share))
        t = START + timedelta(days=21, hours=10)
        for k in range(2):
            e = ev(90_000 + k, t + timedelta(minutes=30 * k), "S01-C01-G07", text="有人聚集")
            state, out = det.step(state, e, e.occurred_at)
        p_adj.append(out[0].details["p_adjusted"] if out else 1.0)
    assert p_adj[0] < p_adj[1]


def test_one_burst_over_two_windows_is_one_alert() -> None:
    det = DynamicDetector()
    state, _ = run(det, poisson_stream(2, 21, 0.5, grids=10))
    t = START + timedelta(days=21, hours=3)
    ids = set()
    for k in range(12):  # 12 reports over 6 hours in one grid, across a window boundary
        e = ev(80_000 + k, t + timedelta(minutes=30 * k), "S01-C01-G03")
        state, out = det.step(state, e, e.occurred_at)
        ids |= {a.alert_id for a in out if a.unit == "S01-C01-G03"}
    assert len(ids) == 1
    later = t + timedelta(days=3)
    for k in range(12):
        e = ev(81_000 + k, later + timedelta(minutes=20 * k), "S01-C01-G03")
        state, out = det.step(state, e, e.occurred_at)
        ids |= {a.alert_id for a in out if a.unit == "S01-C01-G03"}
    assert len(ids) == 2  # a burst three days later is another episode


def test_street_alerts_only_for_bursts_spread_over_grids() -> None:
    det = DynamicDetector()
    base_state, _ = run(det, poisson_stream(4, 21, 0.5, grids=10))
    t = START + timedelta(days=21, hours=2)
    one_grid = [ev(70_000 + k, t + timedelta(minutes=15 * k), "S01-C01-G02") for k in range(14)]
    spread = [ev(71_000 + k, t + timedelta(minutes=15 * k), f"S01-C01-G{k % 10 + 1:02d}") for k in range(14)]
    for burst, street_expected in ((one_grid, False), (spread, True)):
        state = base_state
        units_seen = set()
        for e in burst:
            state, out = det.step(state, e, e.occurred_at)
            units_seen |= {a.unit for a in out}
        assert ("S01" in units_seen) is street_expected, units_seen
