"""Score alerts against the simulator's ground truth: precision, recall, delay, alert load.

Matching rule (one alert may match several incidents; an incident is detected when at least
one alert matches it):

1. **type**: ``alert.type == truth.type``.
2. **time**: ``truth.start - SLACK[type] <= alert.created_at <= truth.end + GRACE[type]``
   (slack lets a pattern forecast arrive before the peak; grace lets a case alert come after
   the last record of the case). Defaults: dynamic 1 h / 24 h, pattern 7 d / 3 d,
   relational 1 d / 14 d, case 1 d / 14 d.
3. **where and what**:
   - dynamic and pattern: the units are compatible (the alert unit lies within the incident's
     unit or vice versa, or both are in the incident's street; a ``district`` incident accepts
     any unit) **and** the categories are equal when both have one;
   - case and relational: the alert's ``evidence`` shares an event id with the incident
     (truth ``source_refs`` are mapped to ids with ``stable_id(channel, source_ref)`` for every
     channel), or the alert is about the incident's ``case_ref`` (``subject`` or
     ``details["case_ref"]``). Only an alert with no evidence at all falls back to the
     dynamic/pattern rule, so a busy street cannot make every case alert "correct".

Alerts are first collapsed by ``alert_id`` (a repeat of an alert is an update, DESIGN.md §5):
earliest ``created_at``, highest level, union of evidence. Truth lines with ``negative: true``
(cases that settled) are not counted in recall; an alert matching only negatives is a false
alert. Precision = matched alerts / alerts; recall = detected incidents / incidents;
delay = earliest matching alert's ``created_at`` minus ``truth.start`` (median and p90 with
linear interpolation, as ``numpy.percentile``). Alert load is alerts per street per week over
the evaluated period. Types with no alerts or no truth report ``null`` and a status instead of
dividing by zero.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from warning.core import units
from warning.core.events import Alert, stable_id
from warning.core.taxonomy import ALERT_TYPES, CHANNELS, LEVELS

SLACK: Final[dict[str, timedelta]] = {
    "dynamic": timedelta(hours=1),
    "pattern": timedelta(days=7),
    "relational": timedelta(days=1),
    "case": timedelta(days=1),
}
GRACE: Final[dict[str, timedelta]] = {
    "dynamic": timedelta(hours=24),
    "pattern": timedelta(days=3),
    "relational": timedelta(days=14),
    "case": timedelta(days=14),
}


@dataclass(frozen=True, slots=True)
class Truth:
    """One ground-truth incident (a ``truth.jsonl`` line)."""

    incident_id: str
    type: str
    kind: str
    unit: str
    street: str
    start: datetime
    end: datetime
    category: str | None = None
    grid_id: str | None = None
    source_refs: tuple[str, ...] = ()
    case_ref: str | None = None
    expected_level: str | None = None
    negative: bool = False
    event_ids: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Truth:
        """Parse a truth line; event ids are derived from the source refs for every channel."""
        refs = tuple(d.get("source_refs") or ())
        return cls(
            incident_id=d["incident_id"],
            type=d["type"],
            kind=d.get("kind", ""),
            unit=d["unit"],
            street=d.get("street") or units.street_of(d["unit"]),
            start=datetime.fromisoformat(d["start"]),
            end=datetime.fromisoformat(d["end"]),
            category=d.get("category"),
            grid_id=d.get("grid_id"),
            source_refs=refs,
            case_ref=d.get("case_ref"),
            expected_level=d.get("expected_level"),
            negative=bool(d.get("negative", False)),
            event_ids=frozenset(stable_id(c, r) for r in refs for c in CHANNELS),
        )


def collapse(alerts: Iterable[Alert]) -> list[Alert]:
    """One alert per alert_id: first created_at, highest level, union of evidence."""
    from dataclasses import replace

    by_id: dict[str, Alert] = {}
    for a in alerts:
        seen = by_id.get(a.alert_id)
        if seen is None:
            by_id[a.alert_id] = a
            continue
        by_id[a.alert_id] = replace(
            seen,
            created_at=min(seen.created_at, a.created_at),
            level=max(seen.level, a.level, key=LEVELS.index),
            evidence=tuple(dict.fromkeys((*seen.evidence, *a.evidence))),
        )
    return sorted(by_id.values(), key=lambda a: (a.created_at, a.alert_id))


def _where_what(a: Alert, t: Truth) -> bool:
    unit_ok = (
        units.within(a.unit, t.unit)
        or units.within(t.unit, a.unit)
        or (t.street != units.DISTRICT and units.street_of(a.unit) == t.street)
    )
    cat_ok = not (a.category and t.category) or a.category == t.category
    return unit_ok and cat_ok


def matches(
    a: Alert,
    t: Truth,
    slack: Mapping[str, timedelta] = SLACK,
    grace: Mapping[str, timedelta] = GRACE,
) -> bool:
    """The matching rule of the module docstring."""
    if a.type != t.type:
        return False
    if not (t.start - slack[t.type] <= a.created_at <= t.end + grace[t.type]):
        return False
    if t.type in ("case", "relational"):
        if t.event_ids.intersection(a.evidence):
            return True
        if t.case_ref and t.case_ref in (a.subject, a.details.get("case_ref")):
            return True
        if a.evidence:
            return False
    return _where_what(a, t)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile with linear interpolation (numpy's default method)."""
    if not values:
        raise ValueError("percentile of no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass
class Evaluation:
    """Metrics plus the match details the report plots."""

    metrics: dict[str, Any]
    alerts: list[Alert]
    truths: list[Truth]
    matched_alerts: set[str]
    detected: dict[str, datetime]  # incident_id -> first matching alert time


def evaluate(
    alerts: Iterable[Alert],
    truths: Sequence[Truth],
    streets: int,
    weeks: float,
    slack: Mapping[str, timedelta] = SLACK,
    grace: Mapping[str, timedelta] = GRACE,
) -> Evaluation:
    """Per-type precision, recall, delay and alert load (see the module docstring)."""
    collapsed = collapse(alerts)
    matched_alerts: set[str] = set()
    detected: dict[str, datetime] = {}
    positive_match: set[str] = set()
    by_type: dict[str, list[Truth]] = {}
    for t in truths:
        by_type.setdefault(t.type, []).append(t)
    for a in collapsed:
        for t in by_type.get(a.type, ()):
            if matches(a, t, slack, grace):
                matched_alerts.add(a.alert_id)
                if not t.negative:
                    positive_match.add(a.alert_id)
                    if t.incident_id not in detected or a.created_at < detected[t.incident_id]:
                        detected[t.incident_id] = a.created_at
    load_den = max(streets, 1) * max(weeks, 1e-9)
    per_type: dict[str, Any] = {}
    for typ in ALERT_TYPES:
        ts = [t for t in truths if t.type == typ and not t.negative]
        negatives = [t for t in truths if t.type == typ and t.negative]
        al = [a for a in collapsed if a.type == typ]
        good = [a for a in al if a.alert_id in positive_match]
        on_neg = [a for a in al if a.alert_id in matched_alerts and a.alert_id not in positive_match]
        hits = [t for t in ts if t.incident_id in detected]
        delays = [(detected[t.incident_id] - t.start).total_seconds() for t in hits]
        level_ok = [
            t
            for t in hits
            if t.expected_level
            and max(
                (a.level for a in al if a.alert_id in positive_match and matches(a, t, slack, grace)),
                key=LEVELS.index,
                default="blue",
            )
            == t.expected_level
        ]
        status = "ok"
        if not al and not ts:
            status = "no alerts and no truth"
        elif not al:
            status = "no alerts"
        elif not ts:
            status = "no truth"
        per_type[typ] = {
            "status": status,
            "alerts": len(al),
            "matched_alerts": len(good),
            "false_alerts": len(al) - len(good),
            "alerts_on_negative_cases": len(on_neg),
            "precision": _ratio(len(good), len(al)),
            "incidents": len(ts),
            "negative_incidents": len(negatives),
            "detected": len(hits),
            "recall": _ratio(len(hits), len(ts)),
            "delay_seconds": {
                "median": percentile(delays, 50),
                "p90": percentile(delays, 90),
                "n": len(delays),
            }
            if delays
            else None,
            "level_exact": _ratio(len(level_ok), len([t for t in hits if t.expected_level])),
            "alerts_per_street_week": len(al) / load_den,
            "false_alerts_per_street_week": (len(al) - len(good)) / load_den,
            "by_kind": {
                kind: {"incidents": n, "detected": sum(1 for t in ts if t.kind == kind and t.incident_id in detected)}
                for kind, n in sorted(_count(t.kind for t in ts).items())
            },
        }
    total_alerts = len(collapsed)
    total_good = len(positive_match)
    total_inc = sum(1 for t in truths if not t.negative)
    metrics = {
        "streets": streets,
        "weeks": round(weeks, 3),
        "alerts_raw": None,
        "alerts": total_alerts,
        "precision": _ratio(total_good, total_alerts),
        "recall": _ratio(len(detected), total_inc),
        "alerts_per_street_week": total_alerts / load_den,
        "false_alerts_per_street_week": (total_alerts - total_good) / load_den,
        "by_type": per_type,
        "rule": {
            "slack": {k: v.total_seconds() for k, v in slack.items()},
            "grace": {k: v.total_seconds() for k, v in grace.items()},
        },
    }
    return Evaluation(metrics, collapsed, list(truths), positive_match, detected)


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


# ---- files -----------------------------------------------------------------------------------


def read_alerts(path: Path) -> list[Alert]:
    """Alerts from a JSONL file (Alert.to_dict per line)."""
    with path.open(encoding="utf-8") as fh:
        return [Alert.from_dict(json.loads(line)) for line in fh if line.strip()]


def read_truth(path: Path) -> list[Truth]:
    """Truth incidents from a truth.jsonl file."""
    with path.open(encoding="utf-8") as fh:
        return [Truth.from_dict(json.loads(line)) for line in fh if line.strip()]


def period(truth_dir: Path, truths: Sequence[Truth], alerts: Sequence[Alert]) -> tuple[int, float]:
    """(streets, weeks) of the evaluated run: from geography.json/manifest.json when present."""
    streets = 0
    geo = truth_dir / "geography.json"
    if geo.exists():
        streets = len(json.loads(geo.read_text(encoding="utf-8"))["streets"])
    if not streets:
        found = {t.street for t in truths} | {units.street_of(a.unit) for a in alerts}
        streets = max(1, len(found - {units.DISTRICT}))
    manifest = truth_dir / "manifest.json"
    if manifest.exists():
        weeks = json.loads(manifest.read_text(encoding="utf-8"))["date_range"]["days"] / 7
    else:
        times = [t.start for t in truths] + [t.end for t in truths] + [a.created_at for a in alerts]
        weeks = max(1.0, (max(times) - min(times)).total_seconds() / (7 * 86_400)) if times else 1.0
    return streets, weeks


# ---- report ----------------------------------------------------------------------------------


def daily_volumes(data_dir: Path, file_names: Iterable[str]) -> dict[str, dict[str, int]]:
    """{day: {category: count}} over the input files (a cheap scan, no validation)."""
    import re

    pat = re.compile(rb'"occurred_at":\s*"(\d{4}-\d{2}-\d{2})T.*?"category":\s*"([a-z_]+)"')
    out: dict[str, dict[str, int]] = {}
    for name in file_names:
        path = data_dir / name
        if not path.exists():
            continue
        with path.open("rb") as fh:
            for line in fh:
                m = pat.search(line)
                if m:
                    day = out.setdefault(m.group(1).decode(), {})
                    cat = m.group(2).decode()
                    day[cat] = day.get(cat, 0) + 1
    return out


def _holiday_runs(first: datetime, last: datetime) -> list[tuple[datetime, datetime, str]]:
    import holidays as holidays_lib

    cn = holidays_lib.country_holidays("CN", years=range(first.year, last.year + 1), language="en_US")
    runs: list[tuple[datetime, datetime, str]] = []
    for d, name in sorted(cn.items()):
        dt = datetime(d.year, d.month, d.day)
        if runs and (dt - runs[-1][1]).days <= 1:
            runs[-1] = (runs[-1][0], dt, runs[-1][2])
        elif not str(name).startswith("Day off"):
            runs.append((dt, dt, str(name).split(" (")[0]))
    return [r for r in runs if first <= r[0] <= last]


def plot_volumes(volumes: dict[str, dict[str, int]], path: Path) -> bool:
    """Daily volumes by category over the period, holidays shaded (Spring Festival in red)."""
    if not volumes:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = sorted(volumes)
    xs = [datetime.fromisoformat(d) for d in days]
    cats = sorted({c for v in volumes.values() for c in v}, key=lambda c: -sum(v.get(c, 0) for v in volumes.values()))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(14, 8), sharex=True)
    bottoms = [0] * len(days)
    palette = plt.get_cmap("tab20")
    for i, c in enumerate(cats):
        ys = [volumes[d].get(c, 0) for d in days]
        ax1.fill_between(
            xs,
            bottoms,
            [b + y for b, y in zip(bottoms, ys, strict=True)],
            step="mid",
            label=c,
            linewidth=0,
            color=palette(i % 20),
        )
        bottoms = [b + y for b, y in zip(bottoms, ys, strict=True)]
    ax1.set_ylabel("records / day")
    ax1.set_title("Daily volume by category (all channels)")
    ax1.legend(ncol=8, fontsize=7, loc="upper left")
    for c in ("labour", "family", "neighbour", "property", "land", "sea"):
        if c in cats:
            ax2.plot(xs, [volumes[d].get(c, 0) for d in days], label=c, linewidth=1)
    ax2.set_ylabel("records / day")
    ax2.set_title("Seasonal categories: wages before Spring Festival, family after holidays, summer neighbours, fees")
    ax2.legend(ncol=6, fontsize=8, loc="upper left")
    for start, end, name in _holiday_runs(xs[0], xs[-1]):
        sf = "Spring Festival" in name or "Chinese New Year" in name
        for ax in (ax1, ax2):
            ax.axvspan(start, end + timedelta(days=1), color="red" if sf else "grey", alpha=0.25 if sf else 0.15)
        ax1.annotate(name, (start, ax1.get_ylim()[1]), fontsize=7, rotation=90, va="top", ha="right")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _date_num(values: Iterable[datetime]) -> list[float]:
    """Matplotlib date numbers (days since 1970-01-01 UTC) without the untyped `date2num`."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return [((v if v.tzinfo else v.replace(tzinfo=UTC)) - epoch).total_seconds() / 86_400 for v in values]


def plot_timeline(ev: Evaluation, path: Path) -> bool:
    """Truth incidents (bars) and alerts (ticks; matched vs false) per warning type."""
    if not ev.truths and not ev.alerts:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(14, 4.5))
    lanes = 4  # overlapping incidents of one type are spread over lanes so each stays visible
    for row, typ in enumerate(ALERT_TYPES):
        lane_end: list[datetime] = []
        for t in sorted((t for t in ev.truths if t.type == typ), key=lambda t: t.start):
            lane = next((i for i, e in enumerate(lane_end) if e < t.start), None)
            if lane is None:
                lane = len(lane_end) % lanes if len(lane_end) >= lanes else len(lane_end)
                if len(lane_end) < lanes:
                    lane_end.append(t.end)
            lane_end[lane] = max(lane_end[lane], t.end)
            y = row - 0.1 * lane
            color = "lightgrey" if t.negative else ("tab:green" if t.incident_id in ev.detected else "tab:orange")
            ax.plot(
                _date_num([t.start, t.end + timedelta(hours=6)]),
                [y, y],
                color=color,
                linewidth=3,
                alpha=0.7,
                solid_capstyle="butt",
            )
        good = [a.created_at for a in ev.alerts if a.type == typ and a.alert_id in ev.matched_alerts]
        bad = [a.created_at for a in ev.alerts if a.type == typ and a.alert_id not in ev.matched_alerts]
        ax.scatter(_date_num(good), [row + 0.25] * len(good), marker="|", color="tab:blue", s=60)
        ax.scatter(_date_num(bad), [row + 0.25] * len(bad), marker="|", color="tab:red", s=60)
    ax.xaxis_date()
    ax.set_yticks(range(len(ALERT_TYPES)), list(ALERT_TYPES))
    ax.set_title("Truth (bars: green detected, orange missed, grey benign) vs alerts (ticks: blue matched, red false)")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "n/a"
    if pct:
        return f"{v:.1%}"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _hours(d: dict[str, Any] | None, key: str) -> str:
    return "n/a" if d is None else f"{d[key] / 3600:.1f} h"


def table_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """The per-type table (header first) shared by the Markdown and HTML reports."""
    rows = [
        [
            "type",
            "status",
            "alerts",
            "precision",
            "incidents",
            "recall",
            "delay median",
            "delay p90",
            "alerts/street/week",
            "false/street/week",
        ]
    ]
    for typ, m in metrics["by_type"].items():
        rows.append(
            [
                typ,
                m["status"],
                str(m["alerts"]),
                _fmt(m["precision"], True),
                str(m["incidents"]),
                _fmt(m["recall"], True),
                _hours(m["delay_seconds"], "median"),
                _hours(m["delay_seconds"], "p90"),
                f"{m['alerts_per_street_week']:.3f}",
                f"{m['false_alerts_per_street_week']:.3f}",
            ]
        )
    return rows


def write_report(ev: Evaluation, out: Path, data_dir: Path | None, input_names: Sequence[str]) -> list[Path]:
    """metrics.json, report.md, report.html and PNG plots under `out`; returns the files written."""
    import html

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "metrics.json"]
    (out / "metrics.json").write_text(json.dumps(ev.metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    images: list[tuple[str, str]] = []
    if data_dir is not None and plot_volumes(daily_volumes(data_dir, input_names), out / "volumes.png"):
        images.append(("volumes.png", "Daily volumes by category; holidays shaded, Spring Festival in red"))
    if plot_timeline(ev, out / "timeline.png"):
        images.append(("timeline.png", "Alerts vs truth"))
    written += [out / name for name, _ in images]
    rows = table_rows(ev.metrics)
    m = ev.metrics
    summary = (
        f"{m['alerts']} alerts (after collapsing repeats), precision {_fmt(m['precision'], True)}, "
        f"recall {_fmt(m['recall'], True)}, {m['alerts_per_street_week']:.3f} alerts and "
        f"{m['false_alerts_per_street_week']:.3f} false alerts per street per week "
        f"({m['streets']} streets, {m['weeks']:.1f} weeks)."
    )
    missed = [t for t in ev.truths if not t.negative and t.incident_id not in ev.detected][:20]
    md = ["# Early-warning evaluation", "", summary, "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    md += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    md += [
        "",
        "Matching rule: see `warning/evaluate.py` (type, time window with slack/grace, unit and category; "
        "evidence or case_ref for case and relational).",
        "",
    ]
    for name, caption in images:
        md += [f"![{caption}]({name})", ""]
    if missed:
        md += [
            "## Missed incidents (first 20)",
            "",
            "| incident | type | kind | unit | category | start |",
            "|---|---|---|---|---|---|",
        ]
        md += [
            f"| {t.incident_id} | {t.type} | {t.kind} | {t.unit} | {t.category or ''} | {t.start:%Y-%m-%d %H:%M} |"
            for t in missed
        ]
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    written.append(out / "report.md")
    cells = "".join(
        "<tr>"
        + "".join(f"<{'th' if i == 0 else 'td'}>{html.escape(c)}</{'th' if i == 0 else 'td'}>" for c in r)
        + "</tr>"
        for i, r in enumerate(rows)
    )
    imgs = "".join(
        f'<figure><img src="{n}" alt="{html.escape(c)}"><figcaption>{html.escape(c)}</figcaption></figure>'
        for n, c in images
    )
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>预警评估 evaluation</title>'
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}img{max-width:100%}</style></head><body>"
        f"<h1>Early-warning evaluation</h1><p>{html.escape(summary)}</p><table>{cells}</table>{imgs}</body></html>"
    )
    (out / "report.html").write_text(page, encoding="utf-8")
    written.append(out / "report.html")
    return written


def register(app: typer.Typer) -> None:
    """Add the ``warning evaluate`` command to the CLI app."""

    @app.command("evaluate")
    def evaluate_cmd(
        alerts: Annotated[Path, typer.Option("--alerts", help="alerts JSONL from `warning replay`")],
        truth: Annotated[Path, typer.Option("--truth", help="truth.jsonl from `warning simulate`")],
        out: Annotated[Path, typer.Option("--out", help="report directory")] = Path("report"),
        data: Annotated[
            Path | None, typer.Option("--data", help="input files for the volume plot (default: truth's directory)")
        ] = None,
        streets: Annotated[int | None, typer.Option(help="streets (default: geography.json)")] = None,
        weeks: Annotated[float | None, typer.Option(help="weeks evaluated (default: manifest.json)")] = None,
    ) -> None:
        """Precision, recall, delay and alert load per warning type, with a report."""
        from rich.console import Console
        from rich.table import Table

        from warning import settings as settings_mod
        from warning.simulate.district import file_names

        alert_list = read_alerts(alerts)
        truths = read_truth(truth)
        s, w = period(truth.parent, truths, alert_list)
        ev = evaluate(alert_list, truths, streets or s, weeks or w)
        ev.metrics["alerts_raw"] = len(alert_list)
        names = list(file_names(settings_mod.load().topics_dir).values())
        files = write_report(ev, out, data or truth.parent, names)
        rows = table_rows(ev.metrics)
        table = Table(*rows[0], title="evaluation per warning type")
        for r in rows[1:]:
            table.add_row(*r)
        Console().print(table)
        Console(stderr=True).print(f"wrote {', '.join(str(f) for f in files)}")
