"""What-if: the same history replayed under the running and a candidate thresholds file.

An operator decides whether to apply a change by what it would have done to the desks: the
alert volume per type, level and duty desk per day, the strict-evaluator precision and recall
where the simulator left ground truth, and the alerts that would appear or disappear. Both
sides go through `replay.replay` (engine and router), and quality through `evaluate.evaluate`,
so the comparison measures exactly what the stream and `warning evaluate` would report.
"""

from __future__ import annotations

import html
import io
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from warning.core import units
from warning.core.events import Alert
from warning.settings import Settings
from warning.thresholds import Thresholds

SIDES: Final = ("current", "candidate")


@dataclass
class Side:
    """One replay: the desks' alerts (last state per alert_id) and their per-day volumes."""

    name: str
    alerts: dict[str, Alert] = field(default_factory=dict)
    first_day: dict[str, date] = field(default_factory=dict)
    desk_days: Counter[tuple[date, str]] = field(default_factory=Counter)
    quality: dict[str, Any] | None = None

    def volume(self, dimension: str) -> Counter[tuple[date, str]]:
        """Alerts per (day, value) of `dimension` ("type", "level"); "desk" counts deliveries."""
        if dimension == "desk":
            return self.desk_days
        return Counter((self.first_day[i], str(getattr(a, dimension))) for i, a in self.alerts.items())


def desk_level(feed: str) -> str | None:
    """The duty-desk level a feed belongs to (None: the "all" and department feeds)."""
    if feed == units.DISTRICT:
        return "district"
    return units.kind(feed) if units.is_unit(feed) else None


def collect(name: str, rows: io.StringIO, settings: Settings) -> Side:
    """A side from the routed-alert JSONL `replay.replay` wrote (Alert.to_dict plus delivery)."""
    side = Side(name)
    zone = settings.zone()
    for line in rows.getvalue().splitlines():
        row = json.loads(line)
        delivery = row.pop("delivery")
        alert = Alert.from_dict(row)
        day = alert.created_at.astimezone(zone).date()
        side.alerts[alert.alert_id] = alert
        side.first_day.setdefault(alert.alert_id, day)
        for feed in delivery["feeds"]:
            lvl = desk_level(feed)
            if lvl is not None:
                side.desk_days[(day, lvl)] += 1
    return side


def run_side(name: str, data_dir: Path, settings: Settings, thresholds: Thresholds) -> Side:
    """Replay `data_dir` under `thresholds` (records received as recorded: history, not now)."""
    from warning.analysis.replay import replay

    out = io.StringIO()
    replay(data_dir, settings, thresholds, alerts_out=out, received_at=None)
    return collect(name, out, settings)


def score(side: Side, truth: Path, thresholds: Thresholds) -> dict[str, Any]:
    """Strict-evaluator precision, recall and false alerts per street-week of one side."""
    from warning.analysis import evaluate as ev
    from warning.thresholds import routing_rules

    truths = ev.read_truth(truth)
    alerts = list(side.alerts.values())
    streets, weeks = ev.period(truth.parent, truths, alerts)
    desks = ev.desk_counts(truth.parent)
    m = ev.evaluate(alerts, truths, streets, weeks, None, desks, routing_rules(thresholds), ev.run_start(truth.parent))
    keys = ("precision", "recall", "false_alerts_per_street_week")
    out: dict[str, Any] = {k: m.metrics[k] for k in keys}
    out["by_type"] = {t: {k: v[k] for k in keys} for t, v in m.metrics["by_type"].items()}
    return out


@dataclass(frozen=True, slots=True)
class Comparison:
    """Both sides and what changed between them."""

    current: Side
    candidate: Side
    days: int

    def totals(self, dimension: str) -> list[tuple[str, int, int]]:
        """(value, current, candidate) totals of a dimension over the whole history."""
        a, b = _by_value(self.current.volume(dimension)), _by_value(self.candidate.volume(dimension))
        return [(v, a.get(v, 0), b.get(v, 0)) for v in sorted(set(a) | set(b))]

    def appeared(self) -> list[Alert]:
        """Alerts only the candidate raises."""
        return [a for i, a in sorted(self.candidate.alerts.items()) if i not in self.current.alerts]

    def disappeared(self) -> list[Alert]:
        """Alerts only the running thresholds raise."""
        return [a for i, a in sorted(self.current.alerts.items()) if i not in self.candidate.alerts]

    def daily(self, side: Side) -> list[tuple[date, int]]:
        """Alerts per day of a side, every day of the history (zeros included)."""
        days = sorted(set(self.current.first_day.values()) | set(self.candidate.first_day.values()))
        got = Counter(side.first_day.values())
        return [(d, got.get(d, 0)) for d in days]


def _by_value(c: Mapping[tuple[date, str], int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for (_, v), n in c.items():
        out[v] = out.get(v, 0) + n
    return out


def compare(
    data_dir: Path, settings: Settings, current: Thresholds, candidate: Thresholds, truth: Path | None = None
) -> Comparison:
    """Replay `data_dir` under both thresholds and score each against `truth` when given."""
    sides = [run_side(n, data_dir, settings, th) for n, th in zip(SIDES, (current, candidate), strict=True)]
    if truth is not None and truth.exists():
        for side, th in zip(sides, (current, candidate), strict=True):
            side.quality = score(side, truth, th)
    return Comparison(sides[0], sides[1], _days(data_dir))


def _days(data_dir: Path) -> int:
    manifest = data_dir / "manifest.json"
    if manifest.exists():
        return int(json.loads(manifest.read_text(encoding="utf-8"))["date_range"]["days"])
    return 0


# ---- output ----------------------------------------------------------------------------------


def rows(cmp: Comparison) -> list[tuple[str, str, str, str]]:
    """Table rows (measure, current, candidate, change): volumes per day, then quality."""
    per = max(cmp.days, 1)
    out: list[tuple[str, str, str, str]] = []
    for dim in ("type", "level", "desk"):
        for value, a, b in cmp.totals(dim):
            out.append((f"{dim} {value} /day", f"{a / per:.2f}", f"{b / per:.2f}", f"{(b - a) / per:+.2f}"))
    qa, qb = cmp.current.quality, cmp.candidate.quality
    if qa is not None and qb is not None:
        for k in ("precision", "recall", "false_alerts_per_street_week"):
            out.append((k, _num(qa[k]), _num(qb[k]), _delta(qa[k], qb[k])))
    out.append(("alerts appear", "", str(len(cmp.appeared())), ""))
    out.append(("alerts disappear", str(len(cmp.disappeared())), "", ""))
    return out


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def _delta(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None else f"{b - a:+.3f}"


def svg_lines(series: Mapping[str, Sequence[int]], width: int = 720, height: int = 180) -> str:
    """An inline SVG line chart (one polyline per series), no script: the page opens anywhere."""
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
    n = max((len(s) for s in series.values()), default=0)
    top = max((max(s, default=0) for s in series.values()), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20}">']
    for i, (name, values) in enumerate(series.items()):
        step = width / max(n - 1, 1)
        pts = " ".join(f"{j * step:.1f},{height - v / top * (height - 10):.1f}" for j, v in enumerate(values))
        colour = colours[i % len(colours)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>')
        parts.append(f'<text x="{10 + 120 * i}" y="{height + 15}" fill="{colour}">{html.escape(name)}</text>')
    parts.append(f'<text x="{width - 60}" y="12">max {top}</text></svg>')
    return "".join(parts)


def write_html(cmp: Comparison, path: Path) -> None:
    """The comparison as one self-contained page: table, daily chart, changed alerts."""
    table = "".join(f"<tr>{''.join(f'<td>{html.escape(c)}</td>' for c in r)}</tr>" for r in rows(cmp))
    chart = svg_lines({s.name: [n for _, n in cmp.daily(s)] for s in (cmp.current, cmp.candidate)})

    def listing(alerts: Sequence[Alert]) -> str:
        items = "".join(f"<li>{html.escape(a.alert_id)} {html.escape(a.title)}</li>" for a in alerts[:200])
        return f"<ul>{items}</ul>"

    page = (
        '<!doctype html><html lang="zh"><meta charset="utf-8"><title>阈值调整预演</title>'
        "<h1>阈值调整预演 (what-if)</h1><table border=1 cellpadding=3>"
        f"<tr><th>measure</th><th>current</th><th>candidate</th><th>change</th></tr>{table}</table>"
        f"<h2>每日预警量</h2>{chart}"
        f"<h2>新增预警 ({len(cmp.appeared())})</h2>{listing(cmp.appeared())}"
        f"<h2>消失预警 ({len(cmp.disappeared())})</h2>{listing(cmp.disappeared())}</html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add the ``warning whatif`` command to the CLI app."""

    @app.command("whatif")
    def whatif_cmd(
        data_dir: Annotated[Path, typer.Argument(help="history as written by `warning simulate`")],
        thresholds: Annotated[Path, typer.Option("--thresholds", help="candidate thresholds TOML")],
        current: Annotated[
            Path | None, typer.Option("--current", help="running thresholds (default: the configured file)")
        ] = None,
        truth: Annotated[
            Path | None, typer.Option("--truth", help="truth.jsonl (default: DATA_DIR/truth.jsonl)")
        ] = None,
        html_out: Annotated[Path | None, typer.Option("--html", help="also write an HTML page here")] = None,
    ) -> None:
        """Replay history under the running and a candidate thresholds file, side by side."""
        from rich.console import Console
        from rich.table import Table

        from warning import settings as settings_mod
        from warning import thresholds as thresholds_mod

        cfg = settings_mod.load()
        running = thresholds_mod.load(current or cfg.thresholds_file).thresholds
        candidate = thresholds_mod.load(thresholds).thresholds
        cmp = compare(data_dir, cfg, running, candidate, truth or data_dir / "truth.jsonl")
        table = Table("measure", *SIDES, "change", title=f"what-if {thresholds} on {data_dir}")
        for r in rows(cmp):
            table.add_row(*r)
        console = Console(width=160)
        console.print(table)
        for label, alerts in (("+", cmp.appeared()), ("-", cmp.disappeared())):
            for a in alerts[:20]:
                console.print(f"{label} {a.alert_id} {a.title}", markup=False)
        if html_out is not None:
            write_html(cmp, html_out)
            Console(stderr=True).print(f"wrote {html_out}")
