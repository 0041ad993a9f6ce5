"""``warning simulate``: write a synthetic district to files, or publish it live to Kafka."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer


def _parse_span(text: str) -> tuple[str, str]:
    start, _, end = text.partition("..")
    for part in (start, end):
        if len(part) != 5 or part[2] != "-":
            raise ValueError(f'expected "MM-DD..MM-DD", got "{text}"')
    return start, end


def _knobs(named: dict[str, str | None], extra: list[str] | None) -> tuple[tuple[str, object], ...]:
    """Difficulty overrides from the explicit knob options and ``--knob name=value``."""
    from warning.simulate.difficulty import parse_knob

    pairs = [(k, v) for k, v in named.items() if v is not None]
    for item in extra or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f'--knob expects name=value, got "{item}"')
        pairs.append((key.strip().replace("-", "_"), value.strip()))
    return tuple(parse_knob(k, v) for k, v in pairs)


def register(app: typer.Typer) -> None:
    """Add the ``warning simulate`` command to the CLI app."""

    @app.command("simulate")
    def simulate_cmd(
        days: Annotated[int, typer.Option(help="number of simulated days")] = 365,
        seed: Annotated[int, typer.Option(help="random seed: same seed, byte-identical files")] = 7,
        out: Annotated[Path, typer.Option("--out", help="output directory (file mode)")] = Path("data"),
        start: Annotated[
            str | None,
            typer.Option(help="first day YYYY-MM-DD (default 2026-01-01; live mode: today - days)"),
        ] = None,
        streets: Annotated[int | None, typer.Option(help="streets/towns (default: seeded 9-21)")] = None,
        grids: Annotated[int | None, typer.Option(help="grids (default: seeded 300-750)")] = None,
        scale: Annotated[float, typer.Option(help="background volume factor (1.0 = ~1700 records/day)")] = 1.0,
        incidents: Annotated[float, typer.Option(help="incident intensity (0 = background only)")] = 1.0,
        sea: Annotated[bool, typer.Option("--sea/--no-sea", help="coastal towns with sea grids")] = True,
        fishing_season: Annotated[
            str | None,
            typer.Option(help="fishing season MM-DD..MM-DD (default: 09-16..12-31 shifted per seed, see manifest)"),
        ] = None,
        campaign: Annotated[
            list[str] | None,
            typer.Option(help="campaign period MM-DD..MM-DD (repeatable; default: 5-7月, 9-11月 shifted per seed)"),
        ] = None,
        difficulty: Annotated[
            str, typer.Option(help="easy | realistic | hard: incident strength and background realism")
        ] = "realistic",
        burst_records: Annotated[str | None, typer.Option(help="records per burst, LO..HI (overrides preset)")] = None,
        burst_hours: Annotated[str | None, typer.Option(help="burst duration in hours, LO..HI")] = None,
        channel_mix: Annotated[
            str | None, typer.Option(help="share of a burst's records per channel: GRID,HOTLINE,PETITION")
        ] = None,
        keyword_p: Annotated[str | None, typer.Option(help="P(incident record uses a tension/mass word)")] = None,
        headcount_p: Annotated[str | None, typer.Option(help="P(incident record states a headcount)")] = None,
        bg_keyword_p: Annotated[str | None, typer.Option(help="P(ordinary record uses a tension/mass word)")] = None,
        bg_headcount_p: Annotated[str | None, typer.Option(help="P(ordinary record states a group)")] = None,
        knob: Annotated[
            list[str] | None,
            typer.Option(help="any difficulty knob as name=value (repeatable; names in the manifest's difficulty)"),
        ] = None,
        live: Annotated[bool, typer.Option("--live", help="publish to Kafka instead of writing files")] = False,
        rate: Annotated[float | None, typer.Option(help="live: records per second")] = None,
        speed: Annotated[float | None, typer.Option(help="live: time acceleration (60 = one hour per minute)")] = None,
    ) -> None:
        """Generate a synthetic district with ground truth (files), or stream it to Kafka (--live)."""
        from rich.console import Console

        from warning import settings as settings_mod
        from warning.simulate.district import District, SimConfig, file_names, publish_live, write

        console = Console(stderr=True)
        try:
            first = (
                date.fromisoformat(start)
                if start
                else (date.today() - timedelta(days=days) if live else date(2026, 1, 1))
            )
            campaigns = tuple(_parse_span(c) for c in campaign) if campaign else None
            knobs = _knobs(
                {
                    "burst_records": burst_records,
                    "burst_hours": burst_hours,
                    "channel_mix": channel_mix,
                    "keyword_p": keyword_p,
                    "headcount_p": headcount_p,
                    "bg_keyword_p": bg_keyword_p,
                    "bg_headcount_p": bg_headcount_p,
                },
                knob,
            )
            config = SimConfig(
                seed=seed,
                start=first,
                days=days,
                streets=streets,
                grids=grids,
                scale=scale,
                sea=sea,
                incidents=incidents,
                fishing_season=_parse_span(fishing_season) if fishing_season else None,
                campaigns=campaigns,
                difficulty=difficulty,
                knobs=knobs,
            )
            if live and (rate is None) == (speed is None):
                raise ValueError("--live needs exactly one of --rate or --speed")
        except ValueError as exc:
            console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None
        cfg = settings_mod.load()
        t0 = time.perf_counter()
        district = District(config)
        if not live:
            manifest = write(district, out, cfg.topics_dir)
            secs = time.perf_counter() - t0
            total = sum(manifest["counts"].values())
            console.print(
                f"simulated {config.days} days from {config.start} (seed {seed}): {total:,} records "
                f"({manifest['records_per_day']:,}/day) {manifest['counts']}, truth {manifest['truth']}, "
                f"difficulty {config.difficulty}{' + ' + str(dict(knobs)) if knobs else ''} "
                f"in {secs:.1f} s -> {out}"
            )
            return
        from warning.stream.publish import Publisher

        topics = {c: n.removesuffix(".jsonl") for c, n in file_names(cfg.topics_dir).items()}
        console.print(
            f"live: {config.days} days from {config.start} to {cfg.kafka_bootstrap} "
            f"({'rate ' + str(rate) + '/s' if rate else 'speed x' + str(speed)}); Ctrl-C stops"
        )
        sent: dict[str, int] = {}
        with Publisher(cfg.kafka_bootstrap) as publisher:
            try:
                sent = dict(
                    publish_live(
                        district,
                        publisher,
                        topics,
                        rate=rate,
                        speed=speed,
                        progress=lambda i: console.print(f"  {i:,} sent", highlight=False) if i % 10_000 == 0 else None,
                    )
                )
            except KeyboardInterrupt:
                console.print("interrupted: flushed what was sent")
                sent = {"total": publisher.sent}
        console.print(f"live: sent {sent} in {time.perf_counter() - t0:.1f} s")
