"""Measure which tail model the dynamic detector should use (numbers quoted in its docstring).

Seeded synthetic street: `N_SERIES` grid series of one category over 8 weeks of negative
binomial background (hour-of-day and weekday shape, dispersion 1: zero-heavy, clustered),
then a 10x burst for 3 daytime hours in one grid. Variants scored at the same cut-off
(p < 1e-4): Poisson tail, negative-binomial tail (both through `DynamicDetector`), and an
EWMA z-score on hourly counts. Prints a table and writes bench/results/dynamic_model_choice.json.

Run: ``.venv/bin/python bench/dynamic_model_choice.py``
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from warning.core.detectors.dynamic import DynamicDetector, DynamicParams
from warning.core.events import Event, Location

TZ = timezone(timedelta(hours=8))
START = datetime(2026, 3, 2, tzinfo=TZ)  # a Monday
N_SERIES = 40
DAYS = 56
PER_DAY = 3.0
ALPHA = 1.0
BURST_DAY = 50
BURST_HOURS = (10, 11, 12)
HOD = np.array([0.2] * 7 + [1.0, 1.6, 1.8, 1.8, 1.5, 1.2, 1.5, 1.7, 1.6, 1.4, 1.1, 0.9, 0.7, 0.5, 0.4, 0.3, 0.2])
HOD = HOD / HOD.mean()
DOW = np.array([1.2, 1.1, 1.1, 1.0, 1.0, 0.8, 0.8])
DOW = DOW / DOW.mean()


def grid(i: int) -> str:
    """Grid code of series i."""
    return f"S01-C{i // 10 + 1:02d}-G{i % 10 + 1:02d}"


def synth(seed: int) -> tuple[list[Event], set[str]]:
    """Events in time order and the ids of the injected burst events."""
    rng = np.random.default_rng(seed)
    events: list[Event] = []
    burst: set[str] = set()
    r = 1.0 / ALPHA
    for hour in range(DAYS * 24):
        day, hod = divmod(hour, 24)
        mu = PER_DAY / 24.0 * HOD[hod] * DOW[day % 7]
        counts = rng.negative_binomial(r, r / (r + mu), size=N_SERIES)
        if day == BURST_DAY and hod in BURST_HOURS:
            counts[0] += rng.poisson(9.0 * mu)  # 10x in total
        for i in np.nonzero(counts)[0]:
            for j in range(int(counts[i])):
                ts = START + timedelta(hours=hour, minutes=int(rng.integers(0, 60)))
                eid = f"e{hour}-{i}-{j}"
                if i == 0 and day == BURST_DAY and hod in BURST_HOURS:
                    burst.add(eid)
                g = grid(int(i))
                events.append(Event(eid, "grid", eid, ts, ts, Location("S01", g.rsplit("-", 1)[0], g), "labour"))
    events.sort(key=lambda e: (e.occurred_at, e.event_id))
    return events, burst


def run_detector(params: DynamicParams, events: list[Event], burst: set[str]) -> tuple[int, bool]:
    """(false alert ids outside the burst series' burst window, burst detected)."""
    det = DynamicDetector(params)
    st = det.init_state()
    false_ids: set[str] = set()
    detected = False
    for ev in events:
        st, alerts = det.step(st, ev, ev.occurred_at)
        for a in alerts:
            if a.subject.startswith(grid(0)) and ev.event_id in burst:
                detected = True
            elif "window_count" in {i.name for i in a.indicators}:
                false_ids.add(a.alert_id)
    return len(false_ids), detected


def run_ewma(events: list[Event], burst: set[str], z_cut: float = 3.72, window: int = 6) -> tuple[int, bool]:
    """EWMA mean/variance of hourly counts per series; window sum z-score at event time."""
    lam = 1.0 - 0.5 ** (1.0 / (28 * 24))
    hourly: dict[tuple[str, int], int] = {}
    for ev in events:
        h = int((ev.occurred_at - START).total_seconds() // 3600)
        hourly[(ev.location.grid_id, h)] = hourly.get((ev.location.grid_id, h), 0) + 1
    false_ids: set[tuple[str, int]] = set()
    detected = False
    for i in range(N_SERIES):
        g = grid(i)
        m, v = 0.0, 0.0
        for h in range(DAYS * 24):
            k = sum(hourly.get((g, hh), 0) for hh in range(h - window + 1, h + 1))
            if h >= 14 * 24 and hourly.get((g, h), 0) and v > 0:
                z = (k - window * m) / math.sqrt(window * v)
                if z > z_cut:
                    if i == 0 and h // 24 == BURST_DAY and h % 24 in BURST_HOURS:
                        detected = True
                    else:
                        false_ids.add((g, h // window))
            x = hourly.get((g, h), 0)
            d = x - m
            m += lam * d
            v = (1 - lam) * (v + lam * d * d)
    return len(false_ids), detected


def main() -> None:
    """Every variant over seeds 1-5 for two rates and two dispersions; print and save the table."""
    global ALPHA, PER_DAY, N_SERIES  # the scenario knobs of `synth`
    # the per-window family comparison of the v1 design study: no multiple-testing adjustment
    # (v2 adds it on top of whichever family wins), scales as they were then
    v1 = DynamicParams(street_level=False, adjust_for_series=False)
    variants = {
        "poisson(scale 8)": replace(v1, dispersion_prior=0.0, dispersion_max=0.0, surprise_scale=8.0),
        "nb(scale 8)": replace(v1, surprise_scale=8.0),
        "nb(scale 6)": replace(v1, surprise_scale=6.0),
        "nb(scale 5)": replace(v1, surprise_scale=5.0),
    }
    results: list[dict[str, object]] = []
    for per_day, n_series in ((3.0, 40), (10.0, 10)):
        for alpha in (1.0, 3.0):
            ALPHA, PER_DAY, N_SERIES = alpha, per_day, n_series
            runs = [synth(seed) for seed in range(1, 6)]
            row: dict[str, object] = {"per_day": per_day, "series": n_series, "alpha": alpha}
            for name, params in variants.items():
                got = [run_detector(params, ev, b) for ev, b in runs]
                row[name] = [sum(g[0] for g in got), sum(int(g[1]) for g in got)]
            got = [run_ewma(ev, b) for ev, b in runs]
            row["ewma_z"] = [sum(g[0] for g in got), sum(int(g[1]) for g in got)]
            results.append(row)
            print(row)
    out = Path(__file__).parent / "results" / "dynamic_model_choice.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
