"""Pattern detector: seasonal forecasts against a seasonal-naive baseline, intervals, alerts."""

from __future__ import annotations

import copy
import dataclasses
import doctest
import json
import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import warning.core.detectors.pattern as pattern_mod
from warning.core.calendar import HOLIDAY_NAMES, Calendar, CalendarParams
from warning.core.detectors.base import DetectorState
from warning.core.detectors.pattern import PatternDetector, PatternParams, forecast
from warning.core.events import Alert, Event, Location
from warning.core.taxonomy import LEVELS

TZ = timezone(timedelta(hours=8))
CAL = Calendar()
WEEKDAY = (1.2, 1.1, 1.0, 1.0, 1.1, 0.7, 0.6)


def daily_series(seed: int, start: date, days: int, level: float = 8.0) -> list[int]:
    """Seeded NB daily counts with weekday, holiday, pre-holiday and Spring-Festival effects."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(days):
        f = CAL.features(start + timedelta(days=i))
        mu = level * WEEKDAY[f.weekday]
        mu *= 0.5 if f.holiday else 1.0
        mu *= 2.5 if f.pre_spring_festival else 1.0
        mu *= 1.3 if f.pre_holiday and not f.pre_spring_festival else 1.0
        out.append(int(rng.negative_binomial(20, 20 / (20 + mu))))
    return out


def events_for(start: date, counts: list[int], street: str = "S01", cat: str = "labour") -> list[Event]:
    out = []
    for i, y in enumerate(counts):
        base = datetime.combine(start + timedelta(days=i), datetime.min.time(), TZ) + timedelta(hours=8)
        for k in range(y):
            t = base + timedelta(minutes=k)
            loc = Location(street, f"{street}-C01", f"{street}-C01-G01")
            out.append(Event(f"{street}-{cat}-e{i}-{k}", "hotline", "r", t, t, loc, cat))
    return out


def replay(
    det: PatternDetector, events: list[Event], state: DetectorState | None = None
) -> tuple[DetectorState, list[Alert]]:
    st = state or det.init_state()
    found: list[Alert] = []
    for e in events:
        st, alerts = det.step(st, e, e.occurred_at)
        found.extend(alerts)
    return st, found


def test_forecast_beats_seasonal_naive_and_interval_is_calibrated() -> None:
    start = date(2025, 1, 1)
    counts = daily_series(3, start, 520)
    det = PatternDetector()
    st = det.init_state()
    y_true, y_hat, naive, covered = [], [], [], []
    by_day: dict[int, list[Event]] = {}
    for e in events_for(start, counts):
        by_day.setdefault((e.occurred_at.date() - start).days, []).append(e)
    for i in range(len(counts)):
        d = start + timedelta(days=i)
        if i >= 120:
            row = forecast(st, d, 1, unit="S01")[0]
            y_true.append(counts[i])
            y_hat.append(row.forecast)
            naive.append(counts[i - 7])
            covered.append(row.lower <= counts[i] <= row.upper)
        st, _ = replay(det, by_day.get(i, []), st)
    yt, yh, yn = np.array(y_true), np.array(y_hat), np.array(naive)
    mase = np.abs(yt - yh).mean() / np.abs(yt - yn).mean()
    assert mase < 0.85, mase
    nz = yt > 0
    assert np.mean(np.abs(yt - yh)[nz] / yt[nz]) < np.mean(np.abs(yt - yn)[nz] / yt[nz])  # MAPE
    coverage = float(np.mean(covered))
    assert 0.8 <= coverage <= 0.97, coverage


def test_peak_alert_before_spring_festival() -> None:
    # a year of history with a pre-Spring-Festival labour peak, then the run-up to the next one
    start = date(2024, 12, 1)
    counts = daily_series(5, start, 430)  # to 2026-02-03; CNY eve 2026 is 02-16
    _, alerts = replay(PatternDetector(PatternParams(peak_scopes="both")), events_for(start, counts))
    peaks = [a for a in alerts if a.details["kind"] == "peak" and a.details["target_date"] >= "2026-02-06"]
    assert peaks
    a = peaks[-1]
    assert "春节前" in a.title and "预计" in a.title and "常态约" in a.title
    assert a.details["forecast"] > a.details["normal"] * 1.5
    assert a.unit == "S01" and a.subject == "S01/labour" and a.type == "pattern"
    # re-forecasts of the same target week update one alert
    same_week = [p for p in peaks if p.details["target_week"] == a.details["target_week"]]
    assert len({p.alert_id for p in same_week}) == 1


def test_one_day_spike_is_not_a_pattern_exceedance() -> None:
    # a single exploding day is a burst (the dynamic detector's): with exceed_consecutive_days = 2
    # (thresholds.toml) pattern@1.2 waits for a second one
    start = date(2026, 3, 2)
    counts = daily_series(7, start, 45)
    counts[-1] = 60
    _, alerts = replay(PatternDetector(PatternParams(exceed_consecutive_days=2)), events_for(start, counts))
    assert not [a for a in alerts if a.details["kind"] == "exceedance" and a.details["target_date"] >= "2026-04-15"]
    # with exceed_consecutive_days = 1 (the 1.1 behaviour) the same day alerts
    _, alerts = replay(PatternDetector(PatternParams(exceed_consecutive_days=1)), events_for(start, counts))
    assert [a for a in alerts if a.details["kind"] == "exceedance" and a.details["target_date"] == "2026-04-15"]


def test_exceedance_alert_during_the_day() -> None:
    start = date(2026, 3, 2)
    counts = daily_series(7, start, 45)
    counts[-1] = 60  # the last day explodes
    _, alerts = replay(PatternDetector(), events_for(start, counts))
    last = (start + timedelta(days=44)).isoformat()
    exceed = [a for a in alerts if a.details["kind"] == "exceedance" and a.details["target_date"] == last]
    assert exceed
    # orange or red: pattern@1.3 also learns the weeks after 清明 (2026-04-07..), which moves
    # the forecast of this day a little off the plain weekday level
    assert LEVELS.index(exceed[-1].level) >= LEVELS.index("orange")
    # other days may exceed too (the model is young), but not most of them
    assert len({a.details["target_date"] for a in alerts if a.details["kind"] == "exceedance"}) <= 4
    assert len({a.alert_id for a in exceed}) == 1
    levels = [a.level for a in exceed]
    assert len(levels) == len(set(levels))  # one alert per level reached, upgrades only
    assert "超出预测上限" in exceed[0].title


def _peak_alerts(params: PatternParams) -> list[Alert]:
    # a year with a pre-Spring-Festival labour peak, replayed through the run-up to the next
    start = date(2024, 12, 1)
    counts = daily_series(5, start, 445)  # to 2026-02-18; CNY eve 2026 is 02-16
    _, alerts = replay(PatternDetector(dataclasses.replace(params, peak_scopes="both")), events_for(start, counts))
    return [a for a in alerts if a.details["kind"] == "peak" and a.details["target_date"] >= "2026-01-20"]


def test_one_peak_alert_per_seasonal_episode() -> None:
    peaks = _peak_alerts(PatternParams())
    assert peaks
    # every re-forecast of the same elevated period is the same alert (an update at most,
    # sent only when its level rises), never a new alert per ISO week
    assert len({a.alert_id for a in peaks}) == 1
    levels = [LEVELS.index(a.level) for a in peaks]
    assert levels == sorted(set(levels))
    assert {a.details["target_week"] for a in peaks} == {peaks[0].details["target_week"]}
    # without the episode memory (cooldown 0) the targets moving week by week make new alerts
    loose = _peak_alerts(PatternParams(episode_cooldown_days=0, peak_min_excess_sd=0.0))
    assert len({a.alert_id for a in loose}) >= len({a.alert_id for a in peaks})
    assert len(loose) > len(peaks)


def test_no_alerts_before_warm_up() -> None:
    start = date(2026, 3, 2)
    counts = [3] * 20 + [80]
    _, alerts = replay(PatternDetector(PatternParams(min_history_days=28)), events_for(start, counts))
    assert alerts == []


@pytest.mark.parametrize(
    ("scope", "key", "name"), [("street", "S07", "pattern"), ("district", "district", "pattern_district")]
)
def test_scope_sets_key_and_name(scope: str, key: str, name: str) -> None:
    det = PatternDetector(PatternParams(scope=scope))  # type: ignore[arg-type]
    e = events_for(date(2026, 3, 2), [1], street="S07")[0]
    assert det.key(e) == key
    assert det.name == name


def test_forecast_is_pure_and_complete() -> None:
    start = date(2026, 3, 2)
    ev = events_for(start, [4] * 30) + events_for(start, [2] * 30, cat="family")
    ev.sort(key=lambda e: e.occurred_at)
    st, _ = replay(PatternDetector(), ev)
    before = copy.deepcopy(st)
    rows = forecast(st, date(2026, 4, 10), 7, unit="S01")
    assert st == before
    assert len(rows) == 2 * 7
    assert {r.category for r in rows} == {"family", "labour"}
    assert all(r.lower <= r.forecast <= r.upper + 1 for r in rows)
    assert json.loads(json.dumps(st)) == st


def test_doctests() -> None:
    result = doctest.testmod(pattern_mod)
    assert result.attempted > 0
    assert result.failed == 0


def test_forecast_shell_builds_rows_and_plot(tmp_path: Path) -> None:
    from warning.analysis.forecast import build_states, forecast_rows, plot

    start = date(2026, 3, 2)
    ev = sorted(events_for(start, [4] * 35) + events_for(start, [2] * 35, street="S02"), key=lambda e: e.occurred_at)
    dets = [PatternDetector(), PatternDetector(PatternParams(scope="district"))]
    states, last = build_states(ev, dets)
    assert last == start + timedelta(days=34)
    rows = forecast_rows(states, dets, last + timedelta(days=1), 14)
    assert {r.unit for r in rows} == {"S01", "S02", "district"}
    assert len(rows) == 3 * 14
    assert rows[-1].unit == "district"  # district rows come last
    out = tmp_path / "fc.png"
    plot(rows, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_month_effects_average_one_so_normal_is_the_usual_level() -> None:
    # a quiet January, then a busier spring: version 1.0 left the split of intercept and month
    # effects to chance, so "normal" (the yardstick of peak alerts) was not a defined level
    start = date(2026, 1, 5)
    rng = np.random.default_rng(11)
    counts = [int(rng.poisson(4 if (start + timedelta(days=i)).month == 1 else 9)) for i in range(110)]
    st, _ = replay(PatternDetector(), events_for(start, counts))
    c = st["c"]["labour"]
    months = range(7, 19)  # EFFECTS m1..m12
    days = {j: sum(w for key, w in st["x"].items() if str(j) in key.split(".")) for j in months}
    mean_log = sum(days[j] * np.log(c["e"][j]) for j in months) / sum(days.values())
    assert abs(mean_log) < 1e-3
    row = forecast(st, date(2026, 4, 23), 1, unit="S01")[0]  # a Thursday in an ordinary week
    assert 7.0 < row.normal < 8.2  # near the exposure-weighted usual level 7.4 (v1.0: 8.39)


def test_interval_widens_with_the_horizon_and_the_next_month_persists_the_level() -> None:
    # a level rising month by month: the far forecasts miss more, so their intervals are wider,
    # and the unseen next month starts from this month's level rather than the yearly average
    start = date(2026, 1, 5)
    rng = np.random.default_rng(5)
    counts = [int(rng.poisson(5 * 1.15 ** ((start + timedelta(days=i)).month - 1))) for i in range(176)]
    st, _ = replay(PatternDetector(), events_for(start, counts))
    rows = forecast(st, date(2026, 6, 29), 14, unit="S01")
    assert rows[-1].dispersion > rows[0].dispersion
    assert rows[-1].upper - rows[-1].lower > rows[0].upper - rows[0].lower
    july = [r.forecast for r in rows if r.day.month == 7]
    june_level = float(np.mean(counts[-28:]))
    assert np.mean(july) > 0.9 * june_level
    assert st["c"]["labour"]["dh"][1] > 0  # far forecasts were scored


def test_second_year_warns_of_the_pre_spring_wave_learned_in_the_first() -> None:
    # a wage wave in the three weeks before each Spring Festival (2026-02-17, 2027-02-06: eleven
    # days apart in the solar calendar) and no calendar hint about it (pre_spring off): the
    # holiday-window effects learned in 2026 must forecast the 2027 wave days before it starts
    start = date(2026, 1, 1)
    rng = np.random.default_rng(5)
    counts = []
    for i in range(400):
        f = CAL.features(start + timedelta(days=i))
        wave = f.holiday_window == "春节" and f.holiday_week < 0
        counts.append(int(rng.poisson(8.0 * (2.5 if wave else 1.0))))
    det = PatternDetector(PatternParams(peak_scopes="both", calendar=CalendarParams(spring_festival_lead_days=0)))
    _, alerts = replay(det, events_for(start, counts))
    wave_2027 = [
        d for d in (date(2027, 1, 1) + timedelta(days=i) for i in range(40)) if CAL.features(d).holiday_week < 0
    ]
    first_day = min(d for d in wave_2027 if CAL.features(d).holiday_window == "春节")
    early = [
        a
        for a in alerts
        if a.details["kind"] == "peak"
        and a.created_at.date() <= first_day - timedelta(days=3)
        and first_day.isoformat() <= a.details["target_date"] < "2027-02-06"
    ]
    assert early, "no peak alert 3+ days before the 2027 wave"


def test_state_of_pattern_1_2_is_upgraded() -> None:
    # a category saved by pattern@1.2 had 26 effects; the holiday windows are added as unseen
    det = PatternDetector(PatternParams(min_history_days=7))
    start = date(2026, 3, 2)
    st, _ = replay(det, events_for(start, daily_series(3, start, 20)))
    old = copy.deepcopy(st)
    c = old["c"]["labour"]
    n_new = len(pattern_mod.EFFECTS) - 26
    c["e"] = c["e"][:26]
    c["y"] = [*c["y"][:26], c["y"][-1]]
    more = events_for(start + timedelta(days=20), daily_series(4, start + timedelta(days=20), 3))
    st2, _ = replay(det, more, json.loads(json.dumps(old)))
    assert len(st2["c"]["labour"]["e"]) == 26 + n_new == len(st2["c"]["labour"]["y"]) - 1
    rows = forecast(st2, start + timedelta(days=23), 3, unit="S01")
    assert all(r.forecast > 0 for r in rows)


@pytest.mark.parametrize(
    ("scope", "peak_scopes", "peaks"),
    [("street", "district", False), ("district", "district", True), ("street", "both", True)],
)
def test_peak_scopes_leave_district_wide_waves_to_the_district_instance(
    scope: str, peak_scopes: str, peaks: bool
) -> None:
    # one wave seen by a street and by the district: with peak_scopes="district" only the
    # district instance forecasts it (a street copy was a duplicate alert of the same peak)
    start = date(2024, 12, 1)
    params = PatternParams(scope=scope, peak_scopes=peak_scopes)  # type: ignore[arg-type]
    _, alerts = replay(PatternDetector(params), events_for(start, daily_series(5, start, 430)))
    assert bool([a for a in alerts if a.details["kind"] == "peak"]) is peaks


def test_design_lists_the_combinations_each_group_touches_in_exposure_order() -> None:
    idx = {name: i for i, name in enumerate(pattern_mod.EFFECTS)}
    window = idx[f"{HOLIDAY_NAMES[0]}-1"]
    x = {"0.7": 2.0, f"1.8.{idx['holiday']}": 1.0, f"0.8.{window}": 0.5, "": 0.25}
    d = pattern_mod.design(x)
    assert d.acts == ((0, 7), (1, 8, idx["holiday"]), (0, 8, window), ())
    assert d.weights == (2.0, 1.0, 0.5, 0.25)
    groups = pattern_mod._GROUPS
    assert d.touch[groups.index(tuple(range(7)))] == ((0, (0,)), (1, (1,)), (2, (0,)))
    assert d.touch[groups.index(pattern_mod._MONTHS)] == ((0, (7,)), (1, (8,)), (2, (8,)))
    assert d.touch[groups.index((idx["holiday"],))] == ((1, (idx["holiday"],)),)
    assert d.touch[groups.index((idx["makeup"],))] == ()
    assert d.touch[-1] == ((2, (window,)),)
    assert d.month_days == (2.0, 1.5, *([0.0] * 10))


def _refit_over_every_combination(model: Any, c: dict[str, Any], exposure: dict[str, float]) -> dict[str, Any]:
    """pattern@1.3's refit as first written (every combination in every step): the oracle."""
    groups, months = pattern_mod._GROUPS, pattern_mod._MONTHS
    k = model.p.effect_prior
    combos = [([int(t) for t in key.split(".")] if key else [], w) for key, w in exposure.items()]
    b, e, ys = float(c["b"]) or 1.0, list(c["e"]), c["y"]

    def expected() -> list[float]:
        return [w * b * math.prod(e[t] for t in act) for act, w in combos]

    month_days = [sum(w for act, w in combos if j in act) for j in months]
    for _ in range(2):
        b = b * (ys[-1] + 0.01) / (sum(expected()) + 0.01)
        for group in groups:
            sums = dict.fromkeys(group, 0.0)
            for (act, _w), m in zip(combos, expected(), strict=True):
                for t in act:
                    if t in sums:
                        sums[t] += m
            if group == months:
                old = list(e)
                for i, j in enumerate(group):
                    prior = math.sqrt(old[group[i - 1]] * old[group[(i + 1) % len(group)]])
                    e[j] = pattern_mod._clamp((ys[j] + k * prior) / (sums[j] / max(old[j], pattern_mod._FLOOR) + k))
                continue
            kj = model.p.window_prior if group[0] >= pattern_mod._FIRST_WINDOW else k
            for j in group:
                if sums[j] > 0.0 or ys[j] > 0.0:
                    e[j] = pattern_mod._clamp((ys[j] + kj) / (sums[j] / max(e[j], pattern_mod._FLOOR) + kj))
        if sum(month_days) > 0.0:
            g = math.exp(sum(w * math.log(e[j]) for j, w in zip(months, month_days, strict=True)) / sum(month_days))
            b *= g
            for j in months:
                e[j] /= g
    new = dict(c, b=round(b, 8), e=[round(v, 6) for v in e], y=[round(v, 6) for v in ys])
    new["r"] = [round(v, 6) for v in c["r"]]
    new["disp"] = [round(v, 6) for v in c["disp"]]
    if "dh" in c:
        new["dh"] = [round(v, 6) for v in c["dh"]]
    return new


def test_refit_over_the_touched_combinations_is_the_full_refit_to_the_last_bit() -> None:
    # a year and a half of two categories (holidays, their windows, every month): the refit
    # summing only the combinations a step touches gives the very floats of the pass over all
    det = PatternDetector(PatternParams(min_history_days=7))
    start = date(2025, 12, 1)
    events = events_for(start, daily_series(11, start, 540)) + events_for(
        start, daily_series(12, start, 540, level=2.0), cat="neighbour"
    )
    st, _ = replay(det, sorted(events, key=lambda ev: ev.occurred_at))
    assert len(st["x"]) > 300
    model = pattern_mod._Model(det._p)
    for c in st["c"].values():
        c = dict(c, b=c["b"] * 1.37, e=[v * (1.0 + 0.01 * (j % 5)) for j, v in enumerate(c["e"])])
        assert model.refit(c, pattern_mod.design(st["x"])) == _refit_over_every_combination(model, c, st["x"])
