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


# --- commands registered by other modules (keep one line each, alphabetical) ---


def main() -> None:
    """Entry point with a clean message for the engine's own errors."""
    try:
        app()
    except WarningError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)


_ = (Path, Annotated)
