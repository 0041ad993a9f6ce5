"""Chaos suite (issue 13, build item 2): real faults on a private stack, every record accounted for.

Each scenario gets its own private stack (`warning.devtools.private_stack`: own broker +
redis-server, own dir and ports, never the shared one) and a fresh simulated district. The
district's records are published at a fixed rate while the engine runs; the scenario's fault
hits at 40% of the publish. Expected events, dead letters and alerts come from replay of the
same input files, delivered in process to a memory sink; delivered = the private Redis.

A scenario is a small `Spec` (a fault function, how many workers, extra records, the district);
`run` is the one runner. Per scenario: records in, events, dead letters, alerts expected vs
delivered, duplicate feed entries, recovery seconds (fault -> every input/alerts partition that
had work commits past its offset at the fault, and the first new feed entry), the group's lag
left at the end (a stalled agent leaves some), peak RSS, log lines.

Prints a table; the last stdout line is one JSON object
``{"scenarios": {name: {...}}, "lost": N, "duplicates": N}``; writes bench/results/faults.json.

    .venv/bin/python bench/bench_faults.py [--only NAME ...] [--soak-seconds 600] [--fuzz 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import re
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import fuzz_records
import redis

from warning import thresholds
from warning.analysis.replay import input_files, iter_alerts, iter_events, pipeline_for
from warning.delivery.clock import SystemClock
from warning.delivery.router import Deliverer
from warning.devtools.harness import Engine, read_to_end, topic_size
from warning.devtools.private_stack import PrivateStack, running_private_stack
from warning.simulate.district import District, SimConfig, write
from warning.sinks.memory import MemoryAlertSink
from warning.sinks.redis import RedisAlertSink
from warning.stream.publish import Publisher, read_records
from warning.topics import INPUT_CHANNELS

RESULTS = Path(__file__).resolve().parent / "results"
# a small district with enough incidents for ~10 alerts (~60 feed entries) in ~3,700 records
SMALL = SimConfig(seed=7, start=date(2026, 3, 2), days=7, streets=2, grids=16, scale=0.3, incidents=4.0)
RECORDS_PER_DAY = 1570  # a default-size district at scale 1 (bench/results/replay.json: 47,034 in 30 days)
POLL_S = 0.5
Row = tuple[str, bytes, int | None]  # topic, value, Kafka timestamp (None: now)


@dataclass
class Run:
    """What a fault function may touch: the private stack and the running workers."""

    ps: PrivateStack
    engines: list[Engine]


Fault = Callable[[Run], float]
"""Does the fault; returns the monotonic time from which recovery is counted."""


@dataclass(frozen=True)
class Spec:
    """One scenario: its fault (at `at` of the publish), workers, extra records and district."""

    fault: Fault | None = None
    workers: int = 1
    rate: float = 200.0
    sim: SimConfig = SMALL
    poison: bool = False
    fuzz: int = 0
    at: float = 0.4
    notes: str = ""


def restart_worker(hard: bool) -> Fault:
    """SIGKILL (hard) or SIGTERM the worker and start it again; recovery counts from the signal."""

    def fault(run: Run) -> float:
        t0 = time.monotonic()
        run.engines[0].stop(hard=hard)
        run.engines[0].start()
        return t0

    return fault


def kill_service(service: str, outage_s: float = 0.0) -> Fault:
    """SIGKILL the private broker or Redis, keep it down `outage_s`, restart it.

    Recovery counts from the kill for a kill-and-restart, from the restart after an outage.
    """

    def fault(run: Run) -> float:
        run.ps.kill(service)  # type: ignore[arg-type]  # "kafka" | "redis", the stack's names
        t0 = time.monotonic()
        time.sleep(outage_s)
        run.ps.up((service,))  # type: ignore[arg-type]
        return time.monotonic() if outage_s else t0

    return fault


def kill_second_worker(run: Run) -> float:
    """SIGKILL one of two workers of one group for good: the other must take its partitions."""
    run.engines[1].stop(hard=True)
    return time.monotonic()


def scenarios(soak_s: float = 600, fuzz_n: int = 10_000, outage_s: float = 30) -> dict[str, Spec]:
    """Every scenario by name; the soak's district is sized to last `soak_s` at 500 rec/s."""
    soak_days = max(1, math.ceil(500 * soak_s / RECORDS_PER_DAY))
    # fuzz is kept under 40% of the valid records so ingest's halt ratio (50%) never trips
    fuzz_days = max(7, math.ceil(fuzz_n / 0.6 / RECORDS_PER_DAY))
    return {
        "baseline": Spec(notes="no fault: the load alone"),
        "worker_sigkill": Spec(restart_worker(hard=True)),
        "worker_sigterm": Spec(restart_worker(hard=False)),
        "broker_sigkill": Spec(kill_service("kafka")),
        # under `appendfsync always` a host crash is this scenario: Redis fsyncs before it replies,
        # so the AOF on disk holds every acknowledged write and at most a torn tail of one not yet
        # acknowledged, which it drops on load (aof-load-truncated) and the router re-sends
        "redis_sigkill": Spec(kill_service("redis"), notes="AOF always"),
        "redis_outage": Spec(kill_service("redis", outage_s), notes=f"{outage_s:g} s down"),
        "broker_outage": Spec(kill_service("kafka", outage_s), notes=f"{outage_s:g} s down"),
        "rebalance_sigkill": Spec(kill_second_worker, workers=2),
        "poison_records": Spec(poison=True),
        "fuzz": Spec(fuzz=fuzz_n, rate=500, sim=replace(SMALL, days=fuzz_days, streets=None, grids=None, scale=1.0)),
        "soak": Spec(rate=500, sim=replace(SMALL, days=soak_days, streets=None, grids=None, scale=1.0)),
    }


# --- inputs and expectations ---------------------------------------------------------------


def _district(spec: Spec, ps: PrivateStack, data: Path) -> None:
    write(District(spec.sim), data, ps.settings.topics_dir)
    if spec.fuzz:
        _mix_fuzz(data, ps, spec.fuzz)


def _mix_fuzz(data: Path, ps: PrivateStack, n: int) -> None:
    """Mix `n` fuzzed records into the input files, each right after the valid record it mutates.

    Spread evenly over each file (so over event time and the publish): fuzzed records bunched
    together would trip ingest's dead-letter halt, which pauses a channel by design.
    """
    rng = random.Random(13)
    files = [f.path for f in input_files(data, ps.settings)]
    lines = {p: p.read_bytes().splitlines() for p in files}
    total = sum(len(v) for v in lines.values())
    k = 0
    for p, rows in lines.items():
        chance = n / total
        out: list[bytes] = []
        for i, row in enumerate(rows):
            out.append(row)
            if k < n and (rng.random() < chance or (p == files[-1] and len(rows) - i <= n - k)):
                out.append(fuzz_records.fuzz_one(rng, row, k))
                k += 1
        p.write_bytes(b"\n".join(out) + b"\n")


def _expected(data: Path, ps: PrivateStack) -> tuple[MemoryAlertSink, set[str], int]:
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
    return mem, {e.event_id for e in events}, len(dead)


_TIME = re.compile(rb'"occurred_at": ?"(20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d)')


def _sort_key(value: bytes) -> bytes:
    """The record's local occurred_at as bytes; b"" for one without a plain one (fuzzed)."""
    m = _TIME.search(value)
    return m.group(1) if m else b""


def _rows(data: Path, ps: PrivateStack, engine: Engine) -> list[Row]:
    names = {spec.name.removeprefix(f"t{engine.unique}-"): spec.name for spec in engine.catalog.specs.values()}
    keyed: list[tuple[bytes, Row]] = []
    for f in input_files(data, ps.settings):
        key = b""
        for r in read_records(f.path):
            # a record without a time (a fuzzed one) keeps its place after its file neighbour:
            # sorted to the front, thousands of bad records in a row would trip ingest's halt
            key = _sort_key(r.value) or key
            keyed.append((key, (names[f.path.name.removesuffix(".jsonl")], r.value, None)))
    keyed.sort(key=lambda x: x[0])
    return [row for _, row in keyed]


def _grid_report(value: bytes) -> dict[str, Any] | None:
    """The record when `value` is a simulated grid report (not a fuzzed one), else None."""
    if not value.startswith(b'{"schema_version":1,"report_id":"WG'):
        return None
    rec: dict[str, Any] = json.loads(value)
    return rec


def _poison(rows: list[Row]) -> list[Row]:
    """One record of each kind from issue 13's hole 1, on the grid-reports topic."""
    topic, raw = next((t, v) for t, v, _ in rows if _grid_report(v))
    base = _grid_report(raw) or {}

    def variant(n: int, **fields: Any) -> bytes:
        return json.dumps({**base, "report_id": f"POISON-{n}", **fields}, ensure_ascii=False).encode()

    big = raw.replace(b'"text":"', b'"text":"' + b"x" * 1_000_000, 1)
    return [
        (topic, raw.replace(b'"severity":', b'"headcount2":' + b"9" * 5000 + b',"severity":', 1), None),
        (topic, variant(2), 253_402_300_800_000),  # Kafka timestamp in year 10000
        (topic, big, None),  # ~1 MB, under the broker's 1 MiB limit
        (topic, variant(4, occurred_at=0), None),
        (topic, variant(5, occurred_at="0001-01-01T00:00:00+08:00"), None),
        (topic, variant(6, occurred_at=1_772_400_000), None),  # epoch seconds as a number
        (topic, variant(7, occurred_at="1772400000"), None),  # epoch seconds as a string
    ]


# --- observation -----------------------------------------------------------------------------


@dataclass
class Sample:
    t: float
    committed: dict[Any, int]
    feed: int


@dataclass
class Monitor:
    """Polls the group's committed offsets, the feed length and workers' RSS every `POLL_S`."""

    ps: PrivateStack
    group: str
    topic_prefix: str
    feed_key: str
    engines: list[Engine]
    samples: list[Sample] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        from kafka.admin import KafkaAdminClient

        admin: Any = None
        r = redis.Redis.from_url(self.ps.redis_dsn(), socket_timeout=2)
        while not self._stop.wait(POLL_S):
            for e in self.engines:
                if e.proc is not None and e.proc.poll() is None:
                    self.peak_rss_mb = max(self.peak_rss_mb, _peak_rss(e.proc.pid))
            t = time.monotonic()  # the request's start: offsets read later are at least this new
            try:
                admin = admin or KafkaAdminClient(bootstrap_servers=self.ps.settings.kafka_bootstrap)
                offsets = admin.list_group_offsets(self.group)[self.group]
                committed = {tp: o.offset for tp, o in offsets.items() if tp.topic.startswith(self.topic_prefix)}
                feed = int(r.xlen(self.feed_key))
            except Exception:  # broker or Redis down: no sample
                admin = _close(admin)
                continue
            self.samples.append(Sample(t, committed, feed))
        _close(admin)
        r.close()


def _close(admin: Any) -> Any:
    """Close a Kafka admin client (after a broker fault it may already be broken); None."""
    if admin is not None:
        with contextlib.suppress(Exception):
            admin.close()
    return None


def _peak_rss(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def recovery(samples: list[Sample], t_fault: float, t_from: float, ends: dict[Any, int]) -> float | None:
    """Seconds from `t_from` until every partition with work left at the fault committed past it.

    The offsets at the fault are those of the first sample taken after it: a sample from before
    could miss the last commit (one a second) and count that old commit as recovery.
    """
    after = [s for s in samples if s.t > t_fault]
    if not after:
        return None
    base = after[0].committed
    todo = {tp for tp, off in base.items() if ends.get(tp, off) > off}
    for s in after:
        if s.t >= t_from and all(s.committed.get(tp, -1) > base[tp] for tp in todo):
            return round(max(0.0, s.t - t_from), 2)
    return None


def first_feed(samples: list[Sample], t_fault: float, t_from: float) -> float | None:
    """Seconds from `t_from` to the first feed entry written after the fault (None: none was)."""
    before = [s.feed for s in samples if s.t <= t_fault]
    base = before[-1] if before else 0
    after = [s.t for s in samples if s.t >= t_from and s.feed > base]
    return round(max(0.0, after[0] - t_from), 2) if after else None


def _entry(f: dict[str, str]) -> tuple[str, ...]:
    return (f["alert_id"], f.get("level", ""), f.get("kind", ""))


async def _delivered(ps: PrivateStack, prefix: str, mem: MemoryAlertSink) -> tuple[dict[str, str], dict[str, int]]:
    """Alert levels in Redis, and feed entries: repeated (a desk sees one twice), extra, missing vs replay."""
    sink = RedisAlertSink.from_url(ps.redis_dsn(), prefix=prefix)
    try:
        want = {r.alert_id: r.level for r in mem.records.values()}
        got: dict[str, str] = {r.alert_id: r.level for r in await sink.load_many(want)}
        counts = Counter[str]()
        for name, rows in mem.feeds.items():
            have = await sink.feed(name, count=1_000_000)
            same = Counter((*_entry(f), f.get("count", ""), f.get("created_at", "")) for _, f in have)
            counts["duplicates"] += sum(n - 1 for n in same.values())
            exp, seen = Counter(_entry(f) for _, f in rows), Counter(_entry(f) for _, f in have)
            counts["extra_entries"] += sum((seen - exp).values())
            counts["missing_entries"] += sum((exp - seen).values())
        return got, {k: counts[k] for k in ("duplicates", "extra_entries", "missing_entries")}
    finally:
        await sink.close()


def _wait_delivered(
    ps: PrivateStack, prefix: str, mem: MemoryAlertSink, timeout_s: float
) -> tuple[dict[str, str], dict[str, int]]:
    want = {r.alert_id: r.level for r in mem.records.values()}
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            got, _ = asyncio.run(_delivered(ps, prefix, mem))
        except Exception:  # Redis still coming back
            got = {}
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(1)
    time.sleep(3)  # surplus (duplicate) entries would arrive now
    return asyncio.run(_delivered(ps, prefix, mem))


def _event_ids(bootstrap: str, topic: str, want: set[str], timeout_s: float = 60) -> set[str]:
    """Distinct event ids on `topic`, once every wanted one arrived or time ran out.

    Read to the topic's end, not to a count: records re-read after a SIGKILL are produced
    again, so a count is reached while distinct events are still unread.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        ids = {json.loads(v)["event_id"] for v in read_to_end(bootstrap, topic)}
        if want <= ids or time.monotonic() > deadline:
            return ids
        time.sleep(1)


def _not_landed(bootstrap: str, topics: list[str], rows: list[Row]) -> int:
    """Published records the input topics do not hold: lost before the engine could read them.

    Tells a publisher's (or the broker's) loss apart from the engine's when accounting fails.
    """
    landed = {v for t in topics for v in read_to_end(bootstrap, t)}
    return sum(1 for _, value, _ in rows if value not in landed)


def _lag(mon: Monitor, ends: dict[Any, int]) -> int:
    last = mon.samples[-1].committed if mon.samples else {}
    return sum(max(0, end - last.get(tp, 0)) for tp, end in ends.items())


def _wait_drained(
    mon: Monitor, bootstrap: str, timeout_s: float, restarts: list[str] | None = None
) -> tuple[dict[Any, int], int]:
    """Log-end offsets of every topic the group reads and its lag on them, once 0 or timed out.

    Every agent's input counts (ingest's, the key-space agents', the router's): on a loaded
    machine the detect agents can be minutes behind ingest, and an alert not raised yet is
    not lost. With `restarts`, a worker whose /healthz says 503 (a partition never fetched
    after the restart, faust#629) is restarted as the orchestrator would, and the reason kept.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if restarts is not None:
            for e in mon.engines:
                restarts.extend(e.supervise())
        topics = sorted({tp.topic for tp in (mon.samples[-1].committed if mon.samples else {})})
        ends = end_offsets_safe(bootstrap, topics) if topics else {}
        lag = _lag(mon, ends) if ends else -1
        if lag == 0 or time.monotonic() > deadline:
            return ends, lag
        time.sleep(2)


def end_offsets_safe(bootstrap: str, topics: list[str]) -> dict[Any, int]:
    from warning.topics import end_offsets

    for _ in range(30):
        try:
            return end_offsets(bootstrap, topics)
        except Exception:
            time.sleep(1)
    return {}


def _publish(ps: PrivateStack, rows: list[Row], rate: float, extra: list[Row], started: threading.Event) -> None:
    with Publisher(ps.settings.kafka_bootstrap, timeout_s=120) as pub:
        t0 = time.monotonic()
        started.set()
        for i, (topic, value, ts) in enumerate(rows):
            time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            _send(pub, topic, value, ts)
            if i == len(rows) // 3:
                for t, v, ts2 in extra:
                    _send(pub, t, v, ts2)
        _retrying(lambda: pub.flush(timeout_s=300))


def _send(pub: Publisher, topic: str, value: bytes, ts: int | None) -> None:
    _retrying(lambda: pub.send(topic, value, timestamp_ms=ts))


def _retrying(publish: Callable[[], None]) -> None:
    """Send or flush, retrying while the broker is down (a producer gives up on metadata after 60 s).

    The publisher keeps what the broker refused queued, so a retry loses nothing. A retried
    batch may reach the broker twice: the same record twice is the same event id, which the
    engine dedupes, so accounting counts distinct events.
    """
    deadline = time.monotonic() + 600
    while True:
        try:
            publish()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _log_counts(engines: list[Engine]) -> dict[str, int]:
    lines = [ln for e in engines for ln in (e.workdir / "worker.log").read_text(errors="replace").splitlines()]
    return {
        "log_lines": len(lines),
        "log_errors": sum("] [ERROR]" in ln or "] [CRITICAL]" in ln for ln in lines),
    }


# --- the runner ------------------------------------------------------------------------------


def run(spec: Spec, ps: PrivateStack, work: Path) -> dict[str, Any]:
    """One scenario on a running private stack (see the module docstring)."""
    data = work / "data"
    _district(spec, ps, data)
    mem, want_events, want_dead = _expected(data, ps)
    unique = uuid.uuid4().hex[:8]
    prefix = f"chaos:{unique}:"
    # a stuck partition is reported within the drain wait (the default 120 s is an orchestrator's)
    env = {**ps.env, "WARNING_REDIS_PREFIX": prefix, "WARNING_HEALTH_STALL_SECONDS": "60"}
    engines = [Engine(ps.settings, work / f"engine{i}", unique, extra_env=env) for i in range(spec.workers)]
    rows = _rows(data, ps, engines[0])
    extra = _poison(rows) if spec.poison else []
    for e in engines:
        e.start()
    cat = engines[0].catalog
    mon = Monitor(ps, f"t{unique}", f"t{unique}-", f"{prefix}feed:all", engines)
    started = threading.Event()
    pub = threading.Thread(target=_publish, args=(ps, rows, spec.rate, extra, started))
    pub.start()
    started.wait()
    t_fault, t_from = time.monotonic(), None
    if spec.fault:
        time.sleep(len(rows) / spec.rate * spec.at)
        t_fault = time.monotonic()
        t_from = spec.fault(Run(ps, engines))
    pub.join()
    restarts: list[str] = []
    _wait_drained(mon, ps.settings.kafka_bootstrap, min(900, 300 + len(rows) / 50), restarts)
    got, entries = _wait_delivered(ps, prefix, mem, 60)
    ends, lag = _wait_drained(mon, ps.settings.kafka_bootstrap, 10)
    bootstrap = ps.settings.kafka_bootstrap
    seen = _event_ids(bootstrap, cat.events.name, want_events)
    distinct = len(seen)
    not_landed = _not_landed(bootstrap, [cat.specs[r].name for r in INPUT_CHANNELS], rows + extra)
    dead = topic_size(bootstrap, cat.dead_letters.name)
    mon.stop()
    for e in engines:
        e.stop()
    want = {r.alert_id: r.level for r in mem.records.values()}
    records_in = len(rows) + len(extra)
    return {
        "records_in": records_in,
        "events": distinct,
        "events_expected": len(want_events),
        "missing_events": sorted(want_events - seen)[:5],
        "dead_letters": dead,
        "dead_letters_expected": want_dead + len(extra),
        "unaccounted": records_in - distinct - dead,
        "not_landed": not_landed,
        "alerts_expected": len(want),
        "alerts_delivered": sum(1 for k, v in got.items() if want.get(k) == v),
        "lost": sum(1 for k, v in want.items() if got.get(k) != v),
        "lost_ids": sorted(k for k, v in want.items() if got.get(k) != v)[:5],
        **entries,
        "feed_entries_expected": sum(len(v) for v in mem.feeds.values()),
        "supervisor_restarts": restarts,
        "recovery_s": recovery(mon.samples, t_fault, t_from, ends) if t_from else None,
        "first_feed_s": first_feed(mon.samples, t_fault, t_from) if t_from else None,
        "lag_end": lag,
        "peak_rss_mb": round(mon.peak_rss_mb, 1),
        **_log_counts(engines),
        "rate": spec.rate,
        "notes": spec.notes,
    }


def run_fresh(name: str, spec: Spec, root: Path) -> dict[str, Any]:
    """`run` on a private stack of its own, started for this scenario and stopped after it."""
    t0 = time.monotonic()
    with running_private_stack(root / name / "stack") as ps:
        result = run(spec, ps, root / name)
    result["wall_s"] = round(time.monotonic() - t0, 1)
    return result


COLUMNS = [
    "records_in", "events", "dead_letters", "unaccounted", "alerts_expected", "alerts_delivered",
    "lost", "duplicates", "extra_entries", "recovery_s", "first_feed_s", "lag_end", "peak_rss_mb",
    "log_lines", "log_errors",
]  # fmt: skip


def table(results: dict[str, dict[str, Any]]) -> str:
    """The results as a fixed-width text table (one row per scenario)."""
    head = "scenario".ljust(18) + "".join(c[:11].rjust(12) for c in COLUMNS)
    return "\n".join([head] + [n.ljust(18) + "".join(str(r[c]).rjust(12) for c in COLUMNS) for n, r in results.items()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(scenarios()), help="run these scenarios")
    parser.add_argument("--soak-seconds", type=float, default=600, help="the soak's length at 500 rec/s")
    parser.add_argument("--fuzz", type=int, default=10_000, help="fuzzed records in the fuzz scenario")
    parser.add_argument("--outage-seconds", type=float, default=30, help="broker/Redis outage length")
    parser.add_argument("--jobs", type=int, default=1, help="scenarios at once (each has its own stack)")
    parser.add_argument("--out", type=Path, default=RESULTS / "faults.json", help="results file")
    args = parser.parse_args()
    specs = scenarios(args.soak_seconds, args.fuzz, args.outage_seconds)
    root = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    names = args.only or list(specs)
    t0 = time.monotonic()

    def one(name: str) -> dict[str, Any]:
        r = run_fresh(name, specs[name], root)
        print(f"{name}: {json.dumps(r)}", flush=True)
        return r

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = dict(zip(names, pool.map(one, names), strict=True))
    print(table(results))
    out = {
        "scenarios": results,
        "lost": sum(r["lost"] for r in results.values()),
        "duplicates": sum(r["duplicates"] for r in results.values()),
        "soak_seconds": args.soak_seconds,
        "fuzz": args.fuzz,
        "outage_seconds": args.outage_seconds,
        "jobs": args.jobs,
        "wall_s": round(time.monotonic() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
