"""`warning score-series` quality and speed on synthetic shapes (warning/devtools/series_shapes.py).

For each shape and seed: false-alarm rate on the clean series (share of rows after the warm-up
scoring at least the alert cut-off), and for each anomaly kind the rank hit (one of the top-k
scores of the whole series falls in the anomaly's rows, plus `SLACK` rows for shifts) and
whether the anomaly alerted at all. Beside it, the same figures for the previous scorer
(`baselines.SeriesScorer`: EWMA mean/variance, NB or normal upper tail, rises only) as the
baseline. Prints a table and writes bench/results/scorer.json.

    .venv/bin/python bench/bench_scorer.py [--seeds 3] [--top-k 5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from warning.core.detectors.baselines import SeriesParams, SeriesScorer
from warning.core.detectors.series import ScorerParams, StreamScorer
from warning.devtools.series_shapes import KINDS, SHAPES, Injected, Series, inject

OUT = Path(__file__).parent / "results" / "scorer.json"
STRENGTH = {"spike": 6.0, "dip": 6.0, "shift": 3.0, "variance": 4.0, "ramp": 4.0}
SLACK = 48
SKIP = {("flat", "variance"), ("flat", "ramp"), ("counts_sparse", "dip")}  # no such anomaly there


def score_series(s: Series, params: ScorerParams | None) -> np.ndarray:
    """Scores of every row, streaming; `params` None scores with the previous scorer."""
    out = np.empty(len(s.y))
    if params is None:
        old = SeriesScorer(SeriesParams())
        st = old.init_state()
        for i, v in enumerate(s.y.tolist()):
            st, out[i] = old.update(st, v)
        return out
    sc = StreamScorer(params)
    state = sc.init_state()
    for i, (t, v) in enumerate(zip(s.t.tolist(), s.y.tolist(), strict=True)):
        state, out[i] = sc.update(state, v, t=t)
    return out


def rank_hit(scores: np.ndarray, inj: Injected, top_k: int, warm: int) -> bool:
    """True when one of the top-k scores after the warm-up lies in the anomaly's rows."""
    end = inj.end if inj.kind in ("spike", "dip") else inj.end + SLACK
    top = np.argsort(-scores[warm:], kind="stable")[:top_k] + warm
    return bool(np.any((top >= inj.start) & (top < end)))


def run(seeds: int, top_k: int) -> dict[str, Any]:
    """Per-shape figures over `seeds` seeds."""
    params = ScorerParams()
    warm = params.min_history
    table: dict[str, Any] = {}
    rows = seconds = 0.0
    for name, make in SHAPES.items():
        entry: dict[str, Any] = {
            "false_alarm_rate": [],
            "hits": {k: [] for k in KINDS},
            "alerted": {k: [] for k in KINDS},
            "baseline": {"false_alarm_rate": [], "nan_rows": 0, "hits": {k: [] for k in KINDS}},
        }
        for seed in range(seeds):
            rng = np.random.default_rng(1000 + seed)
            clean = make(rng)
            t0 = time.perf_counter()
            base = score_series(clean, params)
            seconds += time.perf_counter() - t0
            rows += len(base)
            entry["false_alarm_rate"].append(float(np.mean(base[warm:] >= params.alert_score)))
            old = score_series(clean, None)
            entry["baseline"]["nan_rows"] += int(np.sum(~np.isfinite(old)))
            entry["baseline"]["false_alarm_rate"].append(float(np.mean(np.nan_to_num(old[warm:]) >= 0.5)))
            at = int(rng.integers(len(clean.y) // 2, len(clean.y) - 3 * SLACK))
            for kind in KINDS:
                if (name, kind) in SKIP:
                    continue
                inj = inject(clean, kind, at, STRENGTH[kind])
                sc = score_series(inj.series, params)
                entry["hits"][kind].append(rank_hit(sc, inj, top_k, warm))
                window = sc[inj.start : inj.end + (0 if kind in ("spike", "dip") else SLACK)]
                entry["alerted"][kind].append(bool(np.any(window >= params.alert_score)))
                old_sc = np.nan_to_num(score_series(inj.series, None), nan=-1.0)
                entry["baseline"]["hits"][kind].append(rank_hit(old_sc, inj, top_k, warm))
        table[name] = entry
    return {"seeds": seeds, "top_k": top_k, "strength": STRENGTH, "shapes": table, "points_per_second": rows / seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--top-k", type=int, default=5)
    args = ap.parse_args()
    res = run(args.seeds, args.top_k)
    print(f"{'shape':20} {'false':>7} " + " ".join(f"{k:>9}" for k in KINDS) + "   (rank hits / alerted, of seeds)")
    for name, e in res["shapes"].items():
        cells = []
        for k in KINDS:
            h, a = e["hits"][k], e["alerted"][k]
            cells.append(f"{sum(h)}/{sum(a)} of {len(h)}" if h else "-")
        print(f"{name:20} {np.mean(e['false_alarm_rate']):7.4f} " + " ".join(f"{c:>9}" for c in cells))
    print("baseline (previous scorer):                         (rank hits, of seeds; nan rows)")
    for name, e in res["shapes"].items():
        b = e["baseline"]
        cells = [f"{sum(b['hits'][k])} of {len(b['hits'][k])}" if b["hits"][k] else "-" for k in KINDS]
        line = f"{name:20} {np.mean(b['false_alarm_rate']):7.4f} " + " ".join(f"{c:>9}" for c in cells)
        print(line + f"   nan {b['nan_rows']}")
    print(f"points/s: {res['points_per_second']:.0f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
