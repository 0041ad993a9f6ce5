"""Pattern warning (规律预警) forecast quality on a simulated year, rolling origin, no look-ahead.

Replays the input files in event-time order through the street and district `PatternDetector`s
(thresholds in force), takes each key's pure ``forecast`` at its day rollover for 1..14 days
ahead (`warning.analysis.evaluate.rolling_forecasts`), and scores the forecasts against the actual daily
counts and a weekly seasonal-naive baseline: MAE, MASE, MAPE, interval coverage per horizon
(1, 7, 14 days and all) and on weekly sums, for street x category, district x category and the
district total. It also reports the peak-week hit rate on the injected seasonal peaks
(truth.jsonl type "pattern") and the pattern alerts' precision/recall/load from
`warning.analysis.evaluate.evaluate` (pattern metrics depend only on pattern alerts, so the dynamic
detector is not replayed). Prints a table and writes bench/results/forecast.json. Benchmarks
print; they never assert.

Run::

    .venv/bin/warning simulate --days 365 --seed 7 --out /tmp/simP      # ~35 s
    .venv/bin/python bench/bench_forecast.py /tmp/simP                    # ~2.5 min
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from warning import settings as settings_mod
from warning import thresholds
from warning.analysis import replay
from warning.analysis.evaluate import (
    evaluate,
    forecast_metrics,
    peak_week_hits,
    period,
    read_truth,
    rolling_forecasts,
)
from warning.core.detectors.pattern import PatternDetector

RESULTS = Path(__file__).parent / "results" / "forecast.json"


def run(data: Path, street_stride: int, district_stride: int) -> dict[str, Any]:
    """Every number of the benchmark as one JSON-ready dict."""
    cfg = settings_mod.load()
    th = thresholds.load(cfg.thresholds_file).thresholds
    cal = th.calendar.params()
    dets = [PatternDetector(th.pattern.params("street", cal)), PatternDetector(th.pattern.params("district", cal))]
    t0 = time.perf_counter()
    fr = rolling_forecasts(
        replay.iter_events(data, cfg, th), dets, strides={"street": street_stride, "district": district_stride}
    )
    seconds = time.perf_counter() - t0
    metrics = forecast_metrics(fr)
    truths = read_truth(data / "truth.jsonl")
    streets, weeks = period(data, truths, fr.alerts)
    ev = evaluate(fr.alerts, truths, streets, weeks)
    pat = ev.metrics["by_type"]["pattern"]
    kinds: dict[str, int] = {}
    for a in ev.alerts:
        kind = str(a.details.get("kind"))
        kinds[kind] = kinds.get(kind, 0) + 1
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    return {
        "dataset": {"dir": str(data), "seed": manifest["seed"], "days": manifest["date_range"]["days"]},
        "detectors": [f"{d.name}@{d.version}" for d in dets],
        "seconds": round(seconds, 1),
        "platform": platform.python_version(),
        "forecast": metrics,
        "peak_weeks": peak_week_hits(truths, fr.alerts),
        "alerts": {
            "raw": len(fr.alerts),
            "collapsed": pat["alerts"],
            "by_kind": kinds,
            "precision": pat["precision"],
            "recall": pat["recall"],
            "incidents": pat["incidents"],
            "detected": pat["detected"],
            "alerts_per_street_week": pat["alerts_per_street_week"],
            "false_alerts_per_street_week": pat["false_alerts_per_street_week"],
            "streets": streets,
            "weeks": round(weeks, 2),
        },
    }


def _f(v: Any, pct: bool = False) -> str:
    if v is None:
        return "n/a"
    return f"{v:.1%}" if pct else f"{v:.3f}"


def show(res: dict[str, Any]) -> None:
    """Print the tables."""
    fc = res["forecast"]
    print(f"rolling-origin forecasts, {fc['days']} days, {fc['events']:,} events, {res['seconds']} s")
    head = f"{'scope':15} {'res':6} {'h':5} {'n':>7} {'mean y':>8} {'MAE':>8} {'naive':>8} {'MASE':>6}"
    print(head + f" {'MAPE':>7} {'naiveMAPE':>9} {'bias':>7} {'cover':>6} {'width':>7}")
    for res_name in ("daily", "weekly"):
        for scope, rows in fc[res_name].items():
            for bucket, m in rows.items():
                print(
                    f"{scope:15} {res_name:6} {bucket:5} {m['n']:>7} {_f(m['mean_actual']):>8} {_f(m['mae']):>8} "
                    f"{_f(m['mae_naive']):>8} {_f(m['mase']):>6} {_f(m['mape'], True):>7} "
                    f"{_f(m['mape_naive'], True):>9} {_f(m['bias']):>7} {_f(m['coverage'], True):>6} "
                    f"{_f(m['mean_width']):>7}"
                )
    pw = res["peak_weeks"]
    print(f"\npeak weeks: {pw['hits']}/{pw['incidents']} hit, {pw['hits_before_start']} before the window opened")
    for r in pw["incidents_detail"]:
        print(
            f"  {r['incident_id']} {r['kind']:28} {r['unit']:8} {r['category']:10} {r['start']}..{r['end']} "
            f"hit={r['hit']!s:5} lead={r['lead_days']} d first target={r['first_target']} detected={r['detected']}"
        )
    a = res["alerts"]
    print(
        f"\npattern alerts: {a['raw']} raw, {a['collapsed']} after collapse {a['by_kind']}; precision "
        f"{_f(a['precision'], True)}, recall {a['detected']}/{a['incidents']}; "
        f"{a['alerts_per_street_week']:.3f} alerts and {a['false_alerts_per_street_week']:.3f} false per street-week"
    )


def main() -> None:
    """Parse arguments, run, print, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("data", type=Path, nargs="?", default=Path("/tmp/simP"), help="simulated input directory")
    ap.add_argument("--street-stride", type=int, default=5, help="forecast every n-th day per street")
    ap.add_argument("--district-stride", type=int, default=1, help="forecast every n-th day district-wide")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    res = run(args.data, args.street_stride, args.district_stride)
    show(res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
