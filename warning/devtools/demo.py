"""`make demo`: the whole flow on one machine, shown as it happens.

Starts the local stack unless it is up, the worker and the console as child processes, and
publishes the shipped sample records (valid and invalid), showing what reaches ``events`` and
``dead-letters``. Then a simulated district: its units file (codes and names) is written and
handed to the demo's own processes, its history is published at full speed while a progress
bar follows the engine working through it (the detectors' warm-up), and "today" streams at a
human pace while the terminal follows the district feed. ``--duration`` counts from going
live. Ctrl-C (or the duration running out) stops every child it started, in order, then the
stack if the demo started it, and prints a one-screen summary with what to try next.
Every port and directory comes from the settings (``WARNING_KAFKA_PORT``, ``WARNING_REDIS_PORT``,
``WARNING_STACK_DIR``, ``WARNING_DATA_DIR``, ``WARNING_WEB_PORT``, ``WARNING_CONSOLE_PORT``), so
a demo can run beside an existing Kafka and Redis.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from rich.console import Console
from rich.table import Table

from warning.core.errors import ServiceUnavailable
from warning.core.taxonomy import ALERT_TYPE_LABELS, ALERT_TYPES, CHANNEL_LABELS, LEVEL_LABELS, LEVELS, category_label
from warning.settings import Settings
from warning.stream.publish import Publisher, read_records
from warning.topics import INPUT_CHANNELS, Catalog, create_topics, end_offsets, load_catalog

if TYPE_CHECKING:
    from warning.simulate.district import District

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


SAMPLES_TIMEOUT_S: Final = 30.0
# 21 days of history (DEMO_DAYS - LIVE_DAYS): replays of 45- and 52-day demo districts (5 seeds) raised dynamic,
# relational and case alerts from the first weeks on (dynamic's baseline rules wait 14 days) and no
# pattern alert at all (it needs 28 days and a seasonal peak ahead), so a longer history only
# lengthens the engine's warm-up. The seasonal effects need a year: an in-process replay of this
# district with 365 more days of archive before its history (seed 1, run on 2026-12-03) raised 5
# pattern peaks (property fees from 12-01) in the history, none in the live days. A warm start
# from the archive (`warning pattern-profile`, WARNING_PATTERN_PROFILE) gives the worker that
# state, but fitting a year of this district took 627 s on the loaded 2-core machine (before the
# refit over touched calendar combinations, ~3x faster for one street; not re-measured), too long
# before going live, and its peaks would not fall in the live days, so the demo builds none yet
DEMO_DAYS: Final = 24
LIVE_DAYS: Final = 3  # the district's last days stream live: at 20 records/s about 80 s of alerts
DEMO_OFFICER = "demo-district"
DEMO_PASSWORD = "demo-only-password"  # noqa: S105 - printed for the demo user on a local machine


def _provision_officer(settings: Settings, group: str | None = None) -> None:
    """A district-scope duty officer for the console and the terminal feed; with `group`, the feed's group.

    The group is created as the cli user (from now, when the demo goes live) because an
    officer's user may not create one (`warning.desk.feed.ensure_group`): without it the
    terminal feed would exit at once.
    """
    import asyncio

    import redis.asyncio as aioredis

    from warning.delivery import acl
    from warning.desk.feed import ensure_group

    async def go() -> None:
        client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
        try:
            if group is None:
                await acl.add_user(client, "district", DEMO_OFFICER, DEMO_PASSWORD, prefix=settings.redis_prefix)
            else:
                await ensure_group(client, f"{settings.redis_prefix}feed:all", group, from_now=True)
        finally:
            await client.aclose()

    asyncio.run(go())


def demo_district(days: int, seed: int) -> District:
    """The simulated district of one demo run: it ends yesterday, so every record lies in the past."""
    from datetime import date, timedelta

    from warning.simulate.district import District, SimConfig

    start = date.today() - timedelta(days=days + 1)
    return District(SimConfig(seed=seed, start=start, days=days, streets=9, grids=300, scale=0.3))


SAMPLE_UNIT_NAMES: Final[dict[str, str]] = {"street": "样例街道", "community": "样例社区", "grid": "样例网格"}


def demo_unit_rows(
    geography: list[dict[str, str]], sample_locations: Iterable[Mapping[str, str]]
) -> list[dict[str, str]]:
    """The simulated district's units plus those of the shipped samples it lacks.

    The samples are fixed files in the default layout (``S03-C02-G05``, ...) while the district
    is drawn anew each run (a 9-street, 300-grid district lacks one of the samples' grids for
    about 4 seeds in 10). With a units file in force a record in a unit the file does not know
    is a dead letter, so without these rows the demo's valid samples would turn into dead letters.
    """
    rows = list(geography)
    known = {r["code"] for r in rows}
    for loc in sample_locations:
        chain = (
            (loc["street"], "", "street"),
            (loc["community"], loc["street"], "community"),
            (loc["grid_id"], loc["community"], "grid"),
        )
        for code, parent, level in chain:
            if code not in known:
                known.add(code)
                rows.append(
                    {"code": code, "name": f"{SAMPLE_UNIT_NAMES[level]} {code}", "parent": parent, "level": level}
                )
    return rows


def sample_locations(settings: Settings, catalog: Catalog) -> list[dict[str, str]]:
    """Locations of the events the shipped samples become (the valid ones, in the default layout)."""
    from warning.core.ingest import Pseudonymiser
    from warning.devtools.samples import derived_samples

    events, _dead = derived_samples(catalog, Pseudonymiser(settings.pseudonym_key.get_secret_value().encode()))
    return [json.loads(e)["location"] for e in events]


def load_demo_units(settings: Settings, catalog: Catalog, district: District) -> Path:
    """Write and load the demo district's units file (names for the console and the feed).

    It goes to ``<data_dir>/demo/units.csv``, handed to the demo's own processes as
    ``WARNING_UNITS_FILE``, never to the units file in force (``<data_dir>/units.csv``): a
    district's own geography must survive a demo, and the workers and tests run after it on
    this machine must not find a simulated geography in force.
    """
    from warning.core import units
    from warning.units_cli import write_units

    path = settings.data_dir / "demo" / "units.csv"
    rows = demo_unit_rows(district.geography.unit_rows(), sample_locations(settings, catalog))
    write_units(path, units.parse(rows))  # validated (UnitsFileError names the row), then atomic
    return path


ENGINE_ROLES: Final = (*INPUT_CHANNELS, "events", "events_district", "events_case")


def _engine_lag(settings: Settings, catalog: Catalog) -> tuple[int, int]:
    """(events the detectors have committed, records still waiting on the engine's topics).

    Every event passes the ``events`` topic (the street key space), so its commits count the
    records through the detectors. A partition not committed yet counts whole: a fresh group
    is not caught up.
    """
    from kafka import KafkaConsumer

    topics = [catalog.specs[r].name for r in ENGINE_ROLES]
    ends = end_offsets(settings.kafka_bootstrap, topics)
    # a consumer of the engine's group that never subscribes: it reads the group's commits, joins nothing
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=settings.app_id)
    try:
        committed = {tp: consumer.committed(tp) or 0 for tp in ends}
    finally:
        consumer.close(autocommit=False)
    done = sum(max(0, committed[tp]) for tp in ends if tp.topic == catalog.events.name)
    waiting = sum(max(0, end - max(0, committed[tp])) for tp, end in ends.items())
    return done, waiting


def start_group_at_end(bootstrap: str, group: str, topics: list[str]) -> None:
    """Commit `group`'s offsets at the topics' current ends, so a new engine reads only what comes next."""
    from kafka import KafkaConsumer
    from kafka.structs import OffsetAndMetadata

    ends = end_offsets(bootstrap, topics)
    # a consumer that never subscribes: it commits for the group without joining it
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.commit({tp: OffsetAndMetadata(end, "", -1) for tp, end in ends.items()})
    finally:
        consumer.close(autocommit=False)


def delete_app_topics(bootstrap: str, app_id: str) -> None:
    """Delete the topics Faust made for `app_id` (state changelogs, leader election); best effort."""
    from kafka import KafkaAdminClient

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    except Exception:  # the broker is gone already: nothing to tidy
        return
    try:
        mine = [t for t in admin.list_topics() if t.startswith(f"{app_id}-")]
        if mine:
            admin.delete_topics(mine)
    except Exception as exc:
        console.print(f"[dim]could not delete the demo engine's topics ({type(exc).__name__})[/]")
    finally:
        admin.close()


def _warm_up(settings: Settings, catalog: Catalog, stop: threading.Event, base: int, total: int) -> bool:
    """Wait until the engine has worked through the history, a status line every 15 s; False on timeout.

    Plain lines, not a progress bar: the feed's alerts print to the same terminal meanwhile.
    """
    deadline = time.monotonic() + WARM_TIMEOUT_S
    next_line = time.monotonic() + 15
    while not stop.wait(2.0):
        done, waiting = _engine_lag(settings, catalog)
        if waiting <= WARM_SLACK:
            return True
        if time.monotonic() > deadline:
            return False
        if time.monotonic() >= next_line:
            next_line += 15
            share = min(1.0, max(0, done - base) / max(1, total))
            console.print(f"[dim]engine warm-up: {share:.0%} of the history through the detectors[/]")
    return False


WARM_SLACK: Final = 20  # records still in flight when the engine counts as caught up (commits lag)
WARM_TIMEOUT_S: Final = 300.0


def _simulate(
    settings: Settings,
    catalog: Catalog,
    district: District,
    live_rate: float,
    stop: threading.Event,
    live: threading.Event,
) -> None:
    """A district's history as a backlog at full speed (the engine warms up), then "today" paced.

    The district ends before today, so every record lies in the past (a record dated after now
    is dead-lettered, exactly as in production). Everything before its last `LIVE_DAYS` days is
    published at once with a progress bar — the engine's reorder buffer turns the backlog into
    event-time order — and once the engine has worked through it the last days follow at
    `live_rate` records/s (a simulated day in about half a minute), as the desks would see them.
    """
    from rich.progress import Progress

    from warning.simulate.district import arrivals

    days = district.config.days - LIVE_DAYS
    first_live = district.config.last - timedelta(days=LIVE_DAYS - 1)
    live_from = int(datetime.combine(first_live, datetime.min.time()).timestamp())
    topics = {channel: catalog.specs[role].name for role, channel in INPUT_CHANNELS.items()}
    rows = list(arrivals(district, district.config.seed))
    base, _ = _engine_lag(settings, catalog)
    history = sum(1 for t, _ in rows if t < live_from)
    with Publisher(settings.kafka_bootstrap) as pub, Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"history: {days} days, {history:,} records", total=history)
        t_live = None
        for i, (t, rec) in enumerate(rows):
            if stop.is_set():
                break
            if t >= live_from and t_live is None:
                pub.flush()
                progress.remove_task(task)
                console.print(f"[bold]simulator[/]: history published ({history:,} records)")
                t_live = _go_live(settings, catalog, stop, live, base, history)
            if t_live is not None and stop.wait(max(0.0, t_live + (i - history) / live_rate - time.monotonic())):
                break
            pub.send(topics[rec.channel], rec.line.encode("utf-8"), key=rec.key.encode("ascii"))
            if t_live is None:
                progress.advance(task)
        pub.flush()
        console.print(f"[bold]simulator[/]: published {pub.sent:,} records")
        live.set()  # a district without a "today" still ends the warm-up


def _go_live(
    settings: Settings, catalog: Catalog, stop: threading.Event, live: threading.Event, base: int, history: int
) -> float:
    """Let the engine catch up on the history, then mark the demo live; the time today starts."""
    t0 = time.monotonic()
    caught_up = _warm_up(settings, catalog, stop, base, history)
    took = time.monotonic() - t0
    if caught_up:
        console.print(f"[bold]engine[/]: history worked through in {took:.0f} s; [bold]live[/]: today streams now")
    elif not stop.is_set():
        console.print(f"[bold]engine[/]: still behind after {took:.0f} s (a loaded machine); going live anyway")
    live.set()
    return time.monotonic()


def count_alerts(alerts: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Alerts by type, then level; every type and level present, 0 included, so a missing kind shows."""
    counts: dict[str, dict[str, int]] = {kind: {lv: 0 for lv in LEVELS} for kind in ALERT_TYPES}
    for alert in alerts:
        by_level = counts.setdefault(alert["type"], {lv: 0 for lv in LEVELS})
        by_level[alert["level"]] = by_level.get(alert["level"], 0) + 1
    return counts


@dataclass(frozen=True)
class Summary:
    """What one demo run put in and got out (the end screen)."""

    records: int
    dead_letters: int
    alerts: dict[str, dict[str, int]]


def _collect(settings: Settings, catalog: Catalog, started: dict[str, int]) -> Summary:
    """Input records and dead letters since the demo began (Kafka offsets), its alerts (the district feed)."""
    import redis

    now = end_offsets(settings.kafka_bootstrap, [catalog.specs[r].name for r in INPUT_CHANNELS])
    records = sum(now.values()) - sum(v for k, v in started.items() if k in now)
    dead_now = end_offsets(settings.kafka_bootstrap, [catalog.dead_letters.name])
    dead = sum(dead_now.values()) - sum(v for k, v in started.items() if k in dead_now)
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        entries: list[tuple[str, dict[str, str]]] = client.xrange(  # type: ignore[assignment]  # sync client
            f"{settings.redis_prefix}feed:all", min=f"{started.get('feed', 0)}-0"
        )
    finally:
        client.close()
    return Summary(records, dead, count_alerts(json.loads(fields["alert"]) for _, fields in entries))


def summary_table(summary: Summary) -> Table:
    """The end screen's table: records in, dead letters, alerts by type (rows) and level (columns)."""
    table = Table("本次演示 / this run", *(LEVEL_LABELS[lv][:2] for lv in LEVELS), "合计", title="demo summary")
    table.add_row("input records / 输入记录", "", "", "", "", f"{summary.records:,}")
    table.add_row("dead letters / 死信", "", "", "", "", f"{summary.dead_letters:,}")
    for kind, by_level in summary.alerts.items():
        label = ALERT_TYPE_LABELS.get(kind, kind)  # type: ignore[call-overload]  # a newer engine's type
        cells = [str(by_level.get(lv, 0)) for lv in LEVELS]
        table.add_row(f"{kind} / {label}", *cells, str(sum(by_level.values())))
    return table


def next_steps(settings: Settings, units_path: Path, stack_left_running: bool) -> list[str]:
    """What to try after the demo, runnable as printed (the stack and the demo's units file included)."""
    units_env = f"WARNING_UNITS_FILE={units_path}"
    steps = [] if stack_left_running else ["make stack-up   (the demo's alerts are kept in Redis)"]
    steps += [
        "warning alerts list",
        f"{units_env} warning feed --unit all --user {DEMO_OFFICER} --password {DEMO_PASSWORD} --compact",
        f"{units_env} warning console   -> http://127.0.0.1:{settings.console_port}/ "
        f"({DEMO_OFFICER} / {DEMO_PASSWORD}; 红色 then a street: its open red alerts)",
        "warning simulate --days 90 --out data/sim && warning replay data/sim   (a district, offline)",
    ]
    if not stack_left_running:
        steps.append("make stack-down when done")
    return steps


def run(settings: Settings, duration: float, days: int = DEMO_DAYS, rate: float = 20.0) -> None:
    """The demo itself (see module docstring); stops the local stack if it started it."""
    import logging

    from warning.devtools import stack as stack_mod

    # kafka-python's "Metadata refresh failed" on closing the demo's own short-lived consumers
    # would print between the alerts; the worker's log keeps Kafka's warnings
    logging.getLogger("kafka").setLevel(logging.ERROR)
    was_up = all(s.healthy for s in stack_mod.status(settings).values())
    stack_mod.up(settings)
    # a fresh stack generates the programs' Redis passwords only now: take the cli user's
    settings = settings.model_copy(update={"redis_url": settings.redis_dsn("cli")})
    units_path = settings.data_dir / "demo" / "units.csv"
    try:
        summary = _run(settings, duration, days, rate)
    finally:
        where = f"Kafka {settings.kafka_bootstrap}, Redis port {settings.redis_port}"
        if was_up:
            console.print(f"local Kafka and Redis were running before the demo ({where}): left running")
        else:
            stack_mod.down(settings)
            console.print(f"local Kafka and Redis stopped ({where}; the demo started them)")
    console.print(summary_table(summary))
    console.print("next:\n  " + "\n  ".join(next_steps(settings, units_path, stack_left_running=was_up)))


def _run(settings: Settings, duration: float, days: int, rate: float) -> Summary:
    catalog = load_catalog(settings.topics_dir)
    create_topics(settings.kafka_bootstrap, catalog)
    # a new district each run: alerts are idempotent on their ids, so a replay of the same
    # district would (correctly) add nothing new to the feed
    seed = int(time.time()) % 100_000
    district = demo_district(days, seed)
    units_path = load_demo_units(settings, catalog, district)
    settings = settings.model_copy(update={"units_file": units_path})
    console.print(
        f"units: {district.geography.name}, {len(district.geography.streets)} streets, "
        f"{len(district.geography.grids)} grids, names and codes -> {units_path} (the demo's processes only)"
    )
    _provision_officer(settings)
    # an engine of its own per run: a persisted stack keeps an earlier demo's consumer group and
    # detector state, whose clocks stand at that district's yesterday and would treat this
    # district's history as late; the group starts at the topics' ends (earlier runs' records
    # are not this district's) and its state topics are deleted at the end
    settings = settings.model_copy(update={"app_id": f"demo-{seed}"})
    start_group_at_end(settings.kafka_bootstrap, settings.app_id, [spec.name for spec in catalog.specs.values()])
    state = settings.data_dir
    exe = str(Path(sys.executable).with_name("warning"))
    env = {**os.environ, "WARNING_UNITS_FILE": str(units_path), "WARNING_APP_ID": settings.app_id}
    watch = [catalog.events.name, catalog.dead_letters.name]
    stop = threading.Event()
    inputs = [catalog.specs[r].name for r in INPUT_CHANNELS]
    with contextlib.ExitStack() as stack:
        stack.callback(delete_app_topics, settings.kafka_bootstrap, settings.app_id)  # after the worker stopped
        stack.callback(shutil.rmtree, state / settings.app_id, ignore_errors=True)  # Faust's data dir of this run
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
            settings.kafka_bootstrap,
            start,
            timeout_s=SAMPLES_TIMEOUT_S,
            expect=sent,
            keep=_is_sample(settings, catalog),
        )
        show_ingest(seen, catalog)
        console.print(f"{len(seen)} of {sent} records accounted for in events + dead-letters")

        console.print(
            f"[bold]simulated district[/] (seed {seed}): {days - LIVE_DAYS} days of history at full speed, "
            f"then the last {LIVE_DAYS} days live at {rate:.0f} records/s. The district feed follows: "
            "one line per alert while the engine warms up, the full alert once live"
        )
        group = f"demo-{seed}"
        warm_feed = stack.enter_context(_feed(settings, exe, env, group, compact=True))
        live = threading.Event()
        sim = threading.Thread(target=_simulate, args=(settings, catalog, district, rate, stop, live), daemon=True)
        sim.start()
        stack.callback(sim.join, 30)
        stack.callback(stop.set)
        with contextlib.suppress(KeyboardInterrupt):
            while not live.wait(0.5) and worker.poll() is None and sim.is_alive():
                pass
            terminate(warm_feed)  # same group and consumer: the full feed goes on where it stopped
            if worker.poll() is None:
                stack.enter_context(_feed(settings, exe, env, group, compact=False))
            stop_at = time.monotonic() + duration if duration > 0 else float("inf")
            while time.monotonic() < stop_at and worker.poll() is None:
                time.sleep(0.5)
        stop.set()
    console.print("demo stopped cleanly: worker, console, feed and simulator ended")
    return _collect(settings, catalog, started)


@contextlib.contextmanager
def _feed(
    settings: Settings, exe: str, env: dict[str, str], group: str, compact: bool
) -> Iterator[subprocess.Popen[bytes]]:
    """The district feed in the terminal (this run's alerts: the group starts from now), stopped on exit."""
    _provision_officer(settings, group)
    argv = [exe, "feed", "--unit", "all", "--user", DEMO_OFFICER, "--password", DEMO_PASSWORD, "--group", group]
    proc = subprocess.Popen([*argv, "--compact"] if compact else argv, env=env, start_new_session=True)  # noqa: S603
    try:
        yield proc
    finally:
        terminate(proc)


def terminate(proc: subprocess.Popen[bytes], grace_s: float = 15) -> None:
    """SIGTERM, then SIGKILL after `grace_s`: every child ends, cleanly when it can."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
