"""Trivial alerting strategies, scored by the same matcher as the detectors (issue 10).

A detector's precision or recall means little alone: the question is what it adds over a
strategy a clerk could run with a spreadsheet. Every baseline here produces ordinary `Alert`s
from the same input events, so `evaluate` scores them exactly as it scores the detectors:

- ``never``: no alerts (the floor every false-alert figure should be read against);
- ``rule_only``: a dynamic alert for (grid, category) on any record with one of a small generic
  keyword list or a headcount >= N, then quiet for a cooldown;
- ``blanket_family`` / ``blanket_nocat``: one district-wide dynamic and one pattern alert per
  day and category family (or with no category); the strict matcher must keep these from
  scoring, which is what they are here to show;
- ``seasonal_naive`` (pattern): on day d, an alert for (street or district, category) when
  yesterday's count, or the same weekday's last week, exceeded its trailing
  mean + k * max(sd, sqrt(mean)), i.e. "what was high recently will be high again".

Lists and parameters come from the evaluator's own evaluation.toml, never from the detectors
or the thresholds file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Final

from warning.analysis.evaluate import EvalConfig, RuleOnlySpec, SeasonalNaiveSpec, Truth, default_config, evaluate
from warning.core import units
from warning.core.calendar import day_date, local_hour_index
from warning.core.events import Alert, Event, Indicator, stable_id
from warning.core.taxonomy import AlertType

if TYPE_CHECKING:
    from warning.core.routing import RoutingRules

BASELINES: Final[tuple[str, ...]] = ("never", "rule_only", "blanket_family", "blanket_nocat", "seasonal_naive")


@dataclass
class Scan:
    """What one pass over the events leaves for the baselines."""

    rule_only: list[Alert] = field(default_factory=list)
    counts: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)  # (unit, category) -> day -> n
    first_day: int | None = None
    last_day: int | None = None
    tz: tzinfo | None = None
    events: int = 0


def _alert(
    kind: str,
    typ: AlertType,
    unit: str,
    at: datetime,
    category: str,
    why: Indicator,
    evidence: tuple[str, ...] = (),
    **details: str,
) -> Alert:
    label = category or "未分类"
    return Alert(
        alert_id=stable_id("baseline", kind, typ, unit, category, at.isoformat()),
        type=typ,
        level="yellow",
        unit=unit,
        subject=f"{unit}/{label}",
        title=f"基线{kind}: {unit} {label}",
        indicators=(why,),
        detector=f"baseline:{kind}@1",
        created_at=at,
        evidence=evidence,
        category=category,
        details={"baseline": kind, **details},
    )


def _rule_hit(ev: Event, spec: RuleOnlySpec) -> Indicator | None:
    if ev.headcount >= spec.headcount:
        return Indicator("headcount", float(ev.headcount), float(spec.headcount), label="人数")
    if any(k in ev.text for k in spec.keywords):
        return Indicator("keyword", 1.0, 1.0, label="关键词")
    return None


def scan(events: Iterable[Event], config: EvalConfig | None = None) -> Scan:
    """One pass: the rule-only alerts as they would fire, and daily counts per street/district x category."""
    spec = (config or default_config()).baselines.rule_only
    cooldown = timedelta(hours=spec.cooldown_hours)
    last_alert: dict[tuple[str, str], datetime] = {}
    out = Scan()
    for ev in events:
        out.events += 1
        day = local_hour_index(ev.occurred_at) // 24
        if out.first_day is None:
            out.first_day, out.tz = day, ev.occurred_at.tzinfo
        out.last_day = day if out.last_day is None else max(out.last_day, day)
        for unit in (ev.location.street, units.DISTRICT):
            series = out.counts.setdefault((unit, ev.category), {})
            series[day] = series.get(day, 0) + 1
        why = _rule_hit(ev, spec)
        key = (ev.location.grid_id, ev.category)
        if why is None or (key in last_alert and ev.occurred_at - last_alert[key] < cooldown):
            continue
        last_alert[key] = ev.occurred_at
        grid = ev.location.grid_id
        out.rule_only.append(_alert("rule_only", "dynamic", grid, ev.occurred_at, ev.category, why, (ev.event_id,)))
    return out


def _midnight(day: int, tz: tzinfo | None) -> datetime:
    return datetime.combine(day_date(day), datetime.min.time(), tzinfo=tz)


def blanket(s: Scan, config: EvalConfig | None = None, with_category: bool = True) -> list[Alert]:
    """One district alert per day, type (dynamic, pattern) and family, or per day and type with no category."""
    if s.first_day is None or s.last_day is None:
        return []
    families = list((config or default_config()).families) if with_category else [""]
    kind = "blanket_family" if with_category else "blanket_nocat"
    why = Indicator("calendar", 1.0, 1.0, label="每日")
    return [
        _alert(kind, typ, units.DISTRICT, _midnight(d, s.tz), fam, why)
        for d in range(s.first_day, s.last_day + 1)
        for typ in ("dynamic", "pattern")
        for fam in families
    ]


def _exceeds(series: dict[int, int], day: int, first: int, spec: SeasonalNaiveSpec) -> float | None:
    """How far `day`'s count was above its trailing bar, or None when it was not (or too little history)."""
    y = series.get(day, 0)
    if y < spec.min_count:
        return None
    hist = [series.get(x, 0) for x in range(max(first, day - spec.trailing_days), day)]
    if len(hist) < spec.min_history_days:
        return None
    mean = sum(hist) / len(hist)
    sd = math.sqrt(sum((h - mean) ** 2 for h in hist) / len(hist))
    bar = mean + spec.k * max(sd, math.sqrt(mean))
    return y - bar if y > bar else None


def seasonal_naive(s: Scan, config: EvalConfig | None = None) -> list[Alert]:
    """Pattern alerts of the naive 'recently high is high again' rule (module docstring)."""
    if s.first_day is None or s.last_day is None:
        return []
    spec = (config or default_config()).baselines.seasonal_naive
    out: list[Alert] = []
    for (unit, category), series in sorted(s.counts.items()):
        quiet_until = s.first_day - 1
        for d in range(s.first_day + 1, s.last_day + 1):
            if d <= quiet_until:
                continue
            base = next(
                (b for b in (d - 1, d - 7) if b >= s.first_day and _exceeds(series, b, s.first_day, spec)), None
            )
            if base is None:
                continue
            quiet_until = d + spec.cooldown_days
            why = Indicator("seasonal_naive", float(series.get(base, 0)), 0.0, label="近期偏高")
            target = day_date(d).isoformat()
            out.append(_alert("seasonal_naive", "pattern", unit, _midnight(d, s.tz), category, why, target_date=target))
    return sorted(out, key=lambda a: (a.created_at, a.alert_id))


def all_baselines(s: Scan, config: EvalConfig | None = None) -> dict[str, list[Alert]]:
    """Every baseline's alerts, by name (the order of `BASELINES`)."""
    return {
        "never": [],
        "rule_only": list(s.rule_only),
        "blanket_family": blanket(s, config, with_category=True),
        "blanket_nocat": blanket(s, config, with_category=False),
        "seasonal_naive": seasonal_naive(s, config),
    }


def score(
    events: Iterable[Event],
    truths: Sequence[Truth],
    streets: int,
    weeks: float,
    config: EvalConfig | None = None,
    desks: Mapping[str, int] | None = None,
    rules: RoutingRules | None = None,
    start: datetime | None = None,
) -> dict[str, dict[str, Any]]:
    """Each baseline's metrics from `evaluate`, by name: one scan of the events, the same matcher
    (and the same probation from `start`)."""
    s = scan(events, config)
    out: dict[str, dict[str, Any]] = {}
    for name, alerts in all_baselines(s, config).items():
        m = evaluate(alerts, truths, streets, weeks, config, desks, rules, start).metrics
        m.pop("rule", None)  # the same for every strategy; the detectors' block carries it
        out[name] = m
    return out
