"""Dynamic detector, issue 10 rules: slow rises in sparse grids, lone marked reports, street rises."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from warning.core.detectors.dynamic import DynamicDetector, DynamicParams
from warning.core.events import Alert, Event, Location

TZ = timezone(timedelta(hours=8))
START = datetime(2026, 3, 2, tzinfo=TZ)  # a Monday, no holiday for weeks
GRIDS = 40  # grid series of one category in the street: a real multiple-testing family


def ev(i: int, t: datetime, grid: str, cat: str = "property", text: str = "", headcount: int = 1) -> Event:
    street, community = grid.split("-")[0], grid.rsplit("-", 1)[0]
    return Event(
        f"e{i}", "hotline", f"r{i}", t, t, Location(street, community, grid), cat, text=text, headcount=headcount
    )


def background(days: int, per_grid_day: float, seed: int = 3) -> list[Event]:
    """Sparse flat Poisson background over `GRIDS` grids of one street."""
    rng = np.random.default_rng(seed)
    out: list[Event] = []
    for g in range(1, GRIDS + 1):
        for _ in range(int(rng.poisson(per_grid_day * days))):
            at = START + timedelta(minutes=int(rng.integers(0, days * 1440)))
            out.append(ev(len(out), at, f"S01-C01-G{g:02d}"))
    return out


def rise(first_day: int, days: int, top: float, grid: str = "S01-C01-G07", seed: int = 4) -> list[Event]:
    """A grid's reports rising linearly day by day to `top` a day (the simulator's slow rise shape)."""
    rng = np.random.default_rng(seed)
    out: list[Event] = []
    for i in range(days):
        for _ in range(int(rng.poisson(top * (i + 1) / days))):
            at = START + timedelta(days=first_day + i, minutes=int(rng.integers(8 * 60, 20 * 60)))
            out.append(ev(500_000 + len(out), at, grid))
    return out


def run(det: DynamicDetector, events: list[Event]) -> tuple[dict[str, Any], list[Alert]]:
    state = det.init_state()
    found: list[Alert] = []
    for e in sorted(events, key=lambda e: e.occurred_at):
        state, alerts = det.step(state, e, e.occurred_at)
        found.extend(alerts)
    return state, found


def cusum_alerts(found: list[Alert], unit: str | None = None) -> list[Alert]:
    return [a for a in found if a.indicators[0].name == "cusum" and (unit is None or a.unit == unit)]


def test_slow_rise_in_a_sparse_grid_is_found_within_a_week() -> None:
    """A grid with ~1 such report a month rising to 3 a day over 12 days: the CUSUM built for
    `cusum_min_rise` more events a day sees it inside the evaluator's 168 h."""
    events = background(40, 1 / 30) + rise(22, 12, 3.0)
    _, found = run(DynamicDetector(), events)
    hits = cusum_alerts(found, "S01-C01-G07")
    assert hits, [a.title for a in found]
    assert hits[0].created_at - (START + timedelta(days=22)) <= timedelta(hours=168)
    assert hits[0].details["scope"] == "grid"


def test_a_ratio_only_cusum_misses_the_sparse_grid_rise() -> None:
    """The pre-issue-10 CUSUM (a 2x rise only) never starts on a series this sparse."""
    events = background(40, 1 / 30) + rise(22, 12, 3.0)
    _, found = run(DynamicDetector(DynamicParams(cusum_min_rise=0.0)), events)
    assert not cusum_alerts(found, "S01-C01-G07")


def test_sparse_background_raises_no_rise() -> None:
    """40 sparse grid series for 8 weeks and no rise: the ln(series) bar keeps the CUSUM quiet."""
    _, found = run(DynamicDetector(), background(56, 1 / 10, seed=9))
    assert not cusum_alerts(found)


def test_a_lone_marked_report_in_a_near_silent_grid_does_not_alert() -> None:
    """Expected ~0.01 in the window, one report with a word and a crowd: p = mu x shares is tiny,
    but one report is a complaint; `mark_min_count` reports make a window worth testing."""
    events = background(21, 1 / 30)
    lone = ev(900_001, START + timedelta(days=21, hours=10), "S01-C01-G09", text="业主聚集讨说法", headcount=30)
    det = DynamicDetector()
    state, _ = run(det, events)
    _, alerts = det.step(state, lone, lone.occurred_at)
    assert not alerts
    old = DynamicDetector(DynamicParams(mark_min_count=1))
    state1, _ = run(old, events)
    _, alerts1 = old.step(state1, lone, lone.occurred_at)
    assert alerts1, "the loophole this rule closes: one marked report alone alerted"


def test_street_wide_rise_is_left_to_the_pattern_detector_when_grids_are_scored() -> None:
    """A category rising over all of a street's grids at once: no street CUSUM alert by default
    (a season's or a campaign's rise), one with `cusum_street`."""
    events = background(40, 0.3) + [
        e for g in range(1, GRIDS + 1) for e in rise(20, 14, 1.0, f"S01-C01-G{g:02d}", seed=g)
    ]
    _, found = run(DynamicDetector(), events)
    assert not [a for a in cusum_alerts(found) if a.details["scope"] == "street"]
    _, found_on = run(DynamicDetector(DynamicParams(cusum_street=True)), events)
    assert [a for a in cusum_alerts(found_on) if a.details["scope"] == "street"]


def test_state_stays_json_after_a_rise() -> None:
    events = background(40, 1 / 30) + rise(22, 12, 3.0)
    state, _ = run(DynamicDetector(), events)
    assert json.loads(json.dumps(state)) == state


def test_a_rise_is_raised_on_the_report_that_tips_it_once_not_again_at_the_close() -> None:
    """The open day's count so far is tested: the alert comes at one of the crossing day's
    reports (they arrive 08:00-20:00), not at the next day's first event, and only once."""
    events = background(40, 1 / 30) + rise(22, 12, 3.0)
    _, found = run(DynamicDetector(), events)
    hits = cusum_alerts(found, "S01-C01-G07")
    assert len(hits) == 1, [(a.alert_id, a.created_at) for a in hits]
    assert 8 <= hits[0].created_at.hour < 20, hits[0].created_at
    rise_times = {e.occurred_at for e in rise(22, 12, 3.0)}
    assert hits[0].created_at in rise_times


def test_the_open_day_test_raises_the_same_rises_as_the_close() -> None:
    """Same alarms, earlier: with the open-day test stubbed out, the close raises one per rise too."""
    events = background(40, 1 / 30, seed=5) + rise(22, 12, 3.0) + rise(25, 10, 4.0, grid="S01-C01-G19", seed=6)
    _, found = run(DynamicDetector(), events)

    class CloseOnly(DynamicDetector):
        def _rise_today(self, *args: Any, **kw: Any) -> list[Alert]:
            return []

    _, found_late = run(CloseOnly(), events)
    early = sorted((a.unit, a.created_at) for a in cusum_alerts(found))
    late = sorted((a.unit, a.created_at) for a in cusum_alerts(found_late))
    assert [u for u, _ in early] == [u for u, _ in late] == ["S01-C01-G07", "S01-C01-G19"]
    for (_, t_early), (_, t_late) in zip(early, late, strict=True):
        assert t_early < t_late and t_late - t_early < timedelta(days=1)
