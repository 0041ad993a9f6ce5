"""The engine against a bare pipeline of the same topology, in one run, on the local stack.

(a) **bare**: aiokafka only, the same hops and partitions — the three input topics -> ``events``
    -> ``alerts`` -> Redis ``XADD`` — every record carried end to end, no detector work. Its
    rate is the ceiling the broker, the client and Python set on this machine.
(b) **engine**: the real worker (all detectors, router to Redis) on the same simulated input,
    published as a backlog before the worker starts; sustained events/s = records / seconds
    until every key space has applied every event (``warning_events_applied_total``).
(c) **latency** at an offered load (default 1,000 records/s): record acknowledged by the
    broker -> the Redis feed entry of its alert (the entry id's server time), over records
    that each fire a rule at once.
(d) **recovery**: the worker is SIGKILLed with the district's state in its tables and
    restarted; seconds from the kill until the new worker has processed a new record.

Prints a table; the last stdout line is one JSON object with keys
``bare_eps, engine_eps, ratio, p50_ms, p99_ms, rate, recovery_s`` (and RSS); writes
``bench/results/pipeline.json``. Never asserts on time.

    .venv/bin/python bench/bench_pipeline.py --days 30 --rate 1000 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_latency import BENCH_DB, _percentile, _trigger  # a sibling script

from warning.devtools import stack as stack_mod
from warning.devtools.harness import Engine
from warning.settings import Settings
from warning.stream.publish import Publisher

RESULTS = Path(__file__).resolve().parent / "results"


def _district(base: Settings, days: int, workdir: Path) -> list[tuple[str, bytes]]:
    """The simulated records as (role, raw), in file order per channel."""
    from warning.simulate.district import District, SimConfig, file_names, write

    data = workdir / "data"
    write(District(SimConfig(seed=5, start=date(2026, 3, 1), days=days)), data, base.topics_dir)
    roles = {"grid": "grid_reports", "hotline": "hotline_calls", "petition": "petitions"}
    out: list[tuple[str, bytes]] = []
    for channel, name in file_names(base.topics_dir).items():
        out += [(roles[channel], raw) for raw in (data / name).read_bytes().splitlines() if raw.strip()]
    return out


def _publish(base: Settings, engine: Engine, rows: list[tuple[str, bytes]]) -> None:
    with Publisher(base.kafka_bootstrap) as pub:
        for role, raw in rows:
            pub.send(engine.catalog.specs[role].name, raw)  # type: ignore[index]  # role names from the catalogue
        pub.flush()


def _metric(engine: Engine, name: str) -> float:
    total = 0.0
    for line in engine.metrics().splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"VmRSS:\s+(\d+) kB", text)
    return round(int(m.group(1)) / 1024, 1) if m else 0.0


async def _bare(base: Settings, engine: Engine, n: int, redis_url: str) -> float:
    """Seconds for n backlogged input records to reach Redis through consume->produce hops."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    cat = engine.catalog
    client = redis.asyncio.Redis.from_url(redis_url)
    producer = AIOKafkaProducer(bootstrap_servers=base.kafka_bootstrap, linger_ms=5)
    await producer.start()
    group = f"bare-{uuid.uuid4().hex[:6]}"
    done = asyncio.Event()
    count = 0

    async def hop(sources: list[str], sink: str | None) -> None:
        nonlocal count
        consumer = AIOKafkaConsumer(
            *sources, bootstrap_servers=base.kafka_bootstrap, group_id=group, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            while not done.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=500)
                for records in batch.values():
                    for r in records:
                        if sink is not None:
                            await producer.send(sink, r.value, key=r.key)
                        else:
                            await client.xadd("bench:bare", {"v": r.value[:64]}, maxlen=10_000)
                            count += 1
                if sink is not None:
                    await producer.flush()
                await consumer.commit()
                if count >= n:
                    done.set()
        finally:
            await consumer.stop()

    inputs = [cat.grid_reports.name, cat.hotline_calls.name, cat.petitions.name]
    t0 = time.monotonic()
    tasks = [
        asyncio.create_task(hop(inputs, cat.events.name)),
        asyncio.create_task(hop([cat.events.name], cat.alerts.name)),
        asyncio.create_task(hop([cat.alerts.name], None)),
    ]
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.monotonic() - t0
    await asyncio.gather(*tasks, return_exceptions=True)
    await producer.stop()
    await client.delete("bench:bare")
    await client.aclose()
    return elapsed


def _engine_run(base: Settings, engine: Engine, n: int) -> tuple[float, float]:
    """Seconds until every key space applied every event of the backlog; worker RSS (MB)."""
    engine.start()
    t0 = time.monotonic()
    assert engine.proc is not None
    while time.monotonic() - t0 < 900:
        if _metric(engine, 'warning_events_applied_total{key_space="street"}') >= n * 0.999:
            break
        time.sleep(0.5)
    return time.monotonic() - t0, _rss_mb(engine.proc.pid)


def _latency(base: Settings, engine: Engine, rate: float, seconds: float, redis_url: str) -> list[float]:
    client = redis.Redis.from_url(redis_url)
    sent: dict[str, float] = {}
    last = (
        (client.xinfo_stream("warning:feed:all") or {}).get("last-generated-id", b"0-0")
        if client.exists("warning:feed:all")
        else b"0-0"
    )
    n = int(rate * seconds)
    with Publisher(base.kafka_bootstrap) as pub:
        t_start = time.monotonic()
        pending: list[str] = []
        for i in range(n):
            time.sleep(max(0.0, t_start + i / rate - time.monotonic()))
            event_id, raw = _trigger(i)
            pub.send(engine.catalog.grid_reports.name, raw)
            pending.append(event_id)
            if len(pending) >= max(1, int(rate / 200)):  # ack every 5 ms of records
                pub.flush()
                now = time.time()
                sent.update(dict.fromkeys(pending, now))
                pending = []
        pub.flush()
        sent.update(dict.fromkeys(pending, time.time()))
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while len(seen) < len(sent) and time.monotonic() < deadline:
        resp: Any = client.xread({"warning:feed:all": last}, block=500, count=1000)
        for _, entries in resp or []:
            for entry_id, fields in entries:
                last = entry_id
                ms = int(entry_id.decode().split("-")[0])
                for ev in json.loads(fields[b"alert"]).get("evidence", []):
                    if ev in sent and ev not in seen:
                        seen[ev] = ms / 1000.0
    client.close()
    return [seen[e] - sent[e] for e in seen]


def _recovery(base: Settings, engine: Engine) -> float:
    """SIGKILL the loaded worker, restart it, time until it has ingested a new record."""
    engine.stop(hard=True)
    t_kill = time.monotonic()
    with Publisher(base.kafka_bootstrap) as pub:
        _, raw = _trigger(10**6)
        pub.send(engine.catalog.grid_reports.name, raw)
        pub.flush()
    engine.start()
    while time.monotonic() - t_kill < 300:
        if _metric(engine, "warning_events_valid_total") >= 1:
            break
        time.sleep(0.2)
    return time.monotonic() - t_kill


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30, help="simulated days of backlog")
    parser.add_argument("--rate", type=float, default=1000.0, help="latency: offered records per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency: how long to offer them")
    parser.add_argument("--store", default="rocksdb://", help="Faust table store (memory:// or rocksdb://)")
    args = parser.parse_args()
    base = Settings()
    stack_mod.up(base)
    redis_url = Settings(redis_url=f"redis://127.0.0.1:{base.redis_port}/{BENCH_DB}").redis_dsn()  # as cli
    redis.Redis.from_url(redis_url).flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    rows = _district(base, args.days, workdir)
    n = len(rows)

    bare_engine = Engine(base, workdir / "bare", uuid.uuid4().hex[:8])
    _publish(base, bare_engine, rows)
    bare_s = asyncio.run(_bare(base, bare_engine, n, redis_url))

    env = {"WARNING_REDIS_URL": redis_url, "WARNING_STORE": args.store}
    engine = Engine(base, workdir / "engine", uuid.uuid4().hex[:8], extra_env=env)
    _publish(base, engine, rows)
    try:
        engine_s, rss = _engine_run(base, engine, n)
        lat = _latency(base, engine, args.rate, args.seconds, redis_url)
        recovery = _recovery(base, engine)
    finally:
        engine.stop()
    out = {
        "records": n,
        "days": args.days,
        "bare_eps": round(n / bare_s, 1),
        "engine_eps": round(n / engine_s, 1),
        "ratio": round(bare_s / engine_s, 3),
        "rate": args.rate,
        "latency_alerts": len(lat),
        "p50_ms": round(_percentile(lat, 0.5) * 1000, 1) if lat else None,
        "p99_ms": round(_percentile(lat, 0.99) * 1000, 1) if lat else None,
        "recovery_s": round(recovery, 2),
        "worker_rss_mb": rss,
        "store": args.store,
    }
    for k, v in out.items():
        print(f"{k:>16}  {v}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pipeline.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
