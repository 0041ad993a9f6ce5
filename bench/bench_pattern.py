"""Pattern warning (规律预警) against the issue 10 target on two simulated years, beside baselines.

Target (issue 10, realistic difficulty): seasonal-peak recall >= 0.8 with a lead time >= 3 days
on at least half of them *once a year of history exists*, and the detector beats every baseline
on its headline metric. So every seed simulates 730 days and only the second year is scored:
incidents starting on or after day 366, alerts whose target day (a forecast's ``target_date``,
else the day the alert was raised) is in the second year; the first year is history only.

Per seed: ``warning simulate --days 730 --difficulty realistic`` at a reduced district (8
streets, 200 grids, background scale 0.5: ~850 records/day, so a seed runs in minutes on a
loaded 2-core machine), cached under ``data/bench-pattern/`` (git-ignored) together with the
ingested events (``events.jsonl``: ingest is 80 % of the cost and does not change with the
detector; parties are dropped, the pattern detector and baselines never read them). Then:

- the street and district `PatternDetector`s (thresholds in force) through the replay
  pipeline (`warning.analysis.replay.pipeline_for`: the engine loop the stream runs);
- the pattern baselines of `warning.analysis.baselines` on the same events: never, the
  district-daily blankets (by family / no category) and seasonal-naive;
- all scored by the strict one-to-one matcher (`warning.analysis.evaluate.evaluate`);
- lead time per seasonal peak: the incident's start minus the first alert that `matches` it
  (a forecast may come up to 21 days early, evaluation.toml), for every strategy alike;
- forecast accuracy (`evaluate.rolling_forecasts`, `forecast_metrics`): MASE against the weekly
  seasonal-naive forecast, and the MAE ratio against an *oracle* that knows the simulator's
  background mean per district x category and day plus the seasonal peaks' realised extra records
  (a stricter bar than the true mean: it also knows the peaks' noise). Oracle = 1.0 is perfect.

Seasonal peaks are the named calendar peaks (wages before 春节, family disputes after long
holidays, summer evenings, property fees, Qingming, fishing season); the weekly market days are
reported apart (one incident per Saturday). Prints a table per seed and the mean [min..max],
writes bench/results/pattern.json, last stdout line is JSON. Benchmarks print; they never assert.

    .venv/bin/python bench/bench_pattern.py                     # seeds 1 2 3 (measured)
    .venv/bin/python bench/bench_pattern.py --seeds 11 12 13    # calibration seeds
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import platform
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from warning import settings as settings_mod
from warning import thresholds as thresholds_mod
from warning.analysis import baselines
from warning.analysis.evaluate import (
    Truth,
    default_config,
    evaluate,
    forecast_metrics,
    matches,
    occurrences,
    read_truth,
    rolling_forecasts,
)
from warning.analysis.replay import pipeline_for
from warning.core.calendar import epoch_day, local_hour_index
from warning.core.detectors.pattern import PatternDetector
from warning.core.events import Alert, Event

replay_mod: Any = importlib.import_module("warning.analysis.replay")  # its ingest is swapped while caching
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = ROOT / "data" / "bench-pattern"
MARKET = "weekly_market_traffic"
_PARTIES = re.compile(rb'"parties":\[[^\]]*\]')
STRATEGIES = ("detector", "seasonal_naive", "never", "blanket_family", "blanket_nocat")


def cli(*args: str) -> None:
    """Run ``warning ARGS`` with this interpreter, failing loudly."""
    cmd = [sys.executable, "-c", "from warning.cli import main; main()", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"warning {' '.join(args)} failed ({res.returncode}):\n{res.stderr[-3000:]}")


def dataset(seed: int, days: int, streets: int, grids: int, scale: float, difficulty: str) -> Path:
    """The cached simulated directory of one seed (simulated on first use)."""
    name = f"{difficulty}-seed{seed}-{days}d-st{streets}-g{grids}-x{scale:g}"
    out = CACHE / name
    if not (out / "manifest.json").exists():
        tmp = CACHE / f"tmp-{name}"
        args = ["--days", str(days), "--seed", str(seed), "--streets", str(streets), "--grids", str(grids)]
        cli("simulate", *args, "--scale", str(scale), "--difficulty", difficulty, "--out", str(tmp))
        tmp.rename(out)
    return out


def cached_events(data: Path, env: tuple[settings_mod.Settings, thresholds_mod.Thresholds]) -> Iterator[Event]:
    """The ingested events of `data` (ingested once, then read back from ``events.jsonl``)."""
    path = data / "events.jsonl"
    if not path.exists():
        tmp = data / "events.jsonl.tmp"
        real = replay_mod.ingest
        # parties never reach the pattern detector or its baselines, and their match tokens are
        # two thirds of ingest's cost: the cache ingests each record with an empty party list
        replay_mod.ingest = lambda channel, raw, *rest: real(
            channel, _PARTIES.sub(b'"parties":[]', raw, count=1), *rest
        )
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                for ev in replay_mod.iter_events(data, *env, received_at=None):
                    fh.write(json.dumps(ev.to_dict(), ensure_ascii=False) + "\n")
        finally:
            replay_mod.ingest = real
        tmp.rename(path)
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            yield Event.from_dict(json.loads(line))


def _target_day(a: Alert) -> date:
    raw = a.details.get("target_date")
    return date.fromisoformat(str(raw)) if raw else a.created_at.date()


def second_year(alerts: Sequence[Alert], truths: Sequence[Truth], y2: date) -> tuple[list[Alert], list[Truth]]:
    """Alerts about the second year and incidents starting in it (one truth per market day)."""
    split = occurrences(truths, default_config())
    return [a for a in alerts if a.type == "pattern" and _target_day(a) >= y2], [
        t for t in split if t.type == "pattern" and not t.negative and t.start.date() >= y2
    ]


def leads(alerts: Sequence[Alert], truths: Sequence[Truth]) -> list[dict[str, Any]]:
    """Per seasonal peak: days between the first alert the strict matcher accepts and the start."""
    out = []
    for t in truths:
        if t.kind == MARKET:
            continue
        first = min((a.created_at for a in alerts if matches(a, t)), default=None)
        lead = (t.start - first).total_seconds() / 86_400 if first is not None else None
        out.append(
            {
                "kind": t.kind,
                "unit": t.unit,
                "category": t.category,
                "start": t.start.date().isoformat(),
                "end": t.end.date().isoformat(),
                "lead_days": round(lead, 2) if lead is not None else None,
            }
        )
    return out


def strategy_row(alerts: Sequence[Alert], truths: Sequence[Truth], streets: int, weeks: float) -> dict[str, Any]:
    """Strict metrics of one strategy on the second year, seasonal peaks and market days apart."""
    m = evaluate(alerts, truths, streets, weeks).metrics["by_type"]["pattern"]
    per_peak = leads(alerts, truths)
    kinds = m["by_kind"]
    seasonal_n = sum(c["incidents"] for k, c in kinds.items() if k != MARKET)
    seasonal_hit = sum(c["detected"] for k, c in kinds.items() if k != MARKET)
    lead3 = sum(1 for r in per_peak if r["lead_days"] is not None and r["lead_days"] >= 3)
    return {
        "alerts": m["alerts"],
        "matched": m["matched_alerts"],
        "precision": m["precision"],
        "precision_counts": m["precision_counts"],
        "recall": m["recall"],
        "recall_counts": m["recall_counts"],
        "false_alerts_per_street_week": m["false_alerts_per_street_week"],
        "seasonal_recall": seasonal_hit / seasonal_n if seasonal_n else None,
        "seasonal_counts": f"{seasonal_hit}/{seasonal_n}",
        "market_recall": kinds.get(MARKET, {}).get("detected", 0) / max(1, kinds.get(MARKET, {}).get("incidents", 0)),
        "lead_ge_3d": lead3 / len(per_peak) if per_peak else None,
        "lead_ge_3d_counts": f"{lead3}/{len(per_peak)}",
        "peaks": per_peak,
        "by_kind": kinds,
    }


# ---- forecast accuracy against an oracle ----------------------------------------------------


def oracle_means(data: Path, truths: Sequence[Truth], events: Iterator[Event]) -> dict[tuple[str, int], float]:
    """(category, day) -> the simulator's background mean district-wide + realised peak extras.

    The bench is the exam, so it may read the simulator (the detectors never do).
    """
    from warning.simulate import background as bg
    from warning.simulate import calendar as sim_cal

    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    first = date.fromisoformat(manifest["date_range"]["start"])
    last = date.fromisoformat(manifest["date_range"]["end"])
    c = manifest["calendar"]
    cal = sim_cal.build(first, last, tuple(c["fishing_season"]), tuple(tuple(x) for x in c["campaigns"]))
    scale = float(manifest["args"]["scale"])
    out: dict[tuple[str, int], float] = {}
    d = first
    while d <= last:
        for cat, share in bg.SHARE.items():
            lam = bg.BASE_DAILY * scale * share * sim_cal.day_factor(cat, d, cal)
            mix = sum(m * sim_cal.channel_factor(ch, d, cal) for ch, m in zip(bg.CHANNELS, bg.MIX[cat], strict=True))
            out[(cat, epoch_day(d))] = lam * mix
        d += timedelta(days=1)
    peak_ids = frozenset(i for t in truths if t.type == "pattern" and not t.negative for i in t.event_ids)
    for ev in events:
        if ev.event_id in peak_ids:
            key = (ev.category, local_hour_index(ev.occurred_at) // 24)
            out[key] = out.get(key, 0.0) + 1.0
    return out


def forecast_block(
    events: Iterator[Event], dets: list[PatternDetector], oracle: Mapping[tuple[str, int], float], y2: int
) -> dict[str, Any]:
    """MASE vs weekly seasonal-naive (whole run, from evaluate) and MAE vs the oracle (year 2, district)."""
    from warning.analysis.evaluate import seasonal_naive

    fr = rolling_forecasts(events, dets, strides={"street": 7, "district": 1})
    metrics = forecast_metrics(fr)
    acc: dict[int, list[float]] = {}  # horizon -> [|y-f|, |y-naive|, |y-oracle|, n]
    for pt in fr.points:
        if pt.scope != "district" or pt.target > fr.last_day or pt.target < y2 or pt.horizon not in (1, 7, 14):
            continue
        series = fr.counts.get((pt.unit, pt.category), {})
        naive = seasonal_naive(series, pt.origin, pt.horizon, first=fr.first_day)
        if naive is None:
            continue
        y = series.get(pt.target, 0)
        o = oracle.get((pt.category, pt.target), 0.0)
        row = acc.setdefault(pt.horizon, [0.0, 0.0, 0.0, 0.0])
        row[0] += abs(y - pt.mean)
        row[1] += abs(y - naive)
        row[2] += abs(y - o)
        row[3] += 1
    year2 = {
        str(h): {
            "n": int(r[3]),
            "mase": r[0] / r[1] if r[1] else None,
            "oracle_mase": r[2] / r[1] if r[1] else None,
            "mae_over_oracle": r[0] / r[2] if r[2] else None,
        }
        for h, r in sorted(acc.items())
    }
    daily = metrics["daily"]
    return {
        "whole_run_mase": {s: {b: v["mase"] for b, v in rows.items()} for s, rows in daily.items()},
        "whole_run_coverage": {s: {b: v["coverage"] for b, v in rows.items()} for s, rows in daily.items()},
        "district_by_category_year2": year2,
    }


# ---- one seed ---------------------------------------------------------------------------------


def one_seed(
    seed: int, args: argparse.Namespace, env: tuple[settings_mod.Settings, thresholds_mod.Thresholds]
) -> dict[str, Any]:
    """Simulate (cached), replay, score one seed's second year."""
    t0 = time.perf_counter()
    data = dataset(seed, args.days, args.streets, args.grids, args.scale, args.difficulty)
    th = env[1]
    for _ in cached_events(data, env):  # make sure the cache exists before timing the detector
        break
    t1 = time.perf_counter()
    cal = th.calendar.params()
    over: dict[str, Any] = dict(args.param or [])
    dets = [PatternDetector(dataclasses.replace(th.pattern.params(s, cal), **over)) for s in ("street", "district")]
    pipeline = pipeline_for(th, dets)
    alerts: list[Alert] = []
    for ev in cached_events(data, env):
        alerts.extend(pipeline.feed(ev).alerts)
    alerts.extend(pipeline.finish().alerts)
    t2 = time.perf_counter()
    truths = read_truth(data / "truth.jsonl")
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    y2 = date.fromisoformat(manifest["date_range"]["start"]) + timedelta(days=365)
    streets = int(manifest["geography"]["streets"])
    weeks = (int(manifest["date_range"]["days"]) - 365) / 7
    scan = baselines.scan(cached_events(data, env))
    strategies: dict[str, list[Alert]] = {"detector": alerts}
    for name, al in baselines.all_baselines(scan).items():
        if name in STRATEGIES:
            strategies[name] = al
    rows = {}
    for name, al in strategies.items():
        a2, t2s = second_year(al, truths, y2)
        rows[name] = strategy_row(a2, t2s, streets, weeks)
    t3 = time.perf_counter()
    fc: dict[str, Any] = {}
    if not args.no_forecast:
        oracle = oracle_means(data, truths, cached_events(data, env))
        # the district instance only: the oracle is district-wide, and a street pass doubles the cost
        fc = forecast_block(cached_events(data, env), dets[1:], oracle, epoch_day(y2))
    t4 = time.perf_counter()
    return {
        "seed": seed,
        "data": str(data.relative_to(ROOT)),
        "records": sum(manifest["counts"].values()),
        "streets": streets,
        "second_year_from": y2.isoformat(),
        "calendar_shifts": manifest["calendar"]["shifts"],
        "alerts_raw": len(alerts),
        "rows": rows,
        "forecast": fc,
        "seconds": {
            "data": round(t1 - t0, 1),
            "replay": round(t2 - t1, 1),
            "score": round(t3 - t2, 1),
            "forecast": round(t4 - t3, 1),
        },
    }


def spread(xs: Sequence[float | None]) -> dict[str, float | None]:
    """Mean, min, max of the values that exist."""
    v = [float(x) for x in xs if x is not None]
    return {"mean": sum(v) / len(v), "min": min(v), "max": max(v)} if v else {"mean": None, "min": None, "max": None}


SHOWN = ("precision", "recall", "seasonal_recall", "lead_ge_3d", "market_recall", "false_alerts_per_street_week")


def _fmt(s: Mapping[str, float | None], pct: bool) -> str:
    if s["mean"] is None:
        return "-"
    if pct:
        return f"{100 * s['mean']:.0f}% [{100 * (s['min'] or 0):.0f}..{100 * (s['max'] or 0):.0f}]"
    return f"{s['mean']:.2f} [{s['min']:.2f}..{s['max']:.2f}]"


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Strategy -> metric -> spread over the seeds; forecast ratios likewise."""
    out: dict[str, Any] = {
        name: {m: spread([r["rows"][name][m] for r in runs]) for m in SHOWN} for name in runs[0]["rows"]
    }
    fc = [r["forecast"] for r in runs if r["forecast"]]
    if fc:
        out["forecast_year2_district"] = {
            h: {
                m: spread([f["district_by_category_year2"].get(h, {}).get(m) for f in fc])
                for m in ("mase", "oracle_mase", "mae_over_oracle")
            }
            for h in ("1", "7", "14")
        }
    return out


def show(runs: Sequence[dict[str, Any]], summary: Mapping[str, Any]) -> None:
    """Per-seed peak leads, then one line per strategy (mean [min..max] over the seeds)."""
    for r in runs:
        print(f"# seed {r['seed']}: {r['records']:,} records, {r['alerts_raw']} raw alerts, {r['seconds']}")
        for p in r["rows"]["detector"]["peaks"]:
            naive: dict[str, Any] = next(
                (
                    q
                    for q in r["rows"]["seasonal_naive"]["peaks"]
                    if q["start"] == p["start"] and q["kind"] == p["kind"]
                ),
                {},
            )
            print(
                f"#   {p['kind']:27} {p['unit']:8} {p['start']}..{p['end']} lead detector "
                f"{p['lead_days']} d, seasonal-naive {naive.get('lead_days')} d"
            )
    head = ["strategy", *SHOWN]
    lines = [head]
    for name in runs[0]["rows"]:
        lines.append([name, *(_fmt(summary[name][m], m != "false_alerts_per_street_week") for m in SHOWN)])
    widths = [max(len(x[i]) for x in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    for h, ms in summary.get("forecast_year2_district", {}).items():
        print(
            f"forecast district x category, year 2, {h} d ahead: MASE {_fmt(ms['mase'], False)}, oracle's MASE "
            f"{_fmt(ms['oracle_mase'], False)}, MAE / oracle MAE {_fmt(ms['mae_over_oracle'], False)}"
        )


def targets(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The issue's pattern targets on the seed means."""
    det = summary["detector"]

    def f1(s: Mapping[str, Any]) -> float:
        p, r = s["precision"]["mean"] or 0.0, s["recall"]["mean"] or 0.0
        return 2 * p * r / (p + r) if p + r else 0.0

    return {
        "seasonal_recall_ge_0.8": (det["seasonal_recall"]["mean"] or 0) >= 0.8,
        "lead_ge_3d_on_half": (det["lead_ge_3d"]["mean"] or 0) >= 0.5,
        "f1": {k: round(f1(v), 4) for k, v in summary.items() if k in STRATEGIES},
        "beats_every_baseline_f1": all(
            f1(det) > f1(v) for k, v in summary.items() if k in STRATEGIES and k != "detector"
        ),
    }


def _seed_job(seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """`one_seed` in a worker process (loads its own configuration)."""
    cfg = settings_mod.load()
    return one_seed(seed, args, (cfg, thresholds_mod.load(cfg.thresholds_file).thresholds))


def _param(text: str) -> tuple[str, Any]:
    name, _, raw = text.partition("=")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name, value


def main() -> None:
    """Run the seeds, print, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--streets", type=int, default=8)
    ap.add_argument("--grids", type=int, default=200)
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--difficulty", default="realistic")
    ap.add_argument(
        "--param",
        type=_param,
        action="append",
        help="override a PatternParams field for both instances, NAME=VALUE (calibration runs)",
    )
    ap.add_argument("--jobs", type=int, default=1, help="seeds run in parallel processes")
    ap.add_argument("--prepare", action="store_true", help="only simulate and cache the events of the seeds")
    ap.add_argument("--no-forecast", action="store_true", help="skip the rolling-origin forecast accuracy")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "pattern.json")
    args = ap.parse_args()
    cfg = settings_mod.load()
    env = (cfg, thresholds_mod.load(cfg.thresholds_file).thresholds)
    CACHE.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    runs: list[dict[str, Any]] = []
    if args.prepare:
        for seed in args.seeds:
            data = dataset(seed, args.days, args.streets, args.grids, args.scale, args.difficulty)
            for _ in cached_events(data, env):
                break
            print(f"# seed {seed} cached in {data}", flush=True)
        return
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            runs = list(pool.map(_seed_job, args.seeds, [args] * len(args.seeds)))
    else:
        runs = [one_seed(seed, args, env) for seed in args.seeds]
    for r in runs:
        print(f"# seed {r['seed']} done {r['seconds']}", flush=True)
    summary = summarise(runs)
    show(runs, summary)
    usage = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    from bench_quality import code_state  # same folder: which commit was measured

    result = {
        "benchmark": "pattern",
        "command": " ".join(["python", "bench/bench_pattern.py", *sys.argv[1:]]),
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "scored": "second simulated year only (incidents starting on/after day 366; alerts targeting it)",
        "code": code_state(),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "seconds": round(time.perf_counter() - t0, 1),
        "cpu_seconds": round(sum(u.ru_utime + u.ru_stime for u in usage), 1),
        "summary": summary,
        "targets": targets(summary),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    compact: dict[str, Any] = {
        "benchmark": "pattern",
        "seeds": args.seeds,
        "seconds": result["seconds"],
        "mean": {k: {m: v[m]["mean"] for m in SHOWN} for k, v in summary.items() if k in STRATEGIES},
        "targets": {k: v for k, v in targets(summary).items() if k != "f1"},
    }
    print(json.dumps(compact, ensure_ascii=False))


if __name__ == "__main__":
    main()
