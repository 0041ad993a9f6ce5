"""What `appendfsync always` costs the router against `everysec`, on this machine's disk.

Under `everysec` Redis replies before the write reaches the disk, so a host crash or power cut
can drop up to ~1-2 s of acknowledged feed entries that the engine, having committed its Kafka
offsets, never re-delivers. Under `always` Redis fsyncs the AOF before it replies (once per
event-loop pass, so concurrent writers share one fsync): the router acks a message only after
its alert is on disk. This delivers the same alerts through the real write path (`Deliverer` +
`RedisAlertSink`) into a private `redis-server` under each policy, alternating runs, and prints
alerts/s and per-alert p50/p99. Writes bench/results/aof.json; never asserts on time.

    .venv/bin/python bench/bench_aof.py --alerts 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from warning import thresholds
from warning.delivery.clock import SystemClock
from warning.delivery.router import Deliverer
from warning.devtools.redis_cluster import REDIS_SERVER
from warning.devtools.testing import free_port, make_alert
from warning.sinks.redis import RedisAlertSink

HERE = Path(__file__).resolve().parent
POLICIES = ("everysec", "always")


def _start(policy: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", ""]
    args += ["--appendonly", "yes", "--appendfsync", policy]
    proc = subprocess.Popen([REDIS_SERVER, *args], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    client.close()
    return proc, url


async def _deliver(url: str, n: int, tag: str) -> list[float]:
    sink = RedisAlertSink.from_url(url, prefix=f"b{tag}:")
    rules = thresholds.routing_rules(thresholds.load().thresholds)
    deliverer = Deliverer(sink, rules, None, SystemClock())
    seconds: list[float] = []
    try:
        for i in range(n):
            alert = make_alert(f"{tag}-{i}", unit=f"S0{i % 5 + 1}-C0{i % 3 + 1}-G0{i % 7 + 1}")
            t0 = time.perf_counter()
            await deliverer.handle(alert)
            seconds.append(time.perf_counter() - t0)
    finally:
        await sink.close()
    return seconds


def _one(policy: str, n: int, run: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"aof-{policy}-") as tmp:
        proc, url = _start(policy, Path(tmp))
        try:
            seconds = asyncio.run(_deliver(url, n, f"{policy}{run}"))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    ordered = sorted(seconds)
    return {
        "alerts_per_s": n / sum(seconds),
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "aof.json")
    args = ap.parse_args()
    runs: dict[str, list[dict[str, float]]] = {p: [] for p in POLICIES}
    for run in range(args.repeats):
        for policy in POLICIES:
            runs[policy].append(_one(policy, args.alerts, run))
    summary: dict[str, Any] = {
        policy: {key: statistics.median(r[key] for r in rs) for key in rs[0]} for policy, rs in runs.items()
    }
    print(f"{'policy':<10} {'alerts/s':>9} {'p50 ms':>8} {'p99 ms':>8}   (median of {args.repeats} runs)")
    for policy, s in summary.items():
        print(f"{policy:<10} {s['alerts_per_s']:>9.0f} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f}")
    result = {"platform": platform.platform(), "alerts": args.alerts, "runs": runs, "median": summary}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({"median": summary}))


if __name__ == "__main__":
    main()
