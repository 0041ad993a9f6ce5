"""Detection quality beside trivial baselines, over seeds and difficulties (issue 10).

For every difficulty x seed: `warning simulate --difficulty D --seed S --days N`, then
`warning replay` (both as the CLI runs them, in a child process of this interpreter), then
`warning.analysis.evaluate` with its strict one-to-one matcher on the detectors' alerts and on
the baselines of `warning.analysis.baselines` computed from the same input files. Prints one
table of mean [min..max] over the seeds per difficulty, warning type, strategy and metric,
checks the issue's targets, writes bench/results/quality.json, and ends with one JSON line.
Benchmarks print; they never assert.

    .venv/bin/python bench/bench_quality.py                       # seeds 1 2 3 x realistic, hard; 40 days (~10 min)
    .venv/bin/python bench/bench_quality.py --days 60             # bench/results/quality.json (~16 CPU-min)
    .venv/bin/python bench/bench_quality.py --days 730 --seeds 1 2 3 --difficulty realistic   # pattern targets

A simulator without ``--difficulty`` is run without it (the result then says so).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warning import settings as settings_mod
from warning import thresholds as thresholds_mod
from warning.analysis import baselines
from warning.analysis.evaluate import BASELINE_TYPES, desk_counts, evaluate, period, read_alerts, read_truth, run_start
from warning.analysis.replay import iter_events
from warning.core.routing import RoutingRules

HERE = Path(__file__).resolve().parent
TYPES = ("dynamic", "pattern", "relational", "case")
METRICS = ("alerts", "precision", "recall", "false_alerts_per_street_week", "delay_median_hours", "street_desk_per_day")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``warning ARGS`` with this interpreter (and its import path), failing loudly."""
    cmd = [sys.executable, "-c", "from warning.cli import main; main()", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"warning {' '.join(args)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return res


def code_state() -> dict[str, Any]:
    """Which code was measured: the commit and whether the working tree differed from it."""
    root = HERE.parent

    def git(*args: str) -> str:
        res = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
        return res.stdout.rstrip("\n") if res.returncode == 0 else ""

    dirty = [line[3:] for line in git("status", "--short", "--untracked-files=no").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD").strip() or None, "modified_files": dirty}


def supports_difficulty() -> bool:
    """Whether this checkout's simulator has the ``--difficulty`` knob."""
    return "--difficulty" in cli("simulate", "--help").stdout


def row(m: Mapping[str, Any]) -> dict[str, Any]:
    """The few numbers the table shows, from one type's metrics."""
    delay = m["delay_seconds"]
    return {
        "alerts": m["alerts"],
        "matched": m["matched_alerts"],
        "incidents": m["incidents"],
        "detected": m["detected"],
        "duplicates": m["duplicate_alerts"],
        "precision": m["precision"],
        "recall": m["recall"],
        "false_alerts_per_street_week": m["false_alerts_per_street_week"],
        "delay_median_hours": delay["median"] / 3600 if delay else None,
        "street_desk_per_day": m["desk_load"]["by_level"]["street"]["per_desk_day"],
        "busiest_desk_per_day": m["desk_load"]["busiest_per_day"],
        "by_kind": m["by_kind"],
    }


@dataclass(frozen=True)
class Env:
    """Settings, thresholds and routing loaded once for every run (as the CLI loads them)."""

    settings: settings_mod.Settings
    thresholds: thresholds_mod.Thresholds
    rules: RoutingRules

    @classmethod
    def load(cls) -> Env:
        """The configuration in force."""
        cfg = settings_mod.load()
        th = thresholds_mod.load(cfg.thresholds_file).thresholds
        return cls(cfg, th, thresholds_mod.routing_rules(th))


def one_run(days: int, seed: int, difficulty: str | None, work: Path, env: Env) -> dict[str, Any]:
    """Simulate, replay, evaluate one dataset; the per-strategy rows and the timings."""
    data = work / f"{difficulty or 'default'}-{seed}"
    sim = ["simulate", "--days", str(days), "--seed", str(seed), "--out", str(data)]
    t0 = time.perf_counter()
    cli(*sim, *(["--difficulty", difficulty] if difficulty else []))
    t1 = time.perf_counter()
    cli("replay", str(data), "--out", str(data / "alerts.jsonl"))
    t2 = time.perf_counter()
    rules = env.rules
    raw, truths = read_alerts(data / "alerts.jsonl"), read_truth(data / "truth.jsonl")
    streets, weeks = period(data, truths, raw)
    desks = desk_counts(data)
    start = run_start(data)
    detectors = evaluate(raw, truths, streets, weeks, desks=desks, rules=rules, start=start).metrics
    base = baselines.score(
        iter_events(data, env.settings, env.thresholds), truths, streets, weeks, desks=desks, rules=rules, start=start
    )
    t3 = time.perf_counter()
    rows: dict[str, dict[str, Any]] = {}
    for typ in TYPES:
        rows[f"{typ}/detectors"] = row(detectors["by_type"][typ])
        for name, bm in base.items():
            if typ in BASELINE_TYPES.get(name, ()) or (name == "never" and bm["by_type"][typ]["incidents"]):
                rows[f"{typ}/{name}"] = row(bm["by_type"][typ])
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    return {
        "seed": seed,
        "difficulty": difficulty,
        "records": sum(manifest["counts"].values()),
        "streets": streets,
        "truth": manifest["truth"],
        "alerts_raw": len(raw),
        "seconds": {"simulate": round(t1 - t0, 1), "replay": round(t2 - t1, 1), "evaluate": round(t3 - t2, 1)},
        "rows": rows,
    }


def spread(values: Iterable[float | None]) -> dict[str, float | None]:
    """Mean, min and max of the values that exist (None when none do)."""
    xs = [float(v) for v in values if v is not None]
    if not xs:
        return {"mean": None, "min": None, "max": None, "n": 0}
    return {"mean": sum(xs) / len(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """difficulty -> "type/strategy" -> metric -> spread over the seeds."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for diff in dict.fromkeys(str(r["difficulty"]) for r in runs):
        mine = [r for r in runs if str(r["difficulty"]) == diff]
        keys = list(dict.fromkeys(k for r in mine for k in r["rows"]))
        out[diff] = {
            k: {m: spread(r["rows"][k][m] for r in mine if k in r["rows"]) for m in (*METRICS, "busiest_desk_per_day")}
            for k in keys
        }
    return out


def by_kind(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, int]]]:
    """difficulty -> "type/kind" -> incidents and detected by the detectors, summed over the seeds."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for r in runs:
        diff = out.setdefault(str(r["difficulty"]), {})
        for typ in TYPES:
            for kind, c in r["rows"][f"{typ}/detectors"]["by_kind"].items():
                cell = diff.setdefault(f"{typ}/{kind}", {"incidents": 0, "detected": 0})
                cell["incidents"] += c["incidents"]
                cell["detected"] += c["detected"]
    return out


def _mean(s: Mapping[str, dict[str, Any]], key: str, metric: str) -> float:
    v = s.get(key, {}).get(metric, {}).get("mean")
    return float(v) if v is not None else 0.0


def f1(p: float, r: float) -> float:
    """Harmonic mean of precision and recall (0 when both are 0)."""
    return 2 * p * r / (p + r) if p + r else 0.0


def targets(summary: Mapping[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The issue's targets per difficulty, on the seed means; headline metric = F1 per type."""
    out: dict[str, Any] = {}
    for diff, s in summary.items():
        dyn_p, dyn_r = _mean(s, "dynamic/detectors", "precision"), _mean(s, "dynamic/detectors", "recall")
        beats: dict[str, dict[str, Any]] = {}
        for typ in TYPES:
            det = f1(_mean(s, f"{typ}/detectors", "precision"), _mean(s, f"{typ}/detectors", "recall"))
            for key in s:
                if key.startswith(f"{typ}/") and not key.endswith("/detectors"):
                    base = f1(_mean(s, key, "precision"), _mean(s, key, "recall"))
                    beats[key] = {"detector_f1": round(det, 4), "baseline_f1": round(base, 4), "beats": det > base}
        out[diff] = {
            "dynamic_recall_ge_0.9": dyn_r >= 0.9,
            "dynamic_false_per_street_week_le_1": _mean(s, "dynamic/detectors", "false_alerts_per_street_week") <= 1.0,
            "dynamic_precision_ge_rule_only_plus_20pt": dyn_p >= _mean(s, "dynamic/rule_only", "precision") + 0.2,
            "pattern_recall_ge_0.8": _mean(s, "pattern/detectors", "recall") >= 0.8,
            "detector_beats_baseline_f1": beats,
        }
    return out


def _fmt(sp: Mapping[str, Any], metric: str) -> str:
    if sp["mean"] is None:
        return "-"
    if metric == "alerts":
        return f"{sp['mean']:.0f} [{sp['min']:.0f}..{sp['max']:.0f}]"
    if metric in ("precision", "recall"):
        return f"{100 * sp['mean']:.1f}% [{100 * sp['min']:.1f}..{100 * sp['max']:.1f}]"
    return f"{sp['mean']:.2f} [{sp['min']:.2f}..{sp['max']:.2f}]"


def print_table(summary: Mapping[str, dict[str, dict[str, Any]]]) -> None:
    """One line per difficulty x type x strategy: mean [min..max] over the seeds."""
    head = ["difficulty", "type/strategy", *METRICS]
    lines = [head]
    for diff, s in summary.items():
        for key, ms in s.items():
            lines.append([diff, key, *(_fmt(ms[m], m) for m in METRICS)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))


def main() -> None:
    """Run the grid of seeds x difficulties and report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--difficulty", nargs="+", default=["realistic", "hard"])
    # ~2.6 CPU-s per simulated day and run (replay ~1.4 ms/event dominates): 6 runs x 60 days took
    # 940 CPU-s (16 min); 40 days keeps the default near 10 min
    ap.add_argument("--days", type=int, default=40)
    ap.add_argument("--work", type=Path, default=None, help="keep the simulated data here (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "quality.json")
    args = ap.parse_args()
    env = Env.load()
    has_difficulty = supports_difficulty()
    difficulties: list[str | None] = list(args.difficulty) if has_difficulty else [None]
    t0 = time.perf_counter()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        work = args.work or Path(tmp)
        for diff in difficulties:
            for seed in args.seeds:
                run = one_run(args.days, seed, diff, work, env)
                print(f"# {diff or 'default'} seed {seed}: {run['records']:,} records, {run['seconds']}", flush=True)
                runs.append(run)
    summary = summarise(runs)
    print_table(summary)
    kinds = by_kind(runs)
    for diff, cells in kinds.items():
        print(
            f"# {diff}: detector recall by kind "
            + ", ".join(f"{k} {c['detected']}/{c['incidents']}" for k, c in cells.items())
        )
    usage = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "benchmark": "quality",
        "command": " ".join(["python", "bench/bench_quality.py", *sys.argv[1:]]),
        "days": args.days,
        "seeds": args.seeds,
        "difficulties": difficulties,
        "difficulty_supported": has_difficulty,
        "matching": "warning/analysis/evaluate.py strict one-to-one; windows in warning/analysis/evaluation.toml",
        "code": code_state(),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "seconds": round(time.perf_counter() - t0, 1),
        "cpu_seconds": round(sum(u.ru_utime + u.ru_stime for u in usage), 1),
        "summary": summary,
        "detector_recall_by_kind": kinds,
        "targets": targets(summary),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    compact = {
        "benchmark": "quality",
        "days": args.days,
        "seeds": args.seeds,
        "seconds": result["seconds"],
        "cpu_seconds": result["cpu_seconds"],
        "mean": {
            diff: {k: {m: s[k][m]["mean"] for m in ("precision", "recall", "false_alerts_per_street_week")} for k in s}
            for diff, s in summary.items()
        },
    }
    print(json.dumps(compact, ensure_ascii=False))


if __name__ == "__main__":
    main()
