"""Iterate on the dynamic detector fast: cached events, the detector alone, the strict evaluator.

The first run over a simulated directory writes its events (`Event.to_dict`, one JSON line each,
in event-time order) to ``DIR/events.cache.jsonl``; later runs read that instead of re-parsing
and re-pseudonymising the raw files. The dynamic detector then runs alone (no pipeline, no other
detectors; ``now`` = event time) and its alerts are scored with `warning.analysis.evaluate`
(strict one-to-one matching, the 14-day probation) exactly as ``bench/bench_quality.py`` scores
the replay. Prints per directory: alerts, matched, incidents detected by kind, false alerts per
street-week and the false alerts' sources (indicator sets, scope); then the pooled figures.

Parameter overrides as ``name=value`` (Python literals), e.g. ``min_count=4``. Design on seeds
that are not the measured ones (issue 10: tune on 11-13, measure on 1-3).

    .venv/bin/warning simulate --days 60 --seed 11 --difficulty realistic --out /tmp/r11
    .venv/bin/python bench/dynamic_tune.py /tmp/r11 /tmp/r12 /tmp/r13 -- surprise_scale=3.0
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from warning import settings as settings_mod
from warning import thresholds as thresholds_mod
from warning.analysis.evaluate import (
    assign,
    collapse,
    default_config,
    evaluate,
    occurrences,
    period,
    read_truth,
    run_start,
)
from warning.analysis.replay import iter_events
from warning.core.detectors.base import DetectorState
from warning.core.detectors.dynamic import DynamicDetector, DynamicParams
from warning.core.events import Alert, Event


def cached_events(data: Path) -> Iterator[Event]:
    """The directory's events, from its cache file (written on first use)."""
    cache = data / "events.cache.jsonl"
    if not cache.exists():
        cfg = settings_mod.load()
        th = thresholds_mod.load(cfg.thresholds_file).thresholds
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for ev in iter_events(data, cfg, th):
                fh.write(json.dumps(ev.to_dict(), ensure_ascii=False) + "\n")
        tmp.rename(cache)
    with cache.open(encoding="utf-8") as fh:
        for line in fh:
            yield Event.from_dict(json.loads(line))


def params_with(overrides: Sequence[str]) -> DynamicParams:
    """The shipped dynamic parameters with ``name=value`` overrides."""
    cfg = settings_mod.load()
    th = thresholds_mod.load(cfg.thresholds_file).thresholds
    base = th.dynamic.params(th.calendar.params())
    changes: dict[str, Any] = {}
    for item in overrides:
        name, _, value = item.partition("=")
        changes[name] = ast.literal_eval(value)
    return dataclasses.replace(base, **changes)


def run(data: Path, params: DynamicParams) -> list[Alert]:
    """The dynamic detector's alerts over the directory's events."""
    det = DynamicDetector(params)
    states: dict[str, DetectorState] = {}
    out: list[Alert] = []
    for ev in cached_events(data):
        key = det.key(ev)
        states[key], got = det.step(states.get(key) or det.init_state(), ev, ev.occurred_at)
        out.extend(got)
    return out


def source(a: Alert) -> str:
    """What raised an alert: its indicator names and scope."""
    names = sorted({i.name for i in a.indicators} - {"tail_probability"})
    return f"{a.details.get('scope', '?')}:{'+'.join(names)}"


def score_dir(data: Path, params: DynamicParams, verbose: bool) -> dict[str, Any]:
    """Evaluate the detector on one directory (dynamic type only)."""
    alerts = run(data, params)
    truths = read_truth(data / "truth.jsonl")
    streets, weeks = period(data, truths, alerts)
    start = run_start(data)
    m = evaluate(alerts, truths, streets, weeks, start=start).metrics["by_type"]["dynamic"]
    false_src: Counter[str] = Counter()
    if start is not None:  # the evaluator's own probation and matcher, to name the false alerts
        cfg = default_config()
        cut = start + timedelta(days=cfg.window["dynamic"].probation_days)
        col = [a for a in collapse(alerts) if a.type == "dynamic" and a.created_at >= cut]
        tr = [t for t in occurrences(truths, cfg) if t.type == "dynamic" and t.start >= cut]
        got = assign(col, tr, cfg)
        claimed = set(got.claimed)
        false_src.update(source(a) for a in col if a.alert_id not in claimed)
        if verbose:
            for t in tr:
                print(
                    f"    {t.kind:11s} {t.unit:16s} {t.category:11s} {t.start:%m-%d %H} "
                    f"{'HIT' if t.incident_id in got.detected else 'miss'}"
                )
    return {"m": m, "false_src": false_src}


def main(argv: Sequence[str]) -> None:
    """Directories, then ``--`` and overrides."""
    args = list(argv)
    verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    dirs, overrides = (args[: args.index("--")], args[args.index("--") + 1 :]) if "--" in args else (args, [])
    params = params_with(overrides)
    tot = Counter[str]()
    kinds: dict[str, list[int]] = {}
    fps: list[float] = []
    for d in map(Path, dirs):
        r = score_dir(d, params, verbose)
        m = r["m"]
        tot.update(alerts=m["alerts"], matched=m["matched_alerts"], inc=m["incidents"], det=m["detected"])
        fps.append(m["false_alerts_per_street_week"])
        for k, c in m["by_kind"].items():
            cell = kinds.setdefault(k, [0, 0])
            cell[0] += c["detected"]
            cell[1] += c["incidents"]
        print(
            f"{d.name}: alerts {m['alerts']} matched {m['matched_alerts']} recall {m['recall_counts']} "
            f"false/st-wk {m['false_alerts_per_street_week']:.3f} false by source {dict(r['false_src'].most_common(6))}"
        )
    prec = tot["matched"] / max(tot["alerts"], 1)
    print(
        f"ALL: precision {prec:.3f} ({tot['matched']}/{tot['alerts']}) recall {tot['det']}/{tot['inc']} "
        f"false/st-wk mean {sum(fps) / max(len(fps), 1):.3f} by kind {kinds}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
