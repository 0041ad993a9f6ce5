"""A district's pattern profile: the pattern detector's state learned from its archive.

The pattern detector forecasts seasonal peaks from calendar effects (month, holidays, the
weeks around them) that take a year of data to learn, and raises nothing before
``min_history_days``. A district going live has years of records in its archive, so the engine
need not wait a year: ``warning pattern-profile ARCHIVE_DIR --out FILE`` counts the archive's
records per (street, day, category) through the same parse and checks as ingest
(`warning.core.ingest.count_view`, no pseudonyms: only counts are kept), steps the detectors
in force through those daily counts (`PatternDetector.warm_state`, the same learning as the
stream's day rollover, the same thresholds) and writes each key's state. The worker loads the
file named by ``WARNING_PATTERN_PROFILE`` as an artefact: a key with no state in its table
starts from its profile, so forecasts and peak alerts are possible from the first live day.

The file holds only learned counts and effects per street and category (no events, no
people). A key that already has state in the engine's table keeps it: a profile warm-starts
a new engine, it never overwrites what the engine learned.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from warning.core.calendar import day_date, epoch_day, local_hour_index
from warning.core.detectors.base import DetectorState
from warning.core.detectors.pattern import PatternDetector
from warning.core.errors import ImproperlyConfigured, InvalidEvent
from warning.core.ingest import IngestLimits, count_view
from warning.core.taxonomy import Channel
from warning.core.units import DISTRICT

FORMAT: Final = "warning-pattern-profile"
FORMAT_VERSION: Final = 1

DailyCounts = dict[int, Counter[str]]
"""Local epoch day -> category -> records of one key."""

Profile = dict[str, dict[str, DetectorState]]
"""Detector name (``pattern``, ``pattern_district``) -> key -> state."""


@dataclass
class ArchiveCounts:
    """Daily counts per street of an archive, and what was counted or refused."""

    streets: dict[str, DailyCounts]
    records: int = 0
    refused: int = 0

    def days(self) -> tuple[int, int] | None:
        """(first, last) local epoch day counted, None for an empty archive."""
        every = [d for per in self.streets.values() for d in per]
        return (min(every), max(every)) if every else None

    def for_key_space(self, detector: PatternDetector) -> dict[str, DailyCounts]:
        """The counts keyed as `detector` keys its states: by street, or all as ``district``."""
        if detector.key_space == "street":
            return self.streets
        total: DailyCounts = defaultdict(Counter)
        for per in self.streets.values():
            for day, cats in per.items():
                total[day].update(cats)
        return {DISTRICT: dict(total)}


def count_archive(
    records: Iterable[tuple[Channel, bytes]], received_at: datetime, limits: IngestLimits
) -> ArchiveCounts:
    """Count an archive's records per (street, local day, category); records ingest would refuse are skipped."""
    streets: dict[str, DailyCounts] = defaultdict(lambda: defaultdict(Counter))
    out = ArchiveCounts(streets)
    for channel, raw in records:
        try:
            occurred, street, category = count_view(channel, raw, received_at, limits)
        except InvalidEvent:
            out.refused += 1
            continue
        streets[street][local_hour_index(occurred) // 24][category] += 1
        out.records += 1
    return out


def build_profile(counts: ArchiveCounts, detectors: Sequence[PatternDetector], until: date) -> Profile:
    """Each pattern detector's state per key after the archive, positioned at `until` (the first live day)."""
    first_live = epoch_day(until)
    return {
        det.name: {
            key: det.warm_state(days, first_live, key) for key, days in sorted(counts.for_key_space(det).items())
        }
        for det in detectors
    }


def document(profile: Profile, counts: ArchiveCounts, detectors: Sequence[PatternDetector]) -> dict[str, Any]:
    """The file's JSON: the states plus where they came from (archive span, detector versions)."""
    span = counts.days()
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "detectors": {det.name: f"{det.name}@{det.version}" for det in detectors},
        "archive": {
            "first": day_date(span[0]).isoformat() if span else None,
            "last": day_date(span[1]).isoformat() if span else None,
            "records": counts.records,
            "refused": counts.refused,
        },
        "states": profile,
    }


def write_profile(path: Path, doc: Mapping[str, Any]) -> None:
    """Write atomically (a worker starting meanwhile reads the old file or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pattern-profile-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))
    os.replace(tmp, path)


def load_profile(path: Path) -> Profile:
    """The states of a profile file; `ImproperlyConfigured` naming the file when it is not one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"pattern profile {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != FORMAT_VERSION:
        raise ImproperlyConfigured(f"pattern profile {path}: not a {FORMAT} file of version {FORMAT_VERSION}")
    states = doc.get("states")
    if not isinstance(states, dict):
        raise ImproperlyConfigured(f"pattern profile {path}: no states")
    return states


def register(app: typer.Typer) -> None:
    """Add the ``warning pattern-profile`` command to the CLI app."""

    @app.command("pattern-profile")
    def profile_cmd(
        archive: Annotated[Path, typer.Argument(help="directory with the district's archived input JSONL files")],
        out: Annotated[Path, typer.Option("--out", help="profile JSON for WARNING_PATTERN_PROFILE")] = Path(
            "pattern-profile.json"
        ),
        until: Annotated[
            str | None, typer.Option("--until", help="first live day YYYY-MM-DD (default: the day after the archive)")
        ] = None,
    ) -> None:
        """Learn the pattern detector's state from a district's archive, for the worker to start from."""
        from datetime import UTC, timedelta

        from rich.console import Console

        from warning import settings as settings_mod
        from warning import thresholds as thresholds_mod
        from warning.analysis.replay import input_files
        from warning.pipeline import build_detectors

        console = Console(stderr=True)
        cfg = settings_mod.load()
        th = thresholds_mod.load(cfg.thresholds_file).thresholds
        files = input_files(archive, cfg)
        if not files:
            console.print(f"[bold red]error:[/] no input files in {archive}")
            raise typer.Exit(2)
        lines = ((f.channel, line) for f in files for line in f.path.read_bytes().splitlines() if line.strip())
        counts = count_archive(lines, datetime.now(UTC), th.ingest.limits(zone=cfg.zone()))
        span = counts.days()
        detectors = [d for d in build_detectors(th) if isinstance(d, PatternDetector)]
        if span is None or not detectors:
            console.print("[bold red]error:[/] nothing to learn (no valid record, or the pattern detector is off)")
            raise typer.Exit(2)
        first_live = date.fromisoformat(until) if until else day_date(span[1]) + timedelta(days=1)
        write_profile(out, document(build_profile(counts, detectors, first_live), counts, detectors))
        console.print(
            f"{counts.records:,} records ({counts.refused:,} refused) from {day_date(span[0])} to "
            f"{day_date(span[1])} -> {out}; start the worker with WARNING_PATTERN_PROFILE={out}"
        )
