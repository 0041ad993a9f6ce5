"""The simulated district: background plus incidents, streamed day by day in event-time order.

Determinism: every component draws from its own `random.Random` seeded with a string derived
from the seed ("7:background", "7:incidents", ...), so the same seed gives byte-identical files
on any machine with the same Python, and adding an incident kind does not reshuffle the
background. Nothing iterates over a `set` of strings (hash randomisation would leak in).

Generation is a generator (`District.records`) so live mode can publish while it generates;
source numbers are assigned per channel and day in time order as each day is emitted, and the
ground truth (`District.truth`) is complete once the generator is exhausted.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

from warning.core.taxonomy import Channel
from warning.simulate import background as bg
from warning.simulate import calendar as cal_mod
from warning.simulate import channels as ch
from warning.simulate import difficulty as diff_mod
from warning.simulate import geography as geo_mod
from warning.simulate import incidents as inc_mod
from warning.simulate.names import PersonFactory

GENERATOR_VERSION: Final = "2"  # 2: difficulty knobs, shared vocabulary, seeded calendar
REF_FORMAT: Final[dict[Channel, str]] = {
    "grid": "WG{day:%Y%m%d}{seq:05d}",
    "hotline": "GD{day:%Y%m%d}{seq:05d}",  # 工单号; never 18 digits (would read as an ID number)
    "petition": "XF{day:%Y%m%d}{seq:04d}",
}
ROLE_OF: Final[dict[Channel, str]] = {"grid": "grid_reports", "hotline": "hotline_calls", "petition": "petitions"}


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What a run depends on; the manifest records it so a run can be reproduced."""

    seed: int = 7
    start: date = date(2026, 1, 1)
    days: int = 365
    streets: int | None = None
    grids: int | None = None
    scale: float = 1.0
    sea: bool = True
    incidents: float = 1.0
    # None: the nominal period shifted per seed (calendar.seeded_periods); given: used verbatim
    fishing_season: tuple[str, str] | None = None
    campaigns: tuple[tuple[str, str], ...] | None = None
    difficulty: str = "realistic"
    # individual knobs overriding the preset: (name, value) pairs, see difficulty.KNOBS
    knobs: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be >= 1, got {self.days}")
        if self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        self.tuning  # noqa: B018  # validates the preset name and every knob now, not mid-run

    @property
    def tuning(self) -> diff_mod.Difficulty:
        """The difficulty in force: the preset with the knobs applied."""
        return diff_mod.resolve(self.difficulty, self.knobs)

    @property
    def last(self) -> date:
        """The last simulated day (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the manifest."""
        out = dataclasses.asdict(self)
        out["start"] = self.start.isoformat()
        out["fishing_season"] = list(self.fishing_season) if self.fishing_season else None
        out["campaigns"] = [list(c) for c in self.campaigns] if self.campaigns is not None else None
        out["knobs"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.knobs}
        return out


@dataclass(frozen=True, slots=True)
class Emitted:
    """One finished record: its channel, event time, key (grid) and the JSON line."""

    channel: Channel
    t: int
    key: str
    line: str


class District:
    """Geography, calendar and incidents of one run; `records()` streams the data."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        s = config.seed
        self.geography = geo_mod.build(random.Random(f"{s}:geography"), config.streets, config.grids, config.sea)
        fishing, campaigns, self.calendar_shifts = cal_mod.seeded_periods(
            random.Random(f"{s}:calendar"), config.fishing_season, config.campaigns
        )
        self.calendar = cal_mod.build(config.start, config.last, fishing, campaigns)
        self.tuning = config.tuning
        self.ctx = bg.Context(
            self.geography,
            self.calendar,
            config.start,
            config.last,
            config.scale,
            random.Random(f"{s}:background"),
            PersonFactory(random.Random(f"{s}:background-people"), "B"),
            self.tuning,
        )
        inc_ctx = dataclasses.replace(
            self.ctx,
            rng=random.Random(f"{s}:incident-background"),
            people=PersonFactory(random.Random(f"{s}:incident-background-people"), "C"),
        )
        planner = inc_mod.Planner(
            inc_ctx, random.Random(f"{s}:incidents"), PersonFactory(random.Random(f"{s}:people"), "P")
        )
        self.incidents = inc_mod.plan(planner, config.incidents)
        self.counts: Counter[str] = Counter()
        self._done = False

    def records(self) -> Iterator[Emitted]:
        """Every record of the run in (occurred_at, channel, source number) order."""
        by_day: dict[date, list[ch.Draft]] = defaultdict(list)
        for inc in self.incidents:
            for d in inc.drafts:
                by_day[inc_mod._day_of(d.t)].append(d)
        day = self.config.start
        while day <= self.config.last:
            drafts = bg.background_day(self.ctx, day) + by_day.pop(day, [])
            # stable sort: equal times keep generation order, which is itself deterministic
            drafts.sort(key=lambda d: (d.t, ch.CHANNEL_ORDER[d.channel]))
            seq: Counter[str] = Counter()
            for d in drafts:
                seq[d.channel] += 1
                ref = REF_FORMAT[d.channel].format(day=day, seq=seq[d.channel])
                line = json.dumps(d.finalise(ref), ensure_ascii=False, separators=(",", ":"))
                self.counts[d.channel] += 1
                yield Emitted(d.channel, d.t, d.grid, line)
            day += timedelta(days=1)
        self._done = True

    def truth(self) -> list[dict[str, Any]]:
        """One line per incident; only complete after `records()` was exhausted."""
        if not self._done:
            raise RuntimeError("truth is known only after every record was generated")
        return [inc.truth() for inc in self.incidents]

    def manifest(self, files: dict[str, str]) -> dict[str, Any]:
        """What was generated, from what (no wall-clock values: files must be reproducible)."""
        truth = self.truth()
        return {
            "generator": f"warning.simulate v{GENERATOR_VERSION}",
            "seed": self.config.seed,
            "args": self.config.to_dict(),
            "date_range": {
                "start": self.config.start.isoformat(),
                "end": self.config.last.isoformat(),
                "days": self.config.days,
            },
            "timezone": "+08:00",
            "files": files,
            "counts": {files[c]: self.counts[c] for c in ("grid", "hotline", "petition")},
            "records_per_day": round(sum(self.counts.values()) / self.config.days, 1),
            "geography": {
                "streets": len(self.geography.streets),
                "communities": sum(len(s.communities) for s in self.geography.streets),
                "grids": len(self.geography.grids),
                "sea_grids": sum(1 for g in self.geography.grids if g.kind == "sea"),
                "population": sum(g.population for g in self.geography.grids),
            },
            "truth": dict(sorted(Counter(t["type"] for t in truth).items())),
            "truth_negative": sum(1 for t in truth if t["negative"]),
            "truth_kinds": dict(sorted(Counter(f"{t['type']}:{t['kind']}" for t in truth).items())),
            "calendar": {
                "spring_festivals": [d.isoformat() for d in self.calendar.spring_festivals],
                "fishing_season": list(self.calendar.fishing_season),
                "campaigns": [list(c) for c in self.calendar.campaigns],
                "shifts": self.calendar_shifts,
            },
            "difficulty": {
                "preset": self.config.difficulty,
                "overrides": self.config.to_dict()["knobs"],
                "knobs": self.tuning.to_dict(),
            },
        }


def file_names(topics_dir: Path) -> dict[Channel, str]:
    """Input file name per channel: the topic names of the catalogue plus ``.jsonl``."""
    from warning.topics import load_catalog

    catalog = load_catalog(topics_dir)
    return {
        "grid": catalog.grid_reports.name + ".jsonl",
        "hotline": catalog.hotline_calls.name + ".jsonl",
        "petition": catalog.petitions.name + ".jsonl",
    }


def write(district: District, out: Path, topics_dir: Path) -> dict[str, Any]:
    """Write the three input files, truth.jsonl, geography.json, units.csv and manifest.json; return the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    names = file_names(topics_dir)
    handles = {c: (out / n).open("w", encoding="utf-8", newline="\n") for c, n in names.items()}
    try:
        for rec in district.records():
            handles[rec.channel].write(rec.line + "\n")
    finally:
        for h in handles.values():
            h.close()
    from warning.simulate.cases import write_labels

    write_labels(out / "case-labels.csv", district.incidents)
    with (out / "truth.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
        for line in district.truth():
            fh.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    (out / "geography.json").write_text(
        json.dumps(district.geography.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    from warning.core.units import parse
    from warning.units_cli import render_csv

    (out / "units.csv").write_text(render_csv(parse(district.geography.unit_rows())), encoding="utf-8")
    manifest = district.manifest({c: n for c, n in names.items()})
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


# ---- live mode -------------------------------------------------------------------------------


class Sender(Protocol):
    """The part of `warning.stream.publish.Publisher` live mode uses."""

    def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        """Queue one record."""
        ...

    def flush(self) -> None:
        """Wait for every queued record."""
        ...


# how long each source system takes to hand a record over (seconds): the grid app syncs in
# batches, the 12345 operator files the ticket after the call, the petition office registers
# a visit after the reception.
ARRIVAL_LAG: Final[dict[Channel, tuple[int, int]]] = {
    "grid": (60, 1800),
    "hotline": (30, 600),
    "petition": (600, 7200),
}


def arrivals(district: District, seed: int) -> Iterator[tuple[int, Emitted]]:
    """Records in *arrival* order (occurred_at + a per-channel lag), as a live system sees them."""
    rng = random.Random(f"{seed}:arrival")
    heap: list[tuple[int, int, Emitted]] = []
    for n, rec in enumerate(district.records()):
        lo, hi = ARRIVAL_LAG[rec.channel]
        heapq.heappush(heap, (rec.t + rng.randint(lo, hi), n, rec))
        # anything arriving before this record occurred cannot be overtaken any more
        while heap and heap[0][0] <= rec.t:
            a, _, r = heapq.heappop(heap)
            yield a, r
    while heap:
        a, _, r = heapq.heappop(heap)
        yield a, r


def publish_live(
    district: District,
    sender: Sender,
    topics: dict[Channel, str],
    rate: float | None = None,
    speed: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[int], None] | None = None,
) -> Counter[str]:
    """Publish records as they arrive, paced at `rate` records/s or `speed` x real time.

    Returns counts per channel. KeyboardInterrupt propagates after a flush so the caller can
    report what was sent.
    """
    if (rate is None) == (speed is None):
        raise ValueError("choose exactly one of rate (records/s) or speed (time acceleration)")
    sent: Counter[str] = Counter()
    wall0 = clock()
    sim0: int | None = None
    try:
        for i, (arrival, rec) in enumerate(arrivals(district, district.config.seed)):
            if sim0 is None:
                sim0 = arrival
            due = wall0 + (i / rate if rate else (arrival - sim0) / (speed or 1.0))
            wait = due - clock()
            if wait > 0:
                sleep(wait)
            sender.send(topics[rec.channel], rec.line.encode("utf-8"), key=rec.key.encode("ascii"))
            sent[rec.channel] += 1
            if progress and i % 1000 == 0:
                progress(i)
    finally:
        sender.flush()
    return sent
