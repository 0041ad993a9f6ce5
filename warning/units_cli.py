"""The district's own geography: ``warning units load FILE.csv`` and the reader the engine uses.

The core (`warning.core.units`) validates rows and answers hierarchy questions; this shell only
reads and writes the CSV (``code,name,parent,level``, UTF-8, a BOM from Excel tolerated). Loading
validates the whole file before anything is written, then replaces the file in force atomically,
so a worker starting mid-load reads either the old hierarchy or the new one, never half of one.
Running workers read the file when they start: restart them after a load.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from warning.core import units
from warning.core.errors import ImproperlyConfigured

if TYPE_CHECKING:
    from warning.settings import Settings

COLUMNS = ("code", "name", "parent", "level")
LEVEL_LABELS = {"district": "区", "street": "街道/镇", "community": "社区/村", "grid": "网格"}


def parse_csv(text: str, source: str = "units file") -> units.Hierarchy:
    """The hierarchy in a units CSV; ImproperlyConfigured naming `source` and the row otherwise."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImproperlyConfigured(f"{source}: row 1: missing column(s) {', '.join(missing)}; need {','.join(COLUMNS)}")
    try:
        return units.parse(reader)
    except units.UnitsFileError as exc:
        raise ImproperlyConfigured(f"{source}: {exc}") from None


def read_units(path: Path) -> units.Hierarchy:
    """Read and validate a units file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImproperlyConfigured(f"{path}: cannot read the units file ({exc})") from None
    return parse_csv(text, str(path))


def render_csv(h: units.Hierarchy) -> str:
    """The units file text for `h` (normalised order: each street, its communities, their grids)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(units.to_rows(h))
    return out.getvalue()


def write_units(path: Path, h: units.Hierarchy) -> None:
    """Replace the units file atomically (written beside it, fsynced, renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write(render_csv(h))
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def configured_hierarchy(settings: Settings) -> units.Hierarchy | None:
    """The district's own units when a units file is in place; None: the default Sxx-Cxx-Gxx layout."""
    path = settings.units_path()
    if settings.units_file is None and not path.exists():
        return None
    return read_units(path)


def register(app: typer.Typer) -> None:
    """Add ``units load`` and ``units show`` to the ``warning`` app."""
    units_app = typer.Typer(no_args_is_help=True, help="辖区区划 (the district's own units: codes, names, hierarchy).")
    app.add_typer(units_app, name="units")

    @units_app.command("load")
    def load_cmd(
        file: Annotated[Path, typer.Argument(help="CSV with columns code,name,parent,level")],
        check: Annotated[bool, typer.Option(help="validate only, write nothing")] = False,
    ) -> None:
        """载入区划: validate a units CSV and make it the engine's hierarchy (WARNING_UNITS_FILE)."""
        from warning import settings as settings_mod

        cfg = settings_mod.load()
        try:
            h = read_units(file)
        except ImproperlyConfigured as exc:
            typer.echo(f"错误 / error: {exc}", err=True)
            raise typer.Exit(2) from None
        counts = Counter(u.level for u in h.units.values())
        summary = ", ".join(f"{LEVEL_LABELS[k]} {counts.get(k, 0)}" for k in ("street", "community", "grid"))
        if check:
            typer.echo(f"{file}: valid ({summary})")
            return
        target = cfg.units_path()
        write_units(target, h)
        typer.echo(f"{h.district_name}: {summary} -> {target} (restart the worker and console to use it)")

    @units_app.command("show")
    def show_cmd(
        unit: Annotated[str | None, typer.Argument(help="a unit code: its path and children")] = None,
    ) -> None:
        """List the hierarchy in force (or one unit's path and the units directly below it)."""
        from warning import settings as settings_mod

        h = configured_hierarchy(settings_mod.load())
        if h is None:
            typer.echo("no units file: the default layout (Sxx, Sxx-Cxx, Sxx-Cxx-Gxx) is in force")
            return
        if unit and not units.is_unit(unit, h):
            typer.echo(f"错误 / error: unit {unit!r} is not in the units file", err=True)
            raise typer.Exit(2)
        table = Table("编码", "名称", "级别", "上级", "订阅键")
        scope = unit or units.DISTRICT
        for u in h.units.values():
            if u.parent == scope or u.code == unit:
                table.add_row(u.code, u.name, LEVEL_LABELS[u.level], u.parent, units.feed_key(u.code, h))
        if unit:
            Console().print(" / ".join(units.name_of(c, h) for c in units.path_of(unit, h)))
        Console().print(table)
