"""Operator commands for what the engine is configured with: the thresholds file and the metrics.

`warning config check` lets an operator validate an edit before saving it over the file in
force (the worker would reject it too, but only after the fact, in a log line); `config show`
prints the effective values with every default filled in, and `--diff` says key by key what a
candidate would change. `warning metrics list` renders the metric catalogue from the registry
itself, so the README's table cannot drift from the code (a unit test compares them).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import tomli_w
import typer
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from warning import settings as settings_mod
from warning import thresholds
from warning.core.errors import ImproperlyConfigured
from warning.metrics import Metrics, faust_metrics

config_app = typer.Typer(no_args_is_help=True, help="The thresholds file: validate, show, compare.")
metrics_app = typer.Typer(no_args_is_help=True, help="The engine's Prometheus metrics.")

README_BEGIN = "<!-- metrics:begin (generated: `warning metrics readme`; a unit test fails on drift) -->"
README_END = "<!-- metrics:end -->"


def _load_or_exit(path: Path | None) -> thresholds.LoadedThresholds:
    try:
        return thresholds.load(path)
    except ImproperlyConfigured as exc:
        typer.echo(str(exc), err=True)  # plain echo: rich would eat "[section]" as markup
        raise typer.Exit(1) from None


def _defaults(version: str) -> thresholds.Thresholds:
    return thresholds.Thresholds.model_validate({"version": version})


@config_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="candidate thresholds TOML file")]) -> None:
    """Validate a thresholds file offline: exit 1 naming each bad key and why, else one OK line."""
    loaded = _load_or_exit(file)
    t = loaded.thresholds
    n_keys = len(thresholds.flatten(t))
    n_custom = len(thresholds.changes(_defaults(t.version), t))
    typer.echo(
        f"OK {file}: version {t.version!r}, {n_keys} keys, {n_custom} differ from the defaults, digest {loaded.digest}"
    )


def _in_force() -> thresholds.LoadedThresholds:
    """The file the worker reads: WARNING_THRESHOLDS_FILE, else the shipped default."""
    return _load_or_exit(settings_mod.load().thresholds_file)


def render_toml(loaded: thresholds.LoadedThresholds) -> str:
    """The effective thresholds as a TOML file that `config check` accepts unchanged."""
    header = f"# effective thresholds of {loaded.path} (digest {loaded.digest}), defaults filled in\n"
    return header + tomli_w.dumps(loaded.thresholds.model_dump(mode="python", exclude_none=True))


def render_diff(current: thresholds.LoadedThresholds, candidate: thresholds.LoadedThresholds) -> str:
    """Key-by-key differences from the file in force to a candidate, one line per key."""
    diff = thresholds.changes(current.thresholds, candidate.thresholds)
    lines = [
        f"in force:  {current.path} (version {current.thresholds.version!r}, digest {current.digest})",
        f"candidate: {candidate.path} (version {candidate.thresholds.version!r}, digest {candidate.digest})",
    ]
    width = max((len(c.key) for c in diff), default=0)
    lines += [f"  {c.key:<{width}}  {c.before} → {c.after}" for c in diff]
    lines.append(f"{len(diff)} key{'s' if len(diff) != 1 else ''} differ")
    return "\n".join(lines)


@config_app.command("show")
def show(
    diff: Annotated[
        Path | None, typer.Option("--diff", help="candidate file to compare with the file in force")
    ] = None,
) -> None:
    """Print the thresholds in force as TOML with defaults filled in, or their diff to a candidate."""
    current = _in_force()
    if diff is None:
        typer.echo(render_toml(current), nl=False)
        return
    typer.echo(render_diff(current, _load_or_exit(diff)))


# --- the metric catalogue ---

_EXPOSED_SUFFIX = {"counter": "_total", "info": "_info"}


def _label_names(m: Metrics, extra: Iterable[object] = ()) -> dict[str, tuple[str, ...]]:
    """Declared label names per family; a family whose children appear only at run time has no
    samples to read them from, so they come from the metric objects themselves."""
    out: dict[str, tuple[str, ...]] = {}
    for obj in [*(getattr(m, f.name) for f in dataclasses.fields(m)), *extra]:
        if isinstance(obj, MetricWrapperBase):
            # prometheus_client has no public accessor for a metric's declared label names
            out[obj._name] = tuple(obj._labelnames)
    return out


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("|", "\\|").strip()


def metric_table(m: Metrics, extra: Iterable[object] = ()) -> str:
    """The registry's metrics as a Markdown table: exposed name, type, labels, help.

    `extra` holds metric objects registered beside `m` (Faust's sensors). Info metrics carry
    their values as labels set at run time (e.g. the thresholds version).
    """
    declared = _label_names(m, extra)
    rows = ["| metric | type | labels | help |", "| --- | --- | --- | --- |"]
    for family in sorted(m.registry.collect(), key=lambda fam: fam.name):
        name = family.name + _EXPOSED_SUFFIX.get(family.type, "")
        labels = declared.get(family.name) or tuple(
            sorted({k for s in family.samples for k in s.labels if k not in ("le", "quantile")})
        )
        shown = ", ".join(f"`{lb}`" for lb in labels) or ("info values" if family.type == "info" else "—")
        rows.append(f"| `{name}` | {family.type} | {shown} | {_cell(family.documentation)} |")
    return "\n".join(rows) + "\n"


def current_table() -> str:
    """The table of a freshly created registry (what a worker exposes before any traffic):
    the engine's metrics and Faust's own sensors, as the worker registers them."""
    registry = CollectorRegistry()
    m = Metrics.create(registry)
    return metric_table(m, tuple(faust_metrics(registry)))


def readme_section(text: str) -> str:
    """The README text between the metric markers; `ImproperlyConfigured` when they are missing."""
    try:
        start = text.index(README_BEGIN) + len(README_BEGIN)
        end = text.index(README_END, start)
    except ValueError:
        raise ImproperlyConfigured(f"README has no metric markers {README_BEGIN!r} ... {README_END!r}") from None
    return text[start:end].strip("\n") + "\n"


@metrics_app.command("list")
def list_metrics() -> None:
    """Print every engine metric (name, type, labels, help) as a Markdown table."""
    typer.echo(current_table(), nl=False)


@metrics_app.command("readme")
def readme(
    path: Annotated[Path, typer.Argument(help="README to update")] = settings_mod.REPO_ROOT / "README.md",
    check_only: Annotated[bool, typer.Option("--check", help="exit 1 if the section is stale")] = False,
) -> None:
    """Rewrite (or check) the README's metric table between its marker comments."""
    text = path.read_text(encoding="utf-8")
    try:
        old = readme_section(text)
    except ImproperlyConfigured as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    new = current_table()
    if old == new:
        typer.echo("README metric table up to date")
        return
    if check_only:
        typer.echo("README metric table is stale; run `warning metrics readme`", err=True)
        raise typer.Exit(1)
    head, tail = text.split(README_BEGIN, 1)[0], text.split(README_END, 1)[1]
    path.write_text(f"{head}{README_BEGIN}\n{new}{README_END}{tail}", encoding="utf-8")
    typer.echo(f"README metric table written ({new.count(chr(10)) - 2} metrics)")


def register(app: typer.Typer) -> None:
    """Add `warning config ...` and `warning metrics ...`."""
    app.add_typer(config_app, name="config")
    app.add_typer(metrics_app, name="metrics")
