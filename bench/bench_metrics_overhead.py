"""What the stream's per-detector metrics cost: the detectors bare vs wrapped in `Timed`.

The worker wraps every detector (warning.stream.timing.Timed): two perf_counter reads and a
histogram observation per call, plus the case model's score of every case event for
``warning_case_score``. This replays the same events (in memory, already ingested) through
one engine per key space both ways, alternating runs, and prints events/s and the overhead
per detector call. Writes bench/results/metrics_overhead.json; never asserts on time.

    .venv/bin/python bench/bench_metrics_overhead.py --days 20 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from warning import settings as settings_mod
from warning import thresholds as thresholds_mod
from warning.analysis.replay import iter_events
from warning.core.engine import Pipeline
from warning.core.events import Event
from warning.core.ports import NOTHING
from warning.metrics import Metrics
from warning.pipeline import build_detectors, build_engines, load_artefacts
from warning.stream.timing import timed

HERE = Path(__file__).resolve().parent


def _run(events: list[Event], th: Any, wrapped: bool) -> tuple[float, int]:
    """Seconds for one pass, and the detector calls timed (0 when bare)."""
    detectors = build_detectors(th, load_artefacts())
    registry = CollectorRegistry()
    if wrapped:
        m = Metrics.create(registry)
        detectors = timed(detectors, m.detector_seconds, m.case_score)
    pipeline = Pipeline(build_engines(detectors, th))
    t0 = time.perf_counter()
    for event in events:
        pipeline.feed(event)
    pipeline.finish()
    seconds = time.perf_counter() - t0
    calls = 0
    if wrapped:
        for family in registry.collect():
            if family.name == "warning_detector_seconds":
                calls = int(sum(s.value for s in family.samples if s.name.endswith("_count")))
    return seconds, calls


class _Noop:
    """A detector that does nothing: what is left of a timed call is the wrapper's own cost."""

    name = "dynamic"
    version = "0"
    key_space = "street"

    def keys(self, event: Event) -> tuple[str, ...]:
        return ("k",)

    def update(self, store: Any, key: str, event: Event) -> Any:
        return NOTHING

    def receive(self, store: Any, key: str, message: Any) -> Any:
        return NOTHING


def _micro(event: Event, n: int) -> tuple[float, float]:
    """Seconds per update call, bare and wrapped (the wrapper's cost without the detectors' noise)."""
    m = Metrics.create(CollectorRegistry())
    bare, (wrapped,) = _Noop(), timed([_Noop()], m.detector_seconds, m.case_score)  # type: ignore[list-item]
    out = []
    for det in (bare, wrapped, bare, wrapped):
        t0 = time.perf_counter()
        for _ in range(n):
            det.update(None, "k", event)  # type: ignore[arg-type]  # the no-op ignores the store
        out.append((time.perf_counter() - t0) / n)
    return min(out[0], out[2]), min(out[1], out[3])


def main() -> None:
    """Replay bare and wrapped, alternating; print and write the result."""
    from bench_replay import dataset  # the same simulated district as the replay benchmark

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", type=Path, default=HERE / "data" / "metrics_overhead")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "metrics_overhead.json")
    args = ap.parse_args()
    cfg = settings_mod.load()
    th = thresholds_mod.load(cfg.thresholds_file).thresholds
    data, _ = dataset(args.days, args.seed, args.scale, args.data)
    events = list(iter_events(data, cfg, th))
    bare: list[float] = []
    wrapped: list[float] = []
    calls = 0
    for _ in range(args.repeats):
        bare.append(_run(events, th, False)[0])
        seconds, calls = _run(events, th, True)
        wrapped.append(seconds)
    b, w = min(bare), min(wrapped)
    micro_bare, micro_wrapped = _micro(events[0], 200_000)
    result = {
        "dataset": {"days": args.days, "seed": args.seed, "scale": args.scale, "events": len(events)},
        "repeats": args.repeats,
        "bare_seconds": [round(x, 3) for x in bare],
        "wrapped_seconds": [round(x, 3) for x in wrapped],
        "bare_events_per_second": round(len(events) / b, 1),
        "wrapped_events_per_second": round(len(events) / w, 1),
        "overhead_percent": round(100 * (w - b) / b, 1),
        "detector_calls": calls,
        "overhead_us_per_call": round(1e6 * (w - b) / calls, 2) if calls else None,
        "micro_us_per_call": {"bare": round(1e6 * micro_bare, 3), "wrapped": round(1e6 * micro_wrapped, 3)},
        "replay_us_per_call": round(1e6 * b / calls, 1) if calls else None,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{len(events):,} events, {calls:,} detector calls, best of {args.repeats}")
    print(f"bare:    {b:.2f} s = {result['bare_events_per_second']:,.0f} events/s")
    print(f"wrapped: {w:.2f} s = {result['wrapped_events_per_second']:,.0f} events/s")
    print(f"replay overhead {result['overhead_percent']}% ({result['overhead_us_per_call']} µs per call; noisy)")
    print(
        f"wrapper alone: {1e6 * (micro_wrapped - micro_bare):.2f} µs per call "
        f"(no-op detector {1e6 * micro_bare:.2f} -> {1e6 * micro_wrapped:.2f} µs), "
        f"vs {result['replay_us_per_call']} µs per real detector call -> {args.out}"
    )


if __name__ == "__main__":
    main()
