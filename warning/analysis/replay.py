"""The embedded shell: the same pure core as the Faust agents, over files, with no Kafka or Redis.

`iter_events` reads the three input files (named by the topic catalogue), ingests each line
exactly as the stream's ingest agent does and merges the channels in event-time order with a
stable tie-break ``(occurred_at, channel, source_ref)``. The events then go through the same
engine (`warning.core.engine`) and the same router (`Deliverer` over the in-memory sink) as in
the stream, so replay's output is what the duty desks would have seen.

``received_at`` follows the stream's rule: the time the record reached the engine. For
`warning replay` that is the moment the replay starts (as if the files were published now with
``warning publish``), so a record dated in the future is dead-lettered exactly as the stream
would; analysis of synthetic futures passes ``received_at=None``: each record's own
``occurred_at`` (the fixed epoch when it does not parse), keeping ``future_timestamp`` neutral.

Input files are expected sorted by occurred_at (the simulator and exports write them so) and
are streamed with O(1) memory; a file that is not sorted is detected by a cheap pre-scan and
loaded and sorted in memory instead, so the merge stays correct either way.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, Final

import typer

from warning.core.engine import Pipeline, Report
from warning.core.errors import InvalidEvent
from warning.core.events import Alert, Event
from warning.core.ingest import DeadLetter, IngestLimits, Pseudonymiser, ingest
from warning.core.ports import Detector
from warning.core.taxonomy import CHANNELS, Channel
from warning.pipeline import build_detectors, build_engines, load_artefacts
from warning.settings import Settings
from warning.thresholds import Thresholds

if TYPE_CHECKING:
    from warning.delivery.router import DeliveryResult

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_CHANNEL_RANK: Final = {c: i for i, c in enumerate(CHANNELS)}
_OCCURRED: Final = re.compile(rb'"occurred_at"\s*:\s*"([^"]+)"')

DeadLetterCallback = Callable[[DeadLetter], None]


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input file: its channel, topic name and path."""

    channel: Channel
    topic: str
    path: Path


def input_files(input_dir: Path, settings: Settings) -> list[InputFile]:
    """The three input files of a directory, named by the topic catalogue (missing ones skipped)."""
    from warning.topics import load_catalog

    catalog = load_catalog(settings.topics_dir)
    specs: tuple[tuple[Channel, str], ...] = (
        ("grid", catalog.grid_reports.name),
        ("hotline", catalog.hotline_calls.name),
        ("petition", catalog.petitions.name),
    )
    out = []
    for channel, topic in specs:
        path = input_dir / f"{topic}.jsonl"
        if path.exists():
            out.append(InputFile(channel, topic, path))
    return out


def _occurred(raw: bytes) -> datetime | None:
    m = _OCCURRED.search(raw)
    if not m:
        return None
    try:
        parsed = datetime.fromisoformat(m.group(1).decode("utf-8", "replace"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _is_sorted(path: Path) -> bool:
    """Pre-scan: are the parseable occurred_at values non-decreasing?"""
    last: datetime | None = None
    with path.open("rb") as fh:
        for raw in fh:
            t = _occurred(raw)
            if t is None:
                continue
            if last is not None and t < last:
                return False
            last = t
    return True


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw bytes) of non-empty lines, in file order or, if unsorted, by occurred_at."""
    if _is_sorted(path):
        with path.open("rb") as fh:
            for i, raw in enumerate(fh, start=1):
                value = raw.rstrip(b"\r\n")
                if value.strip():
                    yield i, value
        return
    with path.open("rb") as fh:
        rows = [(i, raw.rstrip(b"\r\n")) for i, raw in enumerate(fh, start=1) if raw.strip()]
    rows.sort(key=lambda r: (_occurred(r[1]) or EPOCH, r[0]))
    yield from rows


def _file_events(
    f: InputFile,
    pseudonymiser: Pseudonymiser,
    limits: IngestLimits,
    on_dead_letter: DeadLetterCallback | None,
    received_at: datetime | None,
) -> Iterator[Event]:
    """Ingested events of one file; equal occurred_at runs re-ordered by source_ref."""
    group: list[Event] = []
    for lineno, raw in _lines(f.path):
        received = received_at or _occurred(raw) or EPOCH
        try:
            event = ingest(f.channel, raw, received, pseudonymiser, limits)
        except InvalidEvent as exc:
            if on_dead_letter is not None:
                on_dead_letter(DeadLetter(exc.reason, exc.detail, f.topic, 0, lineno, received, raw))
            continue
        if group and event.occurred_at != group[0].occurred_at:
            group.sort(key=lambda e: e.source_ref)
            yield from group
            group = []
        group.append(event)
    group.sort(key=lambda e: e.source_ref)
    yield from group


def sort_key(event: Event) -> tuple[datetime, int, str]:
    """The replay order: event time, then channel, then source number."""
    return (event.occurred_at, _CHANNEL_RANK[event.channel], event.source_ref)


def iter_events(
    input_dir: Path,
    settings: Settings,
    thresholds: Thresholds,
    on_dead_letter: DeadLetterCallback | None = None,
    received_at: datetime | None = None,
) -> Iterator[Event]:
    """Events of an input directory in event-time order; rejected lines go to `on_dead_letter`.

    `received_at`: when the records reached the engine (see the module docstring); None = as recorded.
    """
    pseudonymiser = Pseudonymiser(settings.pseudonym_key.get_secret_value().encode("utf-8"))
    limits = thresholds.ingest.limits(zone=settings.zone())
    streams = [
        _file_events(f, pseudonymiser, limits, on_dead_letter, received_at) for f in input_files(input_dir, settings)
    ]
    return heapq.merge(*streams, key=sort_key)


def iter_reports(events: Iterable[Event], pipeline: Pipeline) -> Iterator[Report]:
    """The engine over `events`, one report per event, then the drained buffers."""
    for event in events:
        yield pipeline.feed(event)
    yield pipeline.finish()


def iter_alerts(events: Iterable[Event], pipeline: Pipeline) -> Iterator[Alert]:
    """Every detector alert over `events`, in emission order (constant memory)."""
    for report in iter_reports(events, pipeline):
        yield from report.alerts


def pipeline_for(
    thresholds: Thresholds, detectors: Sequence[Detector] | None = None, *, sorted_input: bool = True
) -> Pipeline:
    """The in-process pipeline of `thresholds` (or of the given detectors), with the artefacts
    the stream loads (the shipped case model, the match weights), so both score alike.

    `iter_events` yields event-time order already, so by default nothing needs to wait in the
    reorder buffer (lateness 0: the stream's order after its buffer is this order); pass
    ``sorted_input=False`` for events in arrival order.
    """
    dets = build_detectors(thresholds, load_artefacts()) if detectors is None else detectors
    engines = build_engines(dets, thresholds)
    if sorted_input:
        for engine in engines.values():
            engine.lateness = 0.0
    return Pipeline(engines)


def run(events: Iterable[Event], detectors: Sequence[Detector], thresholds: Thresholds | None = None) -> list[Alert]:
    """Every detector alert the detectors raise over `events` (see `iter_alerts`)."""
    return list(iter_alerts(events, pipeline_for(thresholds or Thresholds(version="replay"), detectors)))


@dataclass
class Summary:
    """What a replay did."""

    events: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    alerts_by_type: Counter[str] = field(default_factory=Counter)
    alerts_by_level: Counter[str] = field(default_factory=Counter)
    events_by_channel: Counter[str] = field(default_factory=Counter)
    routed: Counter[str] = field(default_factory=Counter)
    raw_alerts: int = 0
    late: int = 0
    seconds: float = 0.0

    @property
    def alerts(self) -> int:
        """Number of alerts written."""
        return sum(self.alerts_by_type.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON form (printed by the CLI, written by the benchmark)."""
        return {
            "events": self.events,
            "events_by_channel": dict(sorted(self.events_by_channel.items())),
            "dead_letters": sum(self.dead_letters.values()),
            "dead_letters_by_reason": dict(sorted(self.dead_letters.items())),
            "alerts": self.alerts,
            "alerts_by_type": dict(sorted(self.alerts_by_type.items())),
            "alerts_by_level": dict(sorted(self.alerts_by_level.items())),
            "detector_alerts": self.raw_alerts,
            "routing": dict(sorted(self.routed.items())),
            "late_events": self.late,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.events / self.seconds, 1) if self.seconds > 0 else None,
        }


class EventTimeClock:
    """The router's clock in replay: the event time of the alert being routed.

    Deadlines and delivery times then follow the data, so a replay of last year's export
    routes exactly as the stream did live, whatever day the replay runs.
    """

    def __init__(self) -> None:
        self.at = EPOCH

    def now(self) -> datetime:
        """The alert's event time."""
        return self.at


class ReplayRouter:
    """The production router (`Deliverer`) over the in-memory sink: what the desks would see."""

    def __init__(self, thresholds: Thresholds) -> None:
        from warning.delivery.router import Deliverer
        from warning.sinks import open_sink
        from warning.thresholds import routing_rules

        self.clock = EventTimeClock()
        d = thresholds.delivery
        self.sink = open_sink("memory://", occurrence_ttl=d.occurrence_ttl_seconds, clock=self.clock)
        self.deliverer = Deliverer(self.sink, routing_rules(thresholds), None, self.clock)
        self._runner = asyncio.Runner()

    def route(self, alert: Alert) -> DeliveryResult:
        """Route one detector alert now (its event time), as the router agent would."""
        self.clock.at = alert.created_at
        return self._runner.run(self.deliverer.handle(alert))

    def close(self) -> None:
        """Stop the private event loop."""
        self._runner.close()


FEED_KINDS: Final = frozenset({"new", "upgrade", "update", "reopened", "escalated"})


def replay(
    input_dir: Path,
    settings: Settings,
    thresholds: Thresholds,
    detectors: Sequence[Detector] | None = None,
    alerts_out: IO[str] | None = None,
    dead_letters_out: IO[str] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    raw_out: IO[str] | None = None,
    received_at: datetime | None = None,
) -> Summary:
    """Replay a directory through the engine and the router, streaming results to files.

    `alerts_out` gets the alerts that reached a desk (a feed entry: new, upgrade, update...)
    with their ``delivery`` (decision and feeds); `raw_out` every detector alert before
    routing. Dead letters are those of ingest plus events a detector raised on.
    """
    summary = Summary()

    def dead(letter: DeadLetter) -> None:
        summary.dead_letters[letter.reason] += 1
        if dead_letters_out is not None:
            dead_letters_out.write(json.dumps(letter.to_dict(), ensure_ascii=False) + "\n")

    def counted(events: Iterable[Event]) -> Iterator[Event]:
        for e in events:
            summary.events += 1
            summary.events_by_channel[e.channel] += 1
            if summary.events % 2000 == 0:
                # the detectors' state is long-lived and acyclic (refcounting frees it): keep
                # the cyclic GC from re-traversing it on every collection (~25% of replay time)
                gc.freeze()
            yield e

    router = ReplayRouter(thresholds)
    start = clock()
    try:
        for report in iter_reports(
            counted(iter_events(input_dir, settings, thresholds, dead)), pipeline_for(thresholds, detectors)
        ):
            summary.late += report.late
            for failure in report.failures:
                dead(failure.dead_letter())
            for alert in report.alerts:
                _route_one(router, alert, summary, alerts_out, raw_out)
    finally:
        router.close()
        gc.unfreeze()
    summary.seconds = clock() - start
    return summary


def _route_one(router: ReplayRouter, alert: Alert, summary: Summary, out: IO[str] | None, raw: IO[str] | None) -> None:
    summary.raw_alerts += 1
    if raw is not None:
        raw.write(json.dumps(alert.to_dict(), ensure_ascii=False) + "\n")
    result = router.route(alert)
    summary.routed[result.kind] += 1
    if result.kind not in FEED_KINDS:
        return
    summary.alerts_by_type[alert.type] += 1
    summary.alerts_by_level[alert.level] += 1
    if out is not None:
        row = {**alert.to_dict(), "delivery": {"kind": result.kind, "feeds": list(result.feeds)}}
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


def register(app: typer.Typer) -> None:
    """Add the ``warning replay`` command to the CLI app."""

    @app.command("replay")
    def replay_cmd(
        input_dir: Annotated[Path, typer.Argument(help="directory with the three input JSONL files")],
        out: Annotated[
            Path, typer.Option("--out", help="routed alerts JSONL: what reached a desk, with its delivery")
        ] = Path("alerts.jsonl"),
        dead_letters: Annotated[
            Path | None, typer.Option("--dead-letters", help="dead letters JSONL (DeadLetter.to_dict)")
        ] = None,
        raw: Annotated[Path | None, typer.Option("--raw", help="every detector alert before routing")] = None,
        received: Annotated[
            str | None, typer.Option("--received-at", help="ISO time the records reached the engine (default: now)")
        ] = None,
        as_recorded: Annotated[
            bool, typer.Option("--as-recorded", help="each record received at its own time (synthetic futures)")
        ] = False,
    ) -> None:
        """Replay input files through the detectors and the router (no Kafka, no Redis)."""
        from contextlib import ExitStack

        from rich.console import Console
        from rich.table import Table

        from warning import settings as settings_mod
        from warning import thresholds as thresholds_mod
        from warning.pipeline import build_detectors, load_artefacts

        console = Console(stderr=True)
        cfg = settings_mod.load()
        th = thresholds_mod.load(cfg.thresholds_file).thresholds
        if not input_dir.is_dir() or not input_files(input_dir, cfg):
            console.print(
                f"[bold red]error:[/] no input files (grid-reports/hotline-calls/petitions .jsonl) in {input_dir}"
            )
            raise typer.Exit(2)
        at = None if as_recorded else (datetime.fromisoformat(received) if received else datetime.now(UTC))
        detectors = build_detectors(th, load_artefacts())
        with ExitStack() as files:
            opened = [_open(files, p) for p in (out, dead_letters, raw)]
            summary = replay(input_dir, cfg, th, detectors, opened[0], opened[1], raw_out=opened[2], received_at=at)
        d = summary.to_dict()
        table = Table("measure", "value", title=f"replay of {input_dir} ({len(detectors)} detectors)")
        table.add_row("events", f"{d['events']:,} {d['events_by_channel']}")
        table.add_row("dead letters", f"{d['dead_letters']:,} {d['dead_letters_by_reason']}")
        table.add_row("alerts", f"{d['alerts']:,} routed to desks -> {out} ({d['detector_alerts']:,} from detectors)")
        table.add_row("routing", str(d["routing"]))
        table.add_row("alerts by type", str(d["alerts_by_type"]))
        table.add_row("alerts by level", str(d["alerts_by_level"]))
        table.add_row("throughput", f"{d['events_per_second'] or 0:,.0f} events/s in {d['seconds']:.1f} s")
        Console().print(table)


def _open(stack: Any, path: Path | None) -> IO[str] | None:
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fh: IO[str] = stack.enter_context(path.open("w", encoding="utf-8"))
    return fh
