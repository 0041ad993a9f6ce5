"""Replay throughput: simulate (or reuse) a district, replay it through the detectors, print events/s.

Prints numbers and writes bench/results/replay.json; it never asserts on time (the machine is
shared). Two passes are measured: ingest only (parse, validate, pseudonymise, merge) and the
full loop with every detector of `warning.pipeline.build_detectors`, so a slow detector shows
up as the difference.

    .venv/bin/python bench/bench_replay.py --days 30 --seed 7
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from warning import settings as settings_mod
from warning import thresholds as thresholds_mod
from warning.analysis.replay import Summary, iter_events, replay
from warning.pipeline import build_detectors
from warning.simulate.district import District, SimConfig, write

HERE = Path(__file__).resolve().parent


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def dataset(days: int, seed: int, scale: float, data: Path) -> tuple[Path, float | None]:
    """Reuse `data` when its manifest matches, else simulate it; returns (dir, generation seconds)."""
    manifest = data / "manifest.json"
    if manifest.exists():
        args = json.loads(manifest.read_text(encoding="utf-8"))["args"]
        if (args["days"], args["seed"], args["scale"]) == (days, seed, scale):
            return data, None
    t0 = time.perf_counter()
    write(
        District(SimConfig(seed=seed, start=date(2026, 1, 1), days=days, scale=scale)),
        data,
        settings_mod.load().topics_dir,
    )
    return data, time.perf_counter() - t0


def main() -> None:
    """Run the benchmark and write bench/results/replay.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--data", type=Path, default=HERE / "data" / "replay")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "replay.json")
    args = ap.parse_args()
    cfg = settings_mod.load()
    th = thresholds_mod.load(cfg.thresholds_file).thresholds
    data, gen_s = dataset(args.days, args.seed, args.scale, args.data)

    t0 = time.perf_counter()
    n_ingest = sum(1 for _ in iter_events(data, cfg, th))
    ingest_s = time.perf_counter() - t0

    detectors = build_detectors(th)
    full: Summary = replay(data, cfg, th, detectors)
    result: dict[str, Any] = {
        "dataset": {
            "days": args.days,
            "seed": args.seed,
            "scale": args.scale,
            "dir": str(data),
            "generated_seconds": None if gen_s is None else round(gen_s, 2),
        },
        "ingest_only": {
            "events": n_ingest,
            "seconds": round(ingest_s, 3),
            "events_per_second": round(n_ingest / ingest_s, 1) if ingest_s else None,
        },
        "full": {**full.to_dict(), "detectors": [f"{d.name}@{d.version}" for d in detectors]},
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if gen_s is not None:
        print(f"simulated {args.days} days in {gen_s:.1f} s -> {data}")
    print(f"ingest only: {n_ingest:,} events in {ingest_s:.1f} s = {n_ingest / ingest_s:,.0f} events/s")
    f = result["full"]
    print(
        f"full replay ({len(detectors)} detectors): {f['events']:,} events, {f['alerts']:,} alerts "
        f"in {f['seconds']:.1f} s = {f['events_per_second'] or 0:,.0f} events/s"
    )
    print(f"peak RSS {result['peak_rss_mb']} MB -> {args.out}")


if __name__ == "__main__":
    main()
