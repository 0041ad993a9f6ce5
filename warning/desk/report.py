"""Period reports (日报告 / 周分析 / 月通报) over the alerts and audit lines in Redis.

`aggregate` is a pure function of alert records and audit lines, so the numbers are tested
without a server; `read` is the thin Redis side (every alert hash of the prefix and the audit
stream). An alert belongs to the period in which it was first delivered to a desk
(``delivered_at``); acknowledgement and resolution times come from the audit stream, measured
from that delivery, and are held against the level's acknowledgement deadline
(``[lifecycle] ack_deadline_seconds``).
"""

from __future__ import annotations

import html
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from warning.core import units
from warning.core.lifecycle import AlertRecord, AuditEntry

TITLES: Final = {"day": "日报告", "week": "周分析", "month": "月通报"}
LEVELS_CN: Final = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}


def bounds(period: str, day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the day, ISO week or month holding `day`, in the district's zone."""
    if period == "day":
        first, last = day, day + timedelta(days=1)
    elif period == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=7)
    elif period == "month":
        first = day.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"period must be day, week or month, not {period!r}")
    return datetime.combine(first, time(), zone), datetime.combine(last, time(), zone)


def previous(period: str, start: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """The period just before the one starting at `start`."""
    return bounds(period, (start - timedelta(days=1)).astimezone(zone).date(), zone)


def _in_unit(record: AlertRecord, unit: str | None, h: units.Hierarchy | None = None) -> bool:
    return unit is None or units.within(record.alert.unit, unit, h)


def _street(code: str, h: units.Hierarchy | None) -> str:
    return units.street_of(code, h) if units.is_unit(code, h) else code


def _first(audit: Iterable[AuditEntry], action: str) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for line in audit:
        if line.action == action and (line.alert_id not in out or line.at < out[line.alert_id]):
            out[line.alert_id] = line.at
    return out


def _hours(values: Sequence[float]) -> float | None:
    return round(statistics.median(values) / 3600, 2) if values else None


def aggregate(
    records: Iterable[AlertRecord],
    audit: Sequence[AuditEntry],
    start: datetime,
    end: datetime,
    now: datetime,
    deadlines: Mapping[str, float],
    unit: str | None = None,
    h: units.Hierarchy | None = None,
) -> dict[str, Any]:
    """The period's numbers: counts by type, level, unit and state, handling times per level.

    `h` is the district's own units (``warning units load``; None = the Sxx-Cxx-Gxx layout).
    """
    rs = [r for r in records if start <= r.delivered_at < end and _in_unit(r, unit, h)]
    acked, resolved = _first(audit, "acknowledge"), _first(audit, "resolve")
    per_level: dict[str, Any] = {}
    for level in LEVELS_CN:
        lr = [r for r in rs if r.level == level]
        ack = [(acked[r.alert_id] - r.delivered_at).total_seconds() for r in lr if r.alert_id in acked]
        res = [(resolved[r.alert_id] - r.delivered_at).total_seconds() for r in lr if r.alert_id in resolved]
        limit = deadlines.get(level, 0.0)
        per_level[level] = {
            "alerts": len(lr),
            "acknowledged": len(ack),
            "ack_median_hours": _hours(ack),
            "ack_within_deadline": sum(1 for s in ack if not limit or s <= limit),
            "resolved": len(res),
            "resolve_median_hours": _hours(res),
            "deadline_hours": round(limit / 3600, 2),
        }
    return {
        "alerts": len(rs),
        "by_type": dict(Counter(r.alert.type for r in rs).most_common()),
        "by_level": {lvl: sum(1 for r in rs if r.level == lvl) for lvl in LEVELS_CN},
        "by_unit": dict(Counter(r.alert.unit for r in rs).most_common()),
        "by_state": dict(Counter(r.state for r in rs).most_common()),
        "new": sum(1 for r in rs if r.state == "new"),
        "acknowledged": sum(1 for r in rs if r.alert_id in acked),
        "overdue": sum(1 for r in rs if r.alert_id not in acked and r.due_at is not None and r.due_at < now),
        "escalated": sum(1 for r in rs if r.escalations > 0),
        "handling": per_level,
        "top_categories": Counter(r.alert.category for r in rs if r.alert.category).most_common(5),
        "top_streets": Counter(_street(r.alert.unit, h) for r in rs).most_common(5),
    }


def build(
    records: Sequence[AlertRecord],
    audit: Sequence[AuditEntry],
    period: str,
    day: date,
    zone: tzinfo,
    now: datetime,
    deadlines: Mapping[str, float],
    unit: str | None = None,
    h: units.Hierarchy | None = None,
) -> dict[str, Any]:
    """This period's numbers and the previous period's, for the comparison column."""
    start, end = bounds(period, day, zone)
    pstart, pend = previous(period, start, zone)
    return {
        "period": period,
        "title": TITLES[period],
        "unit": unit or units.DISTRICT,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "current": aggregate(records, audit, start, end, now, deadlines, unit, h),
        "previous": aggregate(records, audit, pstart, pend, now, deadlines, unit, h),
    }


def _lines(rep: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Sections of (heading, rows of (item, this period, previous period))."""
    cur, prev = rep["current"], rep["previous"]

    def pair(key: str) -> list[tuple[str, str, str]]:
        names = list(dict.fromkeys([*cur[key], *prev[key]]))
        return [(LEVELS_CN.get(n, n), str(cur[key].get(n, 0)), str(prev[key].get(n, 0))) for n in names]

    keys = {
        "预警总数": "alerts",
        "未签收": "new",
        "已签收": "acknowledged",
        "超时未签收": "overdue",
        "已升级": "escalated",
    }
    totals = [(label, str(cur[k]), str(prev[k])) for label, k in keys.items()]
    handling = [
        (
            LEVELS_CN[lvl],
            f"{h['ack_within_deadline']}/{h['alerts']} 按时签收 (时限 {h['deadline_hours']} h), "
            f"签收中位 {h['ack_median_hours']} h, 办结中位 {h['resolve_median_hours']} h",
            str(prev["handling"][lvl]["alerts"]),
        )
        for lvl, h in cur["handling"].items()
    ]
    tops = [(f"类别 {c}", str(n), "") for c, n in cur["top_categories"]]
    tops += [(f"街道 {s}", str(n), "") for s, n in cur["top_streets"]]
    return [
        ("总体情况", totals),
        ("按类型", pair("by_type")),
        ("按等级", pair("by_level")),
        ("按单位", pair("by_unit")),
        ("按状态", pair("by_state")),
        ("签收与办结", handling),
        ("重点类别与街道", tops),
    ]


def to_markdown(rep: Mapping[str, Any]) -> str:
    """The report as Markdown (one table per section)."""
    out = [f"# {rep['title']} · {rep['unit']}", "", f"{rep['start']} — {rep['end']}", ""]
    for heading, rows in _lines(rep):
        out += [f"## {heading}", "", "| 项目 | 本期 | 上期 |", "|---|---|---|"]
        out += [f"| {a} | {b} | {c} |" for a, b, c in rows] + [""]
    return "\n".join(out)


def _bars(counts: Mapping[str, int]) -> str:
    top = max(counts.values(), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="420" height="{24 * len(counts) + 4}">']
    for i, (name, n) in enumerate(counts.items()):
        w = 300 * n / top
        parts.append(f'<text x="0" y="{24 * i + 16}">{html.escape(LEVELS_CN.get(name, name))}</text>')
        parts.append(f'<rect x="80" y="{24 * i + 4}" width="{w:.1f}" height="16" fill="#c0392b"/>')
        parts.append(f'<text x="{85 + w:.1f}" y="{24 * i + 16}">{n}</text>')
    return "".join(parts) + "</svg>"


def to_html(rep: Mapping[str, Any]) -> str:
    """The report as one self-contained page with inline SVG bar charts (no script)."""
    body = [f"<h1>{html.escape(rep['title'])} · {html.escape(rep['unit'])}</h1>"]
    body.append(f"<p>{html.escape(rep['start'])} — {html.escape(rep['end'])}</p>")
    body.append(_bars(rep["current"]["by_level"]) + _bars(rep["current"]["by_type"]))
    for heading, rows in _lines(rep):
        cells = "".join(
            f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>" for a, b, c in rows
        )
        body.append(
            f"<h2>{heading}</h2><table border=1 cellpadding=3>"
            f"<tr><th>项目</th><th>本期</th><th>上期</th></tr>{cells}</table>"
        )
    head = f'<!doctype html><html lang="zh"><meta charset="utf-8"><title>{html.escape(rep["title"])}</title>'
    return head + "".join(body) + "</html>\n"


async def read(sink: Any, scan: int = 1000) -> tuple[list[AlertRecord], list[AuditEntry]]:
    """Every alert record of the sink's prefix and its audit stream (`RedisAlertSink`)."""
    ids: list[str] = []
    head = sink.alert_key("")
    async for key in sink.client.scan_iter(match=head + "*", count=scan):
        ids.append(str(key)[len(head) :])
    records = await sink.load_many(ids)
    audit = await sink.audit(count=10**9)
    return list(records), list(audit)


def register(app: typer.Typer) -> None:
    """Add the ``warning report`` command to the CLI app."""

    @app.command("report")
    def report_cmd(
        period: Annotated[str, typer.Option("--period", help="day | week | month")] = "day",
        unit: Annotated[str | None, typer.Option("--unit", help="unit code (default: the district)")] = None,
        day: Annotated[str | None, typer.Option("--date", help="a date in the period (default: today)")] = None,
        out: Annotated[Path | None, typer.Option("--out", help="write report.md and report.html here")] = None,
    ) -> None:
        """日报告 / 周分析 / 月通报 from the alerts and audit lines in Redis."""
        import asyncio

        from rich.console import Console

        from warning import settings as settings_mod
        from warning import thresholds as thresholds_mod
        from warning.sinks.redis import RedisAlertSink
        from warning.units_cli import configured_hierarchy

        if period not in TITLES:
            raise typer.BadParameter("period must be day, week or month")
        cfg = settings_mod.load()
        zone = cfg.zone()
        th = thresholds_mod.load(cfg.thresholds_file).thresholds
        now = datetime.now(zone)
        at = date.fromisoformat(day) if day else now.date()

        async def fetch() -> tuple[list[AlertRecord], list[AuditEntry]]:
            sink = RedisAlertSink.from_url(cfg.redis_url, prefix=cfg.redis_prefix)
            try:
                return await read(sink)
            finally:
                await sink.close()

        records, audit = asyncio.run(fetch())
        rep = build(
            records,
            audit,
            period,
            at,
            zone,
            now,
            {str(k): v for k, v in th.lifecycle.ack_deadline_seconds.items()},
            unit,
            configured_hierarchy(cfg),
        )
        md = to_markdown(rep)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / "report.md").write_text(md, encoding="utf-8")
            (out / "report.html").write_text(to_html(rep), encoding="utf-8")
        Console().print(md, markup=False)
