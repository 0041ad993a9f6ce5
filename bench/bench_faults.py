"""Chaos suite (issue 13, build item 2) -- PARTIAL: worker SIGKILL and poison records so far.

Runs on a private stack (`warning.devtools.private_stack`: own broker + redis-server, own dir
and ports), never the shared one. A small simulated district is published while one worker
runs; the worker is SIGKILLed mid-stream and restarted. Expected alerts come from replay of
the same input files, delivered in process to a memory sink; delivered = the private Redis.

Prints a table; the last stdout line is one JSON object
``{"scenarios": {name: {...}}, "lost": N, "duplicates": N}``; writes bench/results/faults.json.

    .venv/bin/python bench/bench_faults.py [--only worker_sigkill]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from warning import thresholds
from warning.analysis.replay import input_files, iter_alerts, iter_events, pipeline_for
from warning.delivery.clock import SystemClock
from warning.delivery.router import Deliverer
from warning.devtools.harness import Engine, read_topic, topic_size
from warning.devtools.private_stack import PrivateStack, running_private_stack
from warning.simulate.district import District, SimConfig, write
from warning.sinks.memory import MemoryAlertSink
from warning.sinks.redis import RedisAlertSink
from warning.stream.publish import Publisher, read_records

RESULTS = Path(__file__).resolve().parent / "results"


def _distinct_events(bootstrap: str, topic: str, want: int, timeout_s: float = 60) -> int:
    """Distinct event ids on `topic`, once `want` arrived or time ran out.

    Counting messages is not enough: records re-read after a SIGKILL are produced again, so the
    message count reaches `want` while the last distinct events are still on their way.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        values = read_topic(bootstrap, topic, expect=want, timeout_s=10)
        distinct = len({json.loads(v)["event_id"] for v in values})
        if distinct >= want or time.monotonic() > deadline:
            return distinct
        time.sleep(1)


def _expected(data: Path, ps: PrivateStack) -> tuple[MemoryAlertSink, int, int]:
    loaded = thresholds.load().thresholds
    dead: list[Any] = []
    now = datetime.now(UTC)
    events = list(iter_events(data, ps.settings, loaded, on_dead_letter=dead.append, received_at=now))
    mem = MemoryAlertSink()
    deliverer = Deliverer(mem, thresholds.routing_rules(loaded), None, SystemClock())

    async def deliver() -> None:
        for a in iter_alerts(iter(events), pipeline_for(loaded)):
            await deliverer.handle(a)

    asyncio.run(deliver())
    return mem, len(events), len(dead)


def _rows(data: Path, ps: PrivateStack, engine: Engine) -> list[tuple[str, bytes]]:
    names = {"grid-reports": engine.catalog.grid_reports.name, "hotline-calls": engine.catalog.hotline_calls.name}
    names["petitions"] = engine.catalog.petitions.name
    rows = []
    for f in input_files(data, ps.settings):
        rows += [(names[f.path.name.removesuffix(".jsonl")], r.value) for r in read_records(f.path)]
    rows.sort(key=lambda x: x[1].split(b'"occurred_at"')[1][:40] if b'"occurred_at"' in x[1] else b"")
    return rows


def _publish(ps: PrivateStack, rows: list[tuple[str, bytes]], rate: float, extra: list[Any]) -> None:
    with Publisher(ps.settings.kafka_bootstrap) as pub:
        t0 = time.monotonic()
        for i, (topic, value) in enumerate(rows):
            time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            pub.send(topic, value)
            if i == len(rows) // 3:
                for t, v, ts in extra:
                    pub.send(t, v, timestamp_ms=ts)
        pub.flush()


def _peak_rss(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def _delivered(ps: PrivateStack, prefix: str, mem: MemoryAlertSink) -> tuple[dict[str, str], int]:
    sink = RedisAlertSink.from_url(ps.redis_dsn(), prefix=prefix)
    try:
        want = {r.alert_id: r.level for r in mem.records.values()}
        got: dict[str, str] = {r.alert_id: r.level for r in await sink.load_many(want)}
        dups = 0
        for name, rows in mem.feeds.items():
            exp = Counter((f["alert_id"], f.get("level", ""), f.get("kind", "")) for _, f in rows)
            have = Counter(
                (f["alert_id"], f.get("level", ""), f.get("kind", "")) for _, f in await sink.feed(name, count=100_000)
            )
            dups += sum((have - exp).values())
        return got, dups
    finally:
        await sink.close()


def _poison(rows: list[tuple[str, bytes]]) -> list[tuple[str, bytes, int | None]]:
    """One record of each kind from issue 13's hole 1, on the first grid-reports record's topic."""
    topic, raw = next((t, v) for t, v in rows if b'"report_id"' in v)
    base = json.loads(raw)

    def variant(n: int, **fields: Any) -> bytes:
        return json.dumps({**base, "report_id": f"POISON-{n}", **fields}, ensure_ascii=False).encode()

    big = raw.replace(b'"text":"', b'"text":"' + b"x" * 1_000_000, 1)
    return [
        (topic, raw.replace(b'"severity":', b'"headcount2":' + b"9" * 5000 + b',"severity":', 1), None),
        (topic, variant(2), 253_402_300_800_000),  # Kafka timestamp in year 10000
        (topic, big, None),  # > 1 MB, under the broker's 1 MiB limit
        (topic, variant(4, occurred_at=0), None),
        (topic, variant(5, occurred_at="0001-01-01T00:00:00+08:00"), None),
    ]


def poison_records(ps: PrivateStack, work: Path) -> dict[str, Any]:
    return worker_sigkill(ps, work, poison=True)


def worker_sigkill(ps: PrivateStack, work: Path, poison: bool = False) -> dict[str, Any]:
    data = work / "data"
    write(District(SimConfig(seed=7, start=date(2026, 3, 2), days=7, streets=2, grids=16, scale=0.3)), data,
          ps.settings.topics_dir)  # fmt: skip
    mem, want_events, want_dead = _expected(data, ps)
    unique = uuid.uuid4().hex[:8]
    prefix = f"chaos:{unique}:"
    env = {**ps.env, "WARNING_REDIS_PREFIX": prefix}
    engine = Engine(ps.settings, work / "engine", unique, extra_env=env)
    rows = _rows(data, ps, engine)
    engine.start()
    peak = 0.0
    extra = _poison(rows) if poison else []
    pub = threading.Thread(target=_publish, args=(ps, rows, 200.0, extra))
    pub.start()
    time.sleep(len(rows) / 200.0 * 0.4)
    assert engine.proc is not None
    peak = max(peak, _peak_rss(engine.proc.pid))
    recovery: float | None = None
    if not poison:
        engine.stop(hard=True)
        t_fault_end = time.monotonic()
        engine.start()
        recovery = round(time.monotonic() - t_fault_end, 2)  # until /healthz answers again
    pub.join()
    want_dead += len(extra)
    want = {r.alert_id: r.level for r in mem.records.values()}
    deadline = time.monotonic() + 120
    got: dict[str, str] = {}
    dups = 0
    while time.monotonic() < deadline:
        got, dups = asyncio.run(_delivered(ps, prefix, mem))
        if got == want:
            break
        time.sleep(1)
    time.sleep(3)
    got, dups = asyncio.run(_delivered(ps, prefix, mem))
    peak = max(peak, _peak_rss(engine.proc.pid))
    bootstrap = ps.settings.kafka_bootstrap
    distinct = _distinct_events(bootstrap, engine.catalog.events.name, want_events)
    dead = topic_size(bootstrap, engine.catalog.dead_letters.name)
    engine.stop()
    log = (work / "engine" / "worker.log").read_text(errors="replace").splitlines()
    return {
        "records_in": len(rows) + len(extra),
        "events": distinct,
        "events_expected": want_events,
        "dead_letters": dead,
        "dead_letters_expected": want_dead,
        "unaccounted": len(rows) + len(extra) - distinct - dead,
        "alerts_expected": len(want),
        "alerts_delivered": sum(1 for k, v in got.items() if want.get(k) == v),
        "lost": sum(1 for k, v in want.items() if got.get(k) != v),
        "duplicates": dups,
        "recovery_s": recovery,
        "peak_rss_mb": round(peak, 1),
        "log_lines": len(log),
    }


SCENARIOS = {"worker_sigkill": worker_sigkill, "poison_records": poison_records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(SCENARIOS), help="run one scenario")
    args = parser.parse_args()
    names = [args.only] if args.only else list(SCENARIOS)
    root = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    results: dict[str, dict[str, Any]] = {}
    with running_private_stack(root / "stack") as ps:
        for name in names:
            results[name] = SCENARIOS[name](ps, root / name)
    cols = list(next(iter(results.values())))
    print("scenario".ljust(16) + "".join(c[:12].rjust(13) for c in cols))
    for name, r in results.items():
        print(name.ljust(16) + "".join(str(r[c]).rjust(13) for c in cols))
    out = {
        "scenarios": results,
        "lost": sum(r["lost"] for r in results.values()),
        "duplicates": sum(r["duplicates"] for r in results.values()),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "faults.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
