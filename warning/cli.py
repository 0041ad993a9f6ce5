"""The ``warning`` console script: one entry point for operators, duty officers and analysts.

Each command is a thin shell: it reads settings, builds what it needs and calls library code.
Heavy imports (faust, sklearn, matplotlib) happen inside commands so ``warning --help`` is fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from warning import settings as settings_mod
from warning.core.errors import WarningError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Streaming risk early-warning engine.")
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics as code (topics/*.toml).")
app.add_typer(topics_app, name="topics")
console = Console(stderr=True)


def _fail(exc: WarningError) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)


@topics_app.command("create")
def topics_create() -> None:
    """Create every topic that does not exist yet (idempotent)."""
    from warning import topics

    cfg = settings_mod.load()
    try:
        catalog = topics.load_catalog(cfg.topics_dir)
        created = topics.create_topics(cfg.kafka_bootstrap, catalog)
    except WarningError as exc:
        _fail(exc)
        return
    console.print(f"topics: created {created or 'none'}; {len(list(catalog))} in catalogue")


@topics_app.command("describe")
def topics_describe() -> None:
    """Print the topic catalogue."""
    from rich.table import Table

    from warning import topics

    catalog = topics.load_catalog(settings_mod.load().topics_dir)
    table = Table("role", "name", "partitions", "key", "retention", "description")
    for s in catalog:
        table.add_row(s.role, s.name, str(s.partitions), s.key, f"{s.retention_ms / 86_400_000:g} d", s.description)
    Console().print(table)


@topics_app.command("schemas")
def topics_schemas(
    check: Annotated[bool, typer.Option(help="exit 1 if the stored schemas differ from the code")] = False,
) -> None:
    """Write (or check) the value schemas in topics/schemas from the code."""
    from warning import topics
    from warning.devtools import samples

    catalog = topics.load_catalog(settings_mod.load().topics_dir)
    stale = []
    for path, schema in samples.schemas(catalog).items():
        text = samples.render(schema)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        console.print(f"[red]stale schemas:[/] {stale}; run `warning topics schemas`")
        raise typer.Exit(1)
    console.print("schemas " + ("up to date" if check else "written"))


@app.command()
def publish(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".jsonl or .csv file")],
    topic: Annotated[str, typer.Option("--topic", "-t", help="topic name from topics/*.toml")],
    key_field: Annotated[str | None, typer.Option(help="record field to use as the Kafka key")] = None,
) -> None:
    """Push a JSONL or CSV file into a topic (acks=all), with a progress bar and a summary."""
    from rich.progress import Progress

    from warning import topics
    from warning.stream.publish import Publisher, count_lines, read_records

    cfg = settings_mod.load()
    spec = topics.load_catalog(cfg.topics_dir).by_name(topic)
    total = count_lines(file)
    with Publisher(cfg.kafka_bootstrap) as pub, Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"publishing to {spec.name}", total=total)
        for record in read_records(file, key_field):
            pub.send(spec.name, record.value, key=record.key)
            progress.advance(task)
        pub.flush()
    console.print(f"published {pub.sent} records from {file.name} to {spec.name} (acks=all)")


@app.command()
def worker(
    no_delivery: Annotated[bool, typer.Option(help="do not run the Redis router agent")] = False,
) -> None:
    """Run the stream engine (Faust worker) with /metrics on WARNING_WEB_PORT."""
    from warning.stream.app import run_worker

    sys.argv = [*sys.argv[:1], "worker"]  # faust's command line parser reads argv
    run_worker(settings_mod.load("engine"), deliver=not no_delivery)


@app.command()
def demo(
    duration: Annotated[float, typer.Option(help="seconds to run; 0 runs until Ctrl-C")] = 0,
) -> None:
    """Run the engine on the shipped samples and a simulated district, showing the flow live."""
    from warning import logs
    from warning.devtools import demo as demo_mod

    cfg = settings_mod.load()
    logs.configure(cfg.log_level, cfg.log_json)
    demo_mod.run(cfg, duration)


# --- commands registered by other modules (one module name each, alphabetical) ---
def _register_commands() -> None:
    """Let each module add its own commands; imported here because they need `app` to exist."""
    import importlib

    for module in (
        "warning.delivery.acl",
        "warning.config_cli",
        "warning.analysis.case_cli",
        "warning.desk.console",
        "warning.analysis.evaluate",
        "warning.desk.feed",
        "warning.desk.report",
        "warning.analysis.forecast",
        "warning.analysis.pattern_profile",
        "warning.analysis.replay",
        "warning.analysis.scoring",
        "warning.analysis.link",
        "warning.simulate.cli",
        "warning.devtools.stack",
        "warning.units_cli",
        "warning.analysis.whatif",
    ):
        importlib.import_module(module).register(app)


_register_commands()


def main() -> None:
    """Entry point with a clean message for the engine's own errors."""
    try:
        app()
    except WarningError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)
