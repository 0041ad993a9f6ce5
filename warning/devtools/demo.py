"""`make demo`: the whole flow on one machine, shown as it happens.

Starts the worker as a child process, publishes the shipped sample records (valid and
invalid) and a simulated district, and prints what reaches ``events``, ``dead-letters`` and
the alert feeds. Ctrl-C (or the duration running out) stops every child it started, in order,
so the next run starts clean.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from warning.core.errors import ServiceUnavailable
from warning.core.taxonomy import CHANNEL_LABELS, category_label
from warning.settings import Settings
from warning.stream.publish import Publisher, read_records
from warning.topics import INPUT_CHANNELS, Catalog, create_topics, end_offsets, load_catalog

console = Console()


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes], log_hint: str) -> None:
    """Wait until a child process answers 200 on `url`; fail fast if it exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceUnavailable(f"process exited with code {proc.returncode}; see {log_hint}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - fixed local URL
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise ServiceUnavailable(f"not ready at {url} after {timeout_s:.0f}s; see {log_hint}")


@contextlib.contextmanager
def child(argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run a child process for the demo's lifetime; SIGTERM (then SIGKILL) on the way out."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)  # noqa: S603 - our own CLI
        try:
            yield proc
        finally:
            terminate(proc, grace_s=30)


def _read_from(
    bootstrap: str, start: dict[Any, int], timeout_s: float, expect: int, keep: Callable[[str, bytes], bool]
) -> list[tuple[str, bytes]]:
    """Records after `start` offsets that `keep` accepts, until `expect` are seen or time runs out.

    The filter matters: a worker may still be working through input an earlier run left behind.
    """
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1000)
    consumer.assign(list(start))
    for tp, off in start.items():
        consumer.seek(tp, off)
    out: list[tuple[str, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and len(out) < expect:
            for msg in consumer:
                if keep(msg.topic, msg.value):
                    out.append((msg.topic, msg.value))
                if len(out) >= expect:
                    break
    finally:
        consumer.close()
    return out


def _is_sample(settings: Settings, catalog: Catalog) -> Callable[[str, bytes], bool]:
    """Recognise what the shipped samples become: their event ids, or their original bytes."""
    from warning.core.ingest import Pseudonymiser
    from warning.devtools.samples import derived_samples

    events, dead = derived_samples(catalog, Pseudonymiser(settings.pseudonym_key.get_secret_value().encode()))
    event_ids = {json.loads(e)["event_id"] for e in events}
    originals = {json.loads(d)["original_b64"] for d in dead}

    def keep(topic: str, value: bytes) -> bool:
        data = json.loads(value)
        if topic == catalog.events.name:
            return data.get("event_id") in event_ids
        return data.get("original_b64") in originals

    return keep


def publish_samples(settings: Settings, catalog: Catalog) -> int:
    """Publish every shipped sample input record; returns how many."""
    with Publisher(settings.kafka_bootstrap) as pub:
        for role in INPUT_CHANNELS:
            spec = catalog.specs[role]
            assert spec.sample is not None
            for record in read_records(spec.sample):
                pub.send(spec.name, record.value)
        pub.flush()
        return pub.sent


def show_ingest(records: list[tuple[str, bytes]], catalog: Catalog) -> None:
    """Print what ingest made of the samples: events and dead letters with their reasons."""
    events = Table(
        "渠道", "事件编号", "网格", "类别", "严重度", "标记", title="events: 归一化事件(身份证号、电话已假名化)"
    )
    dead = Table("来源主题", "偏移", "原因", "说明", title="dead-letters: 死信(保留原始字节)")
    for topic, value in records:
        data = json.loads(value)
        if topic == catalog.events.name:
            events.add_row(
                CHANNEL_LABELS.get(data["channel"], data["channel"]),
                data["source_ref"],
                data["location"]["grid_id"],
                category_label(data["category"]),
                str(data["severity"]),
                ",".join(data["flags"]),
            )
        else:
            dead.add_row(data["source_topic"], str(data["offset"]), data["reason"], data["detail"][:70])
    console.print(events)
    console.print(dead)


DEMO_OFFICER = "demo-district"
DEMO_PASSWORD = "demo-only-password"  # noqa: S105 - printed for the demo user on a local machine


def _provision_officer(settings: Settings) -> None:
    """A district-scope duty officer for the demo's terminal feed and console login."""
    import asyncio

    import redis.asyncio as aioredis

    from warning.delivery import acl

    async def go() -> None:
        client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
        try:
            await acl.add_user(client, "district", DEMO_OFFICER, DEMO_PASSWORD, prefix=settings.redis_prefix)
        finally:
            await client.aclose()

    asyncio.run(go())


def _simulate(
    settings: Settings, catalog: Catalog, days: int, live_rate: float, stop: threading.Event, seed: int
) -> None:
    """A district's history as a backlog at full speed (the engine warms up), then "today" paced.

    The district ends yesterday, so every record lies in the past (a record dated after now is
    dead-lettered, exactly as in production). Everything before its last day is published at
    once with a progress bar — the engine's reorder buffer turns the backlog into event-time
    order — and the last day follows at `live_rate` records/s, as the desks would see it live.
    """
    from datetime import date, timedelta

    from rich.progress import Progress

    from warning.simulate.district import District, SimConfig, arrivals

    start = date.today() - timedelta(days=days + 1)
    config = SimConfig(seed=seed, start=start, days=days, streets=9, grids=300, scale=0.3)
    live_from = int(datetime.combine(start + timedelta(days=days - 1), datetime.min.time()).timestamp())
    topics = {channel: catalog.specs[role].name for role, channel in INPUT_CHANNELS.items()}
    rows = list(arrivals(District(config), seed))
    history = sum(1 for t, _ in rows if t < live_from)
    with Publisher(settings.kafka_bootstrap) as pub, Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"history: {days - 1} days, {history:,} records", total=history)
        t_live = None
        for i, (t, rec) in enumerate(rows):
            if stop.is_set():
                break
            if t >= live_from:
                t_live = t_live or time.monotonic()
                if stop.wait(max(0.0, t_live + (i - history) / live_rate - time.monotonic())):
                    break
            pub.send(topics[rec.channel], rec.line.encode("utf-8"), key=rec.key.encode("ascii"))
            if i < history:
                progress.advance(task)
            elif i == history:
                pub.flush()
                console.print(f"[bold]simulator[/]: history published ({history:,} records); today streams live")
        pub.flush()
        console.print(f"[bold]simulator[/]: published {pub.sent:,} records")


def _summary(settings: Settings, catalog: Catalog, started: dict[str, int]) -> None:
    """One screen at the end: what went in, what was kept aside, what the desks got."""
    import redis

    now = end_offsets(settings.kafka_bootstrap, [catalog.specs[r].name for r in INPUT_CHANNELS])
    records = sum(now.values()) - sum(v for k, v in started.items() if k in now)
    dead_now = end_offsets(settings.kafka_bootstrap, [catalog.dead_letters.name])
    dead = sum(dead_now.values()) - sum(v for k, v in started.items() if k in dead_now)
    by_type: dict[str, int] = {}
    by_level: dict[str, int] = {}
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        first = started.get("feed", 0)
        entries: list[tuple[str, dict[str, str]]] = client.xrange(  # type: ignore[assignment]  # sync client
            f"{settings.redis_prefix}feed:all", min=f"{first}-0"
        )
        for _, fields in entries:
            alert = json.loads(fields["alert"])
            by_type[alert["type"]] = by_type.get(alert["type"], 0) + 1
            by_level[alert["level"]] = by_level.get(alert["level"], 0) + 1
    finally:
        client.close()
    table = Table("本次演示", "数量", title="demo summary")
    table.add_row("input records / 输入记录", f"{records:,}")
    table.add_row("dead letters / 死信", f"{dead:,}")
    for kind, n in sorted(by_type.items()):
        table.add_row(f"alerts {kind} / 预警", str(n))
    for level, n in sorted(by_level.items()):
        table.add_row(f"level {level} / 等级", str(n))
    console.print(table)
    console.print(
        "next: `warning alerts list`, `warning feed --unit all` (an officer login), "
        f"the console at http://127.0.0.1:{settings.console_port}/, `warning replay DIR` on an export"
    )


def run(settings: Settings, duration: float, days: int = 45, rate: float = 20.0) -> None:
    """The demo itself (see module docstring); stops the local stack if it started it."""
    from warning.devtools import stack as stack_mod

    was_up = all(s.healthy for s in stack_mod.status(settings).values())
    stack_mod.up(settings)
    try:
        _run(settings, duration, days, rate)
    finally:
        if was_up:
            console.print("local Kafka and Redis were running before the demo: left running")
        else:
            stack_mod.down(settings)
            console.print("local Kafka and Redis stopped (the demo started them)")


def _run(settings: Settings, duration: float, days: int, rate: float) -> None:
    catalog = load_catalog(settings.topics_dir)
    create_topics(settings.kafka_bootstrap, catalog)
    _provision_officer(settings)
    state = settings.data_dir
    exe = str(Path(sys.executable).with_name("warning"))
    env = {**os.environ}
    stop_at = time.monotonic() + duration if duration > 0 else float("inf")
    watch = [catalog.events.name, catalog.dead_letters.name]
    stop = threading.Event()
    inputs = [catalog.specs[r].name for r in INPUT_CHANNELS]
    with contextlib.ExitStack() as stack:
        worker = stack.enter_context(child([exe, "worker"], state / "worker.log", env))
        console.print(f"[bold]worker[/] pid {worker.pid}; metrics at http://127.0.0.1:{settings.web_port}/metrics")
        wait_http(f"http://127.0.0.1:{settings.web_port}/healthz", 120, worker, str(state / "worker.log"))
        web = stack.enter_context(child([exe, "console"], state / "console.log", env))
        console.print(
            f"[bold]web console[/] pid {web.pid}: http://127.0.0.1:{settings.console_port}/ "
            f"(login {DEMO_OFFICER} / {DEMO_PASSWORD}, 区级值班)"
        )
        start = end_offsets(settings.kafka_bootstrap, watch)
        started = {**end_offsets(settings.kafka_bootstrap, inputs), **start, "feed": int(time.time() * 1000)}
        sent = publish_samples(settings, catalog)
        console.print(f"published {sent} sample records (valid and invalid) to the three input topics")
        seen = _read_from(
            settings.kafka_bootstrap, start, timeout_s=120, expect=sent, keep=_is_sample(settings, catalog)
        )
        show_ingest(seen, catalog)
        console.print(f"{len(seen)} of {sent} records accounted for in events + dead-letters")

        # a new district each run: alerts are idempotent on their ids, so a replay of the same
        # district would (correctly) add nothing new to the feed
        seed = int(time.time()) % 100_000
        console.print(
            f"[bold]simulated district[/] (seed {seed}): {days - 1} days of history at full speed, "
            f"then today at {rate:.0f} records/s; live alerts of the district feed follow"
        )
        feed_argv = [exe, "feed", "--unit", "all", "--user", DEMO_OFFICER, "--password", DEMO_PASSWORD]
        feed_argv += ["--group", f"demo-{seed}", "--from-now"]  # this run's alerts, not the feed's history
        feed = subprocess.Popen(feed_argv, env=env, start_new_session=True)  # noqa: S603 - our own CLI
        stack.callback(terminate, feed)
        sim = threading.Thread(target=_simulate, args=(settings, catalog, days, rate, stop, seed), daemon=True)
        sim.start()
        stack.callback(sim.join, 30)
        stack.callback(stop.set)
        with contextlib.suppress(KeyboardInterrupt):
            while time.monotonic() < stop_at and worker.poll() is None:
                time.sleep(0.5)
        stop.set()
    console.print("demo stopped cleanly: worker, console, feed and simulator ended")
    _summary(settings, catalog, started)


def terminate(proc: subprocess.Popen[bytes], grace_s: float = 15) -> None:
    """SIGTERM, then SIGKILL after `grace_s`: every child ends, cleanly when it can."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
