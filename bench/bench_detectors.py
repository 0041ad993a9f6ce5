"""Throughput of the dynamic and pattern detectors in a tight loop on one core.

Seeded synthetic district (20 streets x 30 grids x 6 categories, ~1 event/minute... scaled up
to `N_EVENTS` over 60 days), events pre-built so only `update` is timed. Prints events/s and
state sizes and writes bench/results/detectors.json. Benchmarks print; they never assert.

Run: ``.venv/bin/python bench/bench_detectors.py``
"""

from __future__ import annotations

import json
import platform
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from warning.core.engine import DictKV, Engine
from warning.core.events import Event, Location
from warning.core.ports import Detector
from warning.pipeline import build_detectors
from warning.thresholds import Thresholds

TZ = timezone(timedelta(hours=8))
N_EVENTS = 100_000
DAYS = 60
CATS = ("labour", "family", "neighbour", "property", "debt", "building")
TEXTS = ("", "", "", "", "", "", "", "", "楼上漏水扰民", "工人聚集讨薪")


def events(seed: int = 1) -> list[Event]:
    """Seeded district stream in event-time order."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 3, 2, tzinfo=TZ)
    offsets = np.sort(rng.uniform(0, DAYS * 86400, size=N_EVENTS))
    out = []
    for i, off in enumerate(offsets):
        s = int(rng.integers(1, 21))
        street = f"S{s:02d}"
        community = f"{street}-C{int(rng.integers(1, 4)):02d}"
        grid = f"{community}-G{int(rng.integers(1, 11)):02d}"
        t = start + timedelta(seconds=float(off))
        out.append(
            Event(
                f"e{i}",
                ("grid", "hotline", "petition")[i % 3],
                f"r{i}",
                t,
                t,
                Location(street, community, grid),
                CATS[int(rng.integers(0, len(CATS)))],
                text=TEXTS[i % len(TEXTS)],
            )
        )
    return out


def bench(det: Detector, evs: list[Event]) -> dict[str, float]:
    """Events/s of `update` over the stream, plus alert count and the largest state in bytes."""
    kv = DictKV()
    engine = Engine(det.key_space, [det])
    n_alerts = 0
    t0 = time.perf_counter()
    for e in evs:
        n_alerts += len(engine.offer(kv, e).alerts)
    n_alerts += len(engine.drain(kv).alerts)
    dt = time.perf_counter() - t0
    sizes = [len(json.dumps(s)) for k, s in kv.data.items() if not k.startswith("~")]
    return {
        "events": len(evs),
        "seconds": round(dt, 3),
        "events_per_second": round(len(evs) / dt),
        "alerts": n_alerts,
        "keys": len(sizes),
        "max_state_bytes": max(sizes),
        "mean_state_bytes": round(sum(sizes) / len(sizes)),
    }


def main() -> None:
    """Run every registered detector over the same stream."""
    evs = events()
    results = {"python": platform.python_version(), "machine": platform.machine(), "detectors": {}}
    for det in build_detectors(Thresholds(version="bench")):
        r = bench(det, evs)
        results["detectors"][det.name] = r  # type: ignore[index]  # dict built above
        print(
            f"{det.name:18s} {r['events_per_second']:>8,} events/s  alerts {r['alerts']:>5}  "
            f"keys {r['keys']:>3}  state max {r['max_state_bytes']:>6} B  mean {r['mean_state_bytes']:>6} B"
        )
    out = Path(__file__).parent / "results" / "detectors.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
