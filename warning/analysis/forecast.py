"""``warning forecast``: replay input files through the pattern detectors and print forecasts.

The state is built exactly as the shells build it (`warning.analysis.replay.iter_events` ingests
each line and merges the channels; the engine, `warning.core.engine`, updates the per-street and
the district-wide `PatternDetector` in event-time order), then the pure
`warning.core.detectors.pattern.forecast` turns each key's state into rows. Forecasts start
the day after the last event unless ``--start`` is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from warning.core.calendar import day_date, local_hour_index
from warning.core.detectors.base import DetectorState
from warning.core.detectors.pattern import ForecastRow, PatternDetector
from warning.core.engine import DictKV, Engine, Pipeline
from warning.core.events import Event


def build_states(
    events: Iterable[Event], detectors: list[PatternDetector]
) -> tuple[dict[str, dict[str, DetectorState]], date | None]:
    """Replay events through the engine into ``{detector name: {key: state}}``; also the last local date."""
    pipeline = Pipeline({ks: Engine(ks, detectors) for ks in {d.key_space for d in detectors}})
    last: date | None = None
    for ev in events:
        pipeline.feed(ev)
        d = day_date(local_hour_index(ev.occurred_at) // 24)
        last = d if last is None or d > last else last
    pipeline.finish()
    states: dict[str, dict[str, DetectorState]] = {d.name: {} for d in detectors}
    for kv in pipeline.kvs.values():
        assert isinstance(kv, DictKV)
        for entry, value in kv.data.items():
            name, _, rest = entry.partition("|")
            key, _, field = rest.rpartition("|")
            if name in states and field == "state":
                states[name][key] = value
    return states, last


def forecast_rows(
    states: dict[str, dict[str, DetectorState]], detectors: list[PatternDetector], start: date, days: int
) -> list[ForecastRow]:
    """Rows of every key of every detector, sorted by unit, category, day."""
    rows: list[ForecastRow] = []
    for det in detectors:
        for key, state in sorted(states[det.name].items()):
            rows.extend(det.forecast(state, start, days, unit=key))
    return sorted(rows, key=lambda r: (r.unit == "district", r.unit, r.category, r.day))


def plot(rows: list[ForecastRow], out: Path, top: int = 6) -> None:
    """Forecast with its interval for the `top` (unit, category) pairs by forecast volume."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never a display
    import matplotlib.pyplot as plt

    groups: dict[tuple[str, str], list[ForecastRow]] = {}
    for r in rows:
        groups.setdefault((r.unit, r.category), []).append(r)
    ranked = sorted(groups.items(), key=lambda kv: -sum(r.forecast for r in kv[1]))[:top]
    fig, axes = plt.subplots(len(ranked) or 1, 1, figsize=(9, 2.4 * max(1, len(ranked))), squeeze=False)
    for ax, ((unit, cat), rs) in zip(axes[:, 0], ranked, strict=False):
        xs = [r.day for r in rs]
        ax.fill_between(xs, [r.lower for r in rs], [r.upper for r in rs], alpha=0.25, label="90% interval")
        ax.plot(xs, [r.forecast for r in rs], marker="o", label="forecast")
        ax.plot(xs, [r.normal for r in rs], linestyle="--", label="normal")
        ax.set_title(f"{unit} / {cat}")
        ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def register(app: typer.Typer) -> None:
    """Add ``forecast`` to the ``warning`` typer app."""

    @app.command("forecast")
    def forecast_cmd(
        input_dir: Annotated[Path, typer.Argument(help="directory of input JSONL files (one per input topic)")],
        days: Annotated[int, typer.Option("--days", min=1, max=92, help="days to forecast")] = 14,
        start: Annotated[
            str | None, typer.Option(help="first forecast day YYYY-MM-DD (default: day after the last event)")
        ] = None,
        plot_path: Annotated[Path | None, typer.Option("--plot", help="write a PNG plot here")] = None,
        district_only: Annotated[bool, typer.Option(help="only the district-wide forecast")] = False,
    ) -> None:
        """规律预警 forecast: replay the inputs, print forecast, interval and normal per street x category."""
        from rich.console import Console
        from rich.table import Table

        from warning import settings as settings_mod
        from warning import thresholds
        from warning.analysis import replay

        cfg = settings_mod.load()
        th = thresholds.load(cfg.thresholds_file).thresholds
        cal = th.calendar.params()
        dets = [PatternDetector(th.pattern.params("district", cal))]
        if not district_only:
            dets.insert(0, PatternDetector(th.pattern.params("street", cal)))
        states, last = build_states(replay.iter_events(input_dir, cfg, th), dets)
        if last is None:
            Console(stderr=True).print(f"[bold red]error:[/] no valid events in {input_dir}")
            raise typer.Exit(1)
        first = date.fromisoformat(start) if start else last + timedelta(days=1)
        rows = forecast_rows(states, dets, first, days)
        table = Table("street", "category", "date", "forecast", "lower", "upper", "normal", "calendar")
        for r in rows:
            table.add_row(
                r.unit,
                r.category,
                r.day.isoformat(),
                f"{r.forecast:.1f}",
                str(r.lower),
                str(r.upper),
                f"{r.normal:.1f}",
                "、".join(r.tags),
            )
        Console().print(table)
        if plot_path is not None:
            plot(rows, plot_path)
            Console(stderr=True).print(f"plot written to {plot_path}")
