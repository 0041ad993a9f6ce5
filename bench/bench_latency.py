"""End-to-end latency and pipeline throughput on the real local stack.

latency: input records are produced to Kafka at a steady rate; each one carries a keyword that
fires the dynamic detector's mass-incident rule at once, in its own grid, so it becomes one new
alert. The latency of a record is the Redis feed entry's id time (Redis server clock) minus
the time the producer was acknowledged by the broker — "event received by Kafka -> alert in
the duty desk's feed" — over the whole path: ingest agent, events topic, group_by repartition,
detector table, alerts topic, router agent, Lua write to Redis.

throughput: a burst of simulated-district records is produced as fast as possible and the
pipeline is timed until every event has been processed by every detector (end offsets of the
detectors' changelogs stop moving and the events topic is complete).

Prints the numbers and writes bench/results/latency.json. Never asserts on time.

    .venv/bin/python bench/bench_latency.py --rate 10 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import redis

from warning.core.events import stable_id
from warning.core.taxonomy import Channel
from warning.devtools import stack as stack_mod
from warning.devtools.harness import Engine, topic_size
from warning.settings import Settings
from warning.stream.publish import Publisher

RESULTS = Path(__file__).resolve().parent / "results"
BENCH_DB = 14


def _trigger(i: int) -> tuple[str, bytes]:
    street, community, grid = i % 9 + 1, (i // 9) % 20 + 1, (i // 180) % 30 + 1
    report_id = f"BENCH-{uuid.uuid4().hex[:10]}-{i}"
    rec = {
        "schema_version": 1,
        "report_id": report_id,
        "worker_id": "W-bench",
        "occurred_at": datetime.now(UTC).isoformat(),
        "location": {
            "street": f"S{street:02d}",
            "community": f"S{street:02d}-C{community:02d}",
            "grid_id": f"S{street:02d}-C{community:02d}-G{grid:02d}",
        },
        "category": "labour",
        "text": "有人扬言跳楼讨薪",
    }
    return stable_id("grid", report_id), json.dumps(rec, ensure_ascii=False).encode()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(base: Settings, rate: float, seconds: float) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    redis_url = Settings(redis_url=f"redis://127.0.0.1:{base.redis_port}/{BENCH_DB}").redis_dsn()  # as cli
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    engine = Engine(base, workdir, uuid.uuid4().hex[:8], extra_env={"WARNING_REDIS_URL": redis_url})
    engine.start()
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()

    def watch() -> None:
        last = "0-0"
        while not stop.is_set() or len(seen) < len(sent):
            resp: Any = client.xread({"warning:feed:all": last}, block=500, count=500)
            if not resp and stop.is_set() and time.monotonic() > deadline:
                return
            for _, entries in resp or []:
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    ms = int(last.split("-")[0])
                    alert = json.loads(fields[b"alert"])
                    for ev in alert.get("evidence", []):
                        if ev in sent and ev not in seen:
                            seen[ev] = ms / 1000.0

    deadline = float("inf")
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    n = int(rate * seconds)
    try:
        with Publisher(base.kafka_bootstrap) as pub:
            t_start = time.monotonic()
            for i in range(n):
                due = t_start + i / rate
                time.sleep(max(0.0, due - time.monotonic()))
                event_id, raw = _trigger(i)
                pub.send(engine.catalog.grid_reports.name, raw)
                pub.flush()  # acknowledged by the broker: the record is "received"
                sent[event_id] = time.time()
        stop.set()
        deadline = time.monotonic() + 60
        watcher.join(timeout=70)
    finally:
        engine.stop()
        client.flushdb()
        client.close()
    lat = [seen[e] - sent[e] for e in seen]
    return {
        "rate_per_s": rate,
        "records": n,
        "alerts_in_feed": len(seen),
        "p50_s": round(_percentile(lat, 0.5), 4) if lat else None,
        "p90_s": round(_percentile(lat, 0.9), 4) if lat else None,
        "p99_s": round(_percentile(lat, 0.99), 4) if lat else None,
        "max_s": round(max(lat), 4) if lat else None,
        "mean_s": round(statistics.fmean(lat), 4) if lat else None,
    }


def throughput(base: Settings, days: int) -> dict[str, Any]:
    from warning.simulate.district import District, SimConfig, file_names, write

    workdir = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    data = workdir / "data"
    write(District(SimConfig(seed=5, start=date(2026, 3, 1), days=days)), data, base.topics_dir)
    engine = Engine(base, workdir, uuid.uuid4().hex[:8])
    names = file_names(base.topics_dir)
    cat = engine.catalog
    topics: dict[Channel, str] = {
        "grid": cat.grid_reports.name,
        "hotline": cat.hotline_calls.name,
        "petition": cat.petitions.name,
    }
    lines: list[tuple[str, bytes]] = []
    for channel, topic in topics.items():
        lines += [(topic, raw) for raw in (data / names[channel]).read_bytes().splitlines() if raw.strip()]
    with Publisher(base.kafka_bootstrap) as pub:
        for topic, raw in lines:
            pub.send(topic, raw)
    changelogs = [f"t{engine.unique}-state-{d}-changelog" for d in ("dynamic", "pattern", "pattern_district")]
    engine.start("--no-delivery")
    t0 = time.monotonic()
    try:
        while topic_size(base.kafka_bootstrap, engine.catalog.events.name) < len(lines) * 0.99:
            time.sleep(1)
        t_ingest = time.monotonic() - t0
        stable_since, last = time.monotonic(), -1
        while time.monotonic() - stable_since < 10:
            size = sum(topic_size(base.kafka_bootstrap, c) for c in changelogs)
            if size != last:
                stable_since, last = time.monotonic(), size
            time.sleep(1)
        t_all = stable_since - t0
    finally:
        engine.stop()
    return {
        "records": len(lines),
        "days": days,
        "ingest_events_per_s": round(len(lines) / t_ingest, 1),
        "pipeline_events_per_s": round(len(lines) / t_all, 1),
        "pipeline_seconds": round(t_all, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=10.0, help="latency: trigger records per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="latency: how long to produce")
    parser.add_argument("--days", type=int, default=3, help="throughput: simulated days to push")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    base = Settings()
    stack_mod.up(base)
    out: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "latency": latency(base, args.rate, args.seconds)}
    print("latency:", json.dumps(out["latency"]))
    if not args.skip_throughput:
        out["throughput"] = throughput(base, args.days)
        print("throughput:", json.dumps(out["throughput"]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latency.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
