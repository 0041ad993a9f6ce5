"""Detection quality of the dynamic detector (动态预警) on a simulated district with ground truth.

Simulates a district (or reuses one), replays it through the dynamic detector *alone* (built
from the thresholds file in force, exactly as `warning replay` builds it), and scores the
dynamic alerts against the dynamic truth with `warning.analysis.evaluate`'s matching rule and its
alert collapsing by ``alert_id``. Prints recall, median/p90 detection delay, false alerts per
street per week and precision, plus where the false alerts come from (indicator family, level,
grid vs street series) and which rule found each burst first, and writes
bench/results/dynamic_quality.json. Benchmarks print; they never assert.

    .venv/bin/python bench/bench_dynamic_quality.py                 # 120 days, seed 7 (~1 min)
    .venv/bin/python bench/bench_dynamic_quality.py --days 365      # the reported year (~3 min)
    .venv/bin/python bench/bench_dynamic_quality.py --days 60 --incidents 0   # background only

A run with ``--incidents 0`` has no truth: every alert is false, which is the cleanest
measure of the background false-alert rate.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from warning import settings as settings_mod
from warning import thresholds as thresholds_mod
from warning.analysis.evaluate import Truth, collapse, evaluate, period, read_truth
from warning.analysis.replay import iter_alerts, iter_events, pipeline_for
from warning.core import units
from warning.core.detectors.dynamic import DynamicDetector
from warning.core.events import Alert
from warning.simulate.district import District, SimConfig, write

HERE = Path(__file__).resolve().parent
RULES = ("keyword", "headcount", "multi_channel")


def dataset(days: int, seed: int, incidents: float, data: Path) -> tuple[Path, float | None]:
    """Reuse `data` when its manifest matches the arguments, else simulate into it."""
    manifest = data / "manifest.json"
    if manifest.exists():
        args = json.loads(manifest.read_text(encoding="utf-8"))["args"]
        if (args["days"], args["seed"], args.get("incidents", 1.0)) == (days, seed, incidents):
            return data, None
    t0 = time.perf_counter()
    config = SimConfig(seed=seed, start=date(2026, 1, 1), days=days, incidents=incidents)
    write(District(config), data, settings_mod.load().topics_dir)
    return data, time.perf_counter() - t0


def family(a: Alert) -> str:
    """Which part of the detector raised an alert: rule, window (burst) or cusum (slow rise)."""
    names = {i.name for i in a.indicators}
    if "cusum" in names:
        return "cusum"
    rules = sorted(names.intersection(RULES))
    if rules and "window_count" in names:
        return "window+rule"
    if rules:
        return "+".join(rules)
    return "window"


def scope(a: Alert) -> str:
    """grid or street series."""
    return str(a.details.get("scope", "grid" if a.unit.count("-") == 2 else "street"))


def on_other_truth(a: Alert, others: list[Truth]) -> str:
    """The type:kind of a non-dynamic incident a false dynamic alert coincides with, else "-".

    Same street (or a district-wide incident), same category when both have one, and created
    between a day before the incident and two days after it. Such alerts report something real
    (a pattern peak, a case's threat words, a collective petition) that evaluate.py counts as a
    false dynamic alert because the truth file files it under another warning type.
    """
    street = units.street_of(a.unit)
    for t in others:
        if not (t.start - timedelta(days=1) <= a.created_at <= t.end + timedelta(days=2)):
            continue
        if (t.unit == units.DISTRICT or t.street == street) and (not t.category or t.category == a.category):
            return f"{t.type}:{t.kind}"
    return "-"


def main() -> None:
    """Run simulate + replay (dynamic only) + evaluate and write bench/results/dynamic_quality.json."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--incidents", type=float, default=1.0, help="incident intensity (0 = background only)")
    ap.add_argument("--data", type=Path, default=None, help="simulation dir to reuse/create (default: a temp dir)")
    ap.add_argument("--alerts", type=Path, default=None, help="also write the raw dynamic alerts (JSONL) here")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "dynamic_quality.json")
    args = ap.parse_args()

    cfg = settings_mod.load()
    th = thresholds_mod.load(cfg.thresholds_file).thresholds
    tmp = None
    if args.data is None:
        tmp = tempfile.TemporaryDirectory(prefix="dynq-")
        args.data = Path(tmp.name)
    data, gen_s = dataset(args.days, args.seed, args.incidents, args.data)

    det = DynamicDetector(th.dynamic.params(th.calendar.params()))
    t0 = time.perf_counter()
    n_events = 0

    def counted() -> Any:
        nonlocal n_events
        for e in iter_events(data, cfg, th):
            n_events += 1
            yield e

    raw = list(iter_alerts(counted(), pipeline_for(th, [det])))
    replay_s = time.perf_counter() - t0
    if args.alerts is not None:
        with args.alerts.open("w", encoding="utf-8") as fh:
            for a in raw:
                fh.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")

    all_truths = read_truth(data / "truth.jsonl")
    truths = [t for t in all_truths if t.type == "dynamic"]
    others = [t for t in all_truths if t.type != "dynamic" and not t.negative]
    streets, weeks = period(data, truths, raw)
    ev = evaluate(raw, truths, streets, weeks)
    m = ev.metrics["by_type"]["dynamic"]
    alerts = collapse(raw)
    false = [a for a in alerts if a.alert_id not in ev.matched_alerts]
    den = streets * weeks

    def breakdown(items: list[Alert], key: Any) -> dict[str, float]:
        c = Counter(key(a) for a in items)
        return {k: round(v / den, 3) for k, v in sorted(c.items())}

    # which family raised the first matching alert of each detected burst
    first_by: Counter[str] = Counter()
    by_kind: dict[str, list[int]] = {}
    for t in truths:
        hits = [a for a in alerts if a.alert_id in ev.matched_alerts and a.created_at == ev.detected.get(t.incident_id)]
        if hits:
            first_by[family(hits[0])] += 1
        by_kind.setdefault(t.kind, [0, 0])[0] += 1
        by_kind[t.kind][1] += t.incident_id in ev.detected
    # the statistical part alone: alerts carrying a window or CUSUM indicator (with or without a rule)
    window_only = evaluate([a for a in raw if family(a) in ("window", "window+rule", "cusum")], truths, streets, weeks)
    wm = window_only.metrics["by_type"]["dynamic"]
    delay = m["delay_seconds"] or {}
    result: dict[str, Any] = {
        "dataset": {"days": args.days, "seed": args.seed, "incidents": args.incidents, "streets": streets},
        "detector": f"{det.name}@{det.version}",
        "events": n_events,
        "replay_seconds": round(replay_s, 1),
        "alerts_raw": len(raw),
        "alerts": m["alerts"],
        "alerts_per_year": round(m["alerts"] * 52.18 / weeks),
        "incidents": m["incidents"],
        "detected": m["detected"],
        "recall": m["recall"],
        "delay_median_hours": round(delay["median"] / 3600, 2) if delay else None,
        "delay_p90_hours": round(delay["p90"] / 3600, 2) if delay else None,
        "precision": m["precision"],
        "false_alerts": m["false_alerts"],
        "false_alerts_per_street_week": round(m["false_alerts_per_street_week"], 3),
        "alerts_per_street_week": round(m["alerts_per_street_week"], 3),
        "false_per_street_week_by_family": breakdown(false, family),
        "false_per_street_week_by_level": breakdown(false, lambda a: a.level),
        "false_per_street_week_by_scope": breakdown(false, scope),
        "false_per_street_week_on_other_truth": breakdown(false, lambda a: on_other_truth(a, others)),
        "alerts_per_street_week_by_family": breakdown(alerts, family),
        "first_detection_by_family": dict(sorted(first_by.items())),
        "recall_by_kind": {k: f"{v[1]}/{v[0]}" for k, v in sorted(by_kind.items())},
        "baseline_only": {  # windows + CUSUM alone, without the keyword/headcount/multi-channel rules
            "recall": wm["recall"],
            "precision": wm["precision"],
            "false_alerts_per_street_week": round(wm["false_alerts_per_street_week"], 3),
        },
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if gen_s is not None:
        print(f"simulated {args.days} days (seed {args.seed}) in {gen_s:.1f} s -> {data}")
    print(f"replayed {n_events:,} events through {result['detector']} in {replay_s:.1f} s: {len(raw):,} raw alerts")

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.1%}"

    print(
        f"recall {pct(m['recall'])} ({m['detected']}/{m['incidents']})  delay median "
        f"{result['delay_median_hours']} h p90 {result['delay_p90_hours']} h  precision {pct(m['precision'])}  "
        f"alerts {m['alerts']} (~{result['alerts_per_year']}/year)  false/street/week "
        f"{result['false_alerts_per_street_week']}"
    )
    print(f"  false/street/week by family {result['false_per_street_week_by_family']}")
    print(f"  false/street/week by level  {result['false_per_street_week_by_level']}")
    print(f"  false/street/week by scope  {result['false_per_street_week_by_scope']}")
    print(
        f"  false/street/week coinciding with a non-dynamic incident {result['false_per_street_week_on_other_truth']}"
    )
    print(f"  first detection by family   {result['first_detection_by_family']}")
    print(f"  recall by kind              {result['recall_by_kind']}")
    b = result["baseline_only"]
    print(
        f"  windows+CUSUM only: recall {pct(b['recall'])} precision {pct(b['precision'])} "
        f"false/street/week {b['false_alerts_per_street_week']}"
    )
    print(f"-> {args.out}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
