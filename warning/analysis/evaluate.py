"""Score alerts against the simulator's ground truth: precision, recall, delay, desk load.

The matcher is strict on purpose (issue 10): a lenient one let a district-wide alert per week
with no category score 100 % precision. An alert *can* match an incident when

1. **type**: ``alert.type == truth.type``;
2. **time**: it was created inside the type's window of ``evaluation.toml``
   (``[start - before, min(end + after, start + max_delay)]``); a pattern alert naming a
   ``details.target_date`` (a forecast) may come ``forecast_before`` early but must target a
   day inside the incident's window;
3. **what**: its category is the incident's, or the family of the incident's category
   (``[families]``); an alert with no category matches no categorised incident;
4. **where**: its unit is the incident's unit or inside it (a grid alert inside a street
   incident counts; a street or district alert on a grid incident does not, and a district
   alert matches only district-wide incidents);
5. case and relational: the alert's ``evidence`` shares an event id with the incident (truth
   ``source_refs`` map to ids with ``stable_id(channel, source_ref)`` for every channel, and an
   evidence id is read by its record part, `record_part`: a petition's id also names the visit), or it
   is about the incident's ``case_ref``; then 3 and 4 are not needed. An alert with evidence
   that shares none does not match on place alone.

Matching is one-to-one: alerts, collapsed by ``alert_id`` (a repeat is an update, DESIGN.md §5),
are taken in creation order and each claims the matching, still unclaimed incident whose window
ends first. A second alert on a claimed incident is counted as false (and reported as a
*duplicate*). Truth lines with ``negative: true`` (cases that settled) are never claimed; an
alert that fits only those is false (``alerts_on_negative_cases``). A periodic truth line
spanning many occurrences is split into one incident per occurrence (``[periodic]``).

Precision = matched / alerts, always with its counts (0 alerts: ``0/0``, precision 0);
recall = matched incidents / incidents; delay = the claiming alert's ``created_at`` minus the
incident's start (median and p90 with linear interpolation, as ``numpy.percentile``; negative
for a forecast ahead of the peak); loads per street-week and per duty desk and day (the desks
routing sends each alert to at its level).
"""

from __future__ import annotations

import functools
import json
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from warning.core import units
from warning.core.errors import ImproperlyConfigured
from warning.core.events import Alert, Event, record_part, stable_id
from warning.core.ingest import CHINA_STANDARD_TIME
from warning.core.taxonomy import ALERT_TYPES, CATEGORIES, CHANNELS, LEVELS

if TYPE_CHECKING:
    from warning.core.detectors.pattern import PatternDetector
    from warning.core.routing import RoutingRules

CONFIG_FILE: Final = Path(__file__).with_name("evaluation.toml")


# ---- configuration -----------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowSpec(_Strict):
    """Per-type time window (hours, see evaluation.toml)."""

    before_hours: float = Field(ge=0)
    after_hours: float = Field(ge=0)
    max_delay_hours: float | None = Field(default=None, gt=0)
    max_delay_hours_by_kind: dict[str, float] = Field(default_factory=dict)
    forecast_before_hours: float | None = Field(default=None, ge=0)
    probation_days: float = Field(default=0.0, ge=0)

    def bounds(
        self, start: datetime, end: datetime, forecast: bool = False, kind: str = ""
    ) -> tuple[datetime, datetime]:
        """Earliest and latest creation time of an alert on an incident spanning start..end.

        A forecast (an alert naming the day it warns of) may come `forecast_before_hours` early;
        any other alert claims something about now, so only `before_hours`. An incident kind that
        by its nature cannot show within `max_delay_hours` (a fortnight-long slow rise) has its own.
        """
        hi = end + timedelta(hours=self.after_hours)
        delay = self.max_delay_hours_by_kind.get(kind, self.max_delay_hours)
        if delay is not None:
            hi = min(hi, start + timedelta(hours=delay))
        early = self.forecast_before_hours if forecast and self.forecast_before_hours is not None else self.before_hours
        return start - timedelta(hours=early), hi


class PeriodicSpec(_Strict):
    """How to split a long periodic truth line into occurrences."""

    period_days: int = Field(ge=1)
    length_days: int = Field(ge=1)


class RuleOnlySpec(_Strict):
    """Keyword-or-headcount baseline."""

    keywords: tuple[str, ...]
    headcount: int = Field(ge=1)
    cooldown_hours: float = Field(ge=0)


class SeasonalNaiveSpec(_Strict):
    """Yesterday / same-weekday-last-week exceedance baseline for pattern alerts."""

    k: float = Field(gt=0)
    trailing_days: int = Field(ge=2)
    min_history_days: int = Field(ge=2)
    min_count: int = Field(ge=1)
    cooldown_days: int = Field(ge=0)


class BaselineSpecs(_Strict):
    """The baselines' parameters."""

    rule_only: RuleOnlySpec
    seasonal_naive: SeasonalNaiveSpec


class EvalConfig(_Strict):
    """The evaluator's configuration (evaluation.toml)."""

    window: dict[str, WindowSpec]
    periodic: dict[str, PeriodicSpec] = Field(default_factory=dict)
    families: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    baselines: BaselineSpecs

    @model_validator(mode="after")
    def _check(self) -> EvalConfig:
        missing = [t for t in ALERT_TYPES if t not in self.window]
        unknown = [t for t in self.window if t not in ALERT_TYPES]
        if missing or unknown:
            raise ValueError(
                f"window needs exactly the types {list(ALERT_TYPES)}; missing {missing}, unknown {unknown}"
            )
        seen: dict[str, str] = {}
        for fam, cats in self.families.items():
            if fam in CATEGORIES:
                raise ValueError(f'family "{fam}" is also a category code; pick another name')
            for c in cats:
                if c not in CATEGORIES:
                    raise ValueError(
                        f'Unknown category "{c}" in family "{fam}"; valid options are {sorted(CATEGORIES)}'
                    )
                if c in seen:
                    raise ValueError(f'category "{c}" is in families "{seen[c]}" and "{fam}"; one family each')
                seen[c] = fam
        return self

    def family_of(self, category: str) -> str | None:
        """The family a category belongs to (None when it has none)."""
        return next((f for f, cats in self.families.items() if category in cats), None)


def load_config(path: Path | None = None) -> EvalConfig:
    """Parse and validate the evaluator's TOML (default: the shipped evaluation.toml)."""
    target = path or CONFIG_FILE
    try:
        raw = tomllib.loads(target.read_text(encoding="utf-8"))
        return EvalConfig.model_validate(raw)
    except OSError as exc:
        raise ImproperlyConfigured(f"cannot read evaluator config {target}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ImproperlyConfigured(
            f"{target}: invalid evaluator config:\n{exc}\nOperator action: fix the entries above."
        ) from None


@functools.cache
def default_config() -> EvalConfig:
    """The shipped configuration, loaded once (it is frozen)."""
    return load_config()


# ---- truth -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Truth:
    """One ground-truth incident (a ``truth.jsonl`` line, or one occurrence of a periodic one)."""

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
            category=d.get("category") or None,
            grid_id=d.get("grid_id"),
            source_refs=refs,
            case_ref=d.get("case_ref"),
            expected_level=d.get("expected_level"),
            negative=bool(d.get("negative", False)),
            event_ids=frozenset(stable_id(c, r) for r in refs for c in CHANNELS),
        )


def occurrences(truths: Iterable[Truth], config: EvalConfig | None = None) -> list[Truth]:
    """Truth with every long periodic line split into its occurrences (ids ``<id>#<n>``).

    A weekly market is seven separate peaks; one window over the whole run let a single alert
    per run count as the detection of all of them.
    """
    cfg = config or default_config()
    out: list[Truth] = []
    for t in truths:
        spec = cfg.periodic.get(t.kind)
        if spec is None or t.end - t.start <= timedelta(days=spec.length_days):
            out.append(t)
            continue
        step, length = timedelta(days=spec.period_days), timedelta(days=spec.length_days)
        s, n = t.start, 0
        while s <= t.end:
            out.append(replace(t, incident_id=f"{t.incident_id}#{n}", start=s, end=min(t.end, s + length - _TICK)))
            s, n = s + step, n + 1
    return out


_TICK: Final = timedelta(seconds=1)


# ---- matching ----------------------------------------------------------------------------------


def collapse(alerts: Iterable[Alert]) -> list[Alert]:
    """One alert per alert_id: first created_at, highest level, union of evidence."""
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


def category_ok(a: Alert, t: Truth, config: EvalConfig | None = None) -> bool:
    """Same category, or the family of the incident's category; no category matches nothing categorised."""
    if t.category is None:
        return True
    if not a.category:
        return False
    return a.category == t.category or a.category == (config or default_config()).family_of(t.category)


def unit_ok(a: Alert, t: Truth) -> bool:
    """The alert's unit is the incident's or inside it (a district alert: district incidents only)."""
    return units.within(a.unit, t.unit)


def _target_date(a: Alert) -> date | None:
    raw = a.details.get("target_date") if a.type == "pattern" else None
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        return None


def in_window(a: Alert, t: Truth, config: EvalConfig | None = None) -> bool:
    """Rule 2 of the module docstring."""
    target = _target_date(a)
    lo, hi = (config or default_config()).window[t.type].bounds(t.start, t.end, target is not None, t.kind or "")
    if not lo <= a.created_at <= hi:
        return False
    return target is None or t.start.date() <= target <= t.end.date()


def matches(a: Alert, t: Truth, config: EvalConfig | None = None) -> bool:
    """Can `a` be the detection of `t` (ignoring whether either is already claimed)?"""
    if a.type != t.type or not in_window(a, t, config):
        return False
    if t.type in ("case", "relational"):
        if t.event_ids.intersection(record_part(e) for e in a.evidence):
            return True
        if t.case_ref and t.case_ref in (a.subject, a.details.get("case_ref")):
            return True
        if a.evidence:
            return False
    return category_ok(a, t, config) and unit_ok(a, t)


@dataclass
class Assignment:
    """The one-to-one result: which alert claimed which incident, and why the others did not."""

    claimed: dict[str, str] = field(default_factory=dict)  # alert_id -> incident_id
    detected: dict[str, datetime] = field(default_factory=dict)  # incident_id -> claiming alert time
    duplicates: set[str] = field(default_factory=set)  # fit an incident another alert had claimed
    on_negative: set[str] = field(default_factory=set)  # fit only incidents that settled


def assign(alerts: Sequence[Alert], truths: Sequence[Truth], config: EvalConfig | None = None) -> Assignment:
    """Greedy one-to-one matching in creation order; each alert takes the eligible incident ending first.

    Taking the earliest-ending interval is the classic greedy that maximises matches when alerts
    are points and incidents intervals; it can fall short of the optimum only when unit or
    category rules make two alerts compete for different subsets, which is rare and errs
    against the scored strategy, never for it.
    """
    cfg = config or default_config()
    by_type: dict[str, list[Truth]] = {}
    for t in sorted(truths, key=lambda t: (t.end, t.start, t.incident_id)):
        by_type.setdefault(t.type, []).append(t)
    out = Assignment()
    for a in sorted(alerts, key=lambda a: (a.created_at, a.alert_id)):
        fits = [t for t in by_type.get(a.type, ()) if matches(a, t, cfg)]
        free = next((t for t in fits if not t.negative and t.incident_id not in out.detected), None)
        if free is not None:
            out.claimed[a.alert_id] = free.incident_id
            out.detected[free.incident_id] = a.created_at
        elif any(not t.negative for t in fits):
            out.duplicates.add(a.alert_id)
        elif fits:
            out.on_negative.add(a.alert_id)
    return out


# ---- metrics -----------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class Scope:
    """What the loads are divided by: the district's streets and desks and the days evaluated."""

    streets: int
    weeks: float
    desks: Mapping[str, int] = field(default_factory=dict)  # desk level -> desks in the district

    @property
    def days(self) -> float:
        """Days evaluated."""
        return self.weeks * 7


def _desk_level(feed: str) -> str | None:
    if feed == units.DISTRICT:
        return "district"
    return units.kind(feed) if units.is_unit(feed) else None  # "all" and department feeds are not desks


def desk_load(alerts: Sequence[Alert], scope: Scope, rules: RoutingRules | None = None) -> dict[str, Any]:
    """Alerts per duty desk per day: each alert at its level goes to the desks routing names.

    Per desk level (district, street, community, grid) the mean over that level's desks (the
    district's count from geography.json, else the desks seen), and the busiest single desk.
    """
    from warning.core.routing import RoutingRules, route

    r = rules or RoutingRules()
    per_desk: dict[str, int] = {}
    for a in alerts:
        for feed in route(a, r):
            if _desk_level(feed) is not None:
                per_desk[feed] = per_desk.get(feed, 0) + 1
    days = max(scope.days, 1e-9)
    levels: dict[str, Any] = {}
    for lvl in ("district", "street", "community", "grid"):
        got = {d: n for d, n in per_desk.items() if _desk_level(d) == lvl}
        desks = scope.desks.get(lvl) or len(got) or 1
        levels[lvl] = {
            "desks": desks,
            "deliveries": sum(got.values()),
            "per_desk_day": sum(got.values()) / desks / days,
        }
    busiest = max(sorted(per_desk), key=lambda d: per_desk[d], default=None)
    return {
        "by_level": levels,
        "busiest_desk": busiest,
        "busiest_per_day": per_desk[busiest] / days if busiest else 0.0,
    }


@dataclass
class Evaluation:
    """Metrics plus the match details the report plots."""

    metrics: dict[str, Any]
    alerts: list[Alert]
    truths: list[Truth]
    matched_alerts: set[str]
    detected: dict[str, datetime]  # incident_id -> claiming alert time


def _type_metrics(
    typ: str,
    alerts: Sequence[Alert],
    truths: Sequence[Truth],
    got: Assignment,
    scope: Scope,
    rules: RoutingRules | None,
) -> dict[str, Any]:
    ts = [t for t in truths if t.type == typ and not t.negative]
    al = [a for a in alerts if a.type == typ]
    good = [a for a in al if a.alert_id in got.claimed]
    hits = [t for t in ts if t.incident_id in got.detected]
    delays = [(got.detected[t.incident_id] - t.start).total_seconds() for t in hits]
    claimer = {i: a for a in good for i in (got.claimed[a.alert_id],)}
    level_ok = [t for t in hits if t.expected_level and claimer[t.incident_id].level == t.expected_level]
    load_den = max(scope.streets, 1) * max(scope.weeks, 1e-9)
    status = "ok" if al and ts else ("no alerts" if ts else ("no truth" if al else "no alerts and no truth"))
    return {
        "status": status,
        "alerts": len(al),
        "matched_alerts": len(good),
        "false_alerts": len(al) - len(good),
        "duplicate_alerts": sum(1 for a in al if a.alert_id in got.duplicates),
        "alerts_on_negative_cases": sum(1 for a in al if a.alert_id in got.on_negative),
        "precision": len(good) / len(al) if al else 0.0,
        "precision_counts": f"{len(good)}/{len(al)}",
        "incidents": len(ts),
        "negative_incidents": sum(1 for t in truths if t.type == typ and t.negative),
        "detected": len(hits),
        "recall": _ratio(len(hits), len(ts)),
        "recall_counts": f"{len(hits)}/{len(ts)}",
        "delay_seconds": {"median": percentile(delays, 50), "p90": percentile(delays, 90), "n": len(delays)}
        if delays
        else None,
        "level_exact": _ratio(len(level_ok), sum(1 for t in hits if t.expected_level)),
        "alerts_per_street_week": len(al) / load_den,
        "false_alerts_per_street_week": (len(al) - len(good)) / load_den,
        "desk_load": desk_load(al, scope, rules),
        "by_kind": {
            kind: {"incidents": n, "detected": sum(1 for t in ts if t.kind == kind and t.incident_id in got.detected)}
            for kind, n in sorted(_count(t.kind for t in ts).items())
        },
    }


def evaluate(
    alerts: Iterable[Alert],
    truths: Sequence[Truth],
    streets: int,
    weeks: float,
    config: EvalConfig | None = None,
    desks: Mapping[str, int] | None = None,
    rules: RoutingRules | None = None,
    start: datetime | None = None,
) -> Evaluation:
    """Per-type precision, recall, delay and loads under the strict one-to-one rule (module docstring).

    `start` is the run's first day (`run_start`): a type's first `probation_days` after it are
    not scored, neither alerts nor incidents, for every strategy alike (no detector that learns
    "normal" can know it on day one; NAB's probationary period). None: everything is scored.
    """
    cfg = config or default_config()
    collapsed, split = _after_probation(collapse(alerts), occurrences(truths, cfg), cfg, start)
    got = assign(collapsed, split, cfg)
    scope = Scope(streets, weeks, dict(desks or {}))
    per_type = {
        typ: _type_metrics(typ, collapsed, split, got, _probation_scope(scope, cfg, typ, start), rules)
        for typ in ALERT_TYPES
    }
    load_den = max(streets, 1) * max(weeks, 1e-9)
    total_inc = sum(1 for t in split if not t.negative)
    metrics = {
        "streets": streets,
        "weeks": round(weeks, 3),
        "alerts_raw": None,
        "alerts": len(collapsed),
        "matched_alerts": len(got.claimed),
        "precision": len(got.claimed) / len(collapsed) if collapsed else 0.0,
        "precision_counts": f"{len(got.claimed)}/{len(collapsed)}",
        "recall": _ratio(len(got.detected), total_inc),
        "recall_counts": f"{len(got.detected)}/{total_inc}",
        "alerts_per_street_week": len(collapsed) / load_den,
        "false_alerts_per_street_week": (len(collapsed) - len(got.claimed)) / load_den,
        "desk_load": desk_load(collapsed, scope, rules),
        "by_type": per_type,
        "rule": {
            "matching": "one-to-one; type, window, category or family, unit inside the incident's (evaluate.py)",
            "window_hours": {t: w.model_dump() for t, w in cfg.window.items()},
            "families": {f: list(c) for f, c in cfg.families.items()},
            "periodic": {k: v.model_dump() for k, v in cfg.periodic.items()},
        },
    }
    return Evaluation(metrics, collapsed, split, set(got.claimed), got.detected)


def _after_probation(
    alerts: list[Alert], truths: list[Truth], cfg: EvalConfig, start: datetime | None
) -> tuple[list[Alert], list[Truth]]:
    if start is None:
        return alerts, truths

    def cutoff(typ: str) -> datetime:
        return start + timedelta(days=cfg.window[typ].probation_days)

    return [a for a in alerts if a.created_at >= cutoff(a.type)], [t for t in truths if t.start >= cutoff(t.type)]


def _probation_scope(scope: Scope, cfg: EvalConfig, typ: str, start: datetime | None) -> Scope:
    """The type's loads are per street-week of the period it is scored on."""
    days = cfg.window[typ].probation_days if start is not None else 0.0
    return Scope(scope.streets, max(scope.weeks - days / 7, 1e-9), scope.desks)


def run_start(truth_dir: Path) -> datetime | None:
    """The run's first day (manifest.json ``date_range.start``, midnight Beijing time), if known."""
    manifest = truth_dir / "manifest.json"
    if not manifest.exists():
        return None
    first = json.loads(manifest.read_text(encoding="utf-8"))["date_range"]["start"]
    return datetime.fromisoformat(first).replace(tzinfo=CHINA_STANDARD_TIME)


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


def desk_counts(truth_dir: Path) -> dict[str, int]:
    """Desks per level from geography.json (empty when there is none: loads use the desks seen)."""
    geo = truth_dir / "geography.json"
    if not geo.exists():
        return {}
    streets = json.loads(geo.read_text(encoding="utf-8"))["streets"]
    communities = [c for s in streets for c in s.get("communities", ())]
    return {
        "district": 1,
        "street": len(streets),
        "community": len(communities),
        "grid": sum(len(c.get("grids", ())) for c in communities),
    }


# ---- pattern forecasts: rolling-origin accuracy, interval coverage, peak weeks ---------------
#
# The pattern detector is replayed in event-time order exactly as the shells run it; whenever a
# key rolls over to a new day (its first event of that day: the closed day has just been
# learned, nothing of the new day is in the model) its pure ``forecast`` is taken for the next
# `horizon` days. Horizon h is counted from the last closed day (the origin): h = 1 is the day
# that has just begun. Every number below uses only what was known at the origin.
#
# Baseline: the seasonal naive forecast, the most recent observed value of the same weekday
# (``y[origin + h - 7 * ceil(h / 7)]``: last week's value for h <= 7, the week before for
# 8..14). MASE here is the out-of-sample scaled error ``sum |y - f| / sum |y - naive|`` over the
# same points (Hyndman & Koehler's MASE with the benchmark's errors as the scale): below 1
# means the detector beats the baseline.

FORECAST_BUCKETS: Final[tuple[str, ...]] = ("1", "7", "14", "all")


def seasonal_naive(
    series: Mapping[int, int], origin: int, horizon: int, period: int = 7, first: int | None = None
) -> int | None:
    """Seasonal naive forecast of day ``origin + horizon``: the latest same-phase day <= origin.

    `series` maps day numbers to counts (a day missing from it counts as 0: no events). Days
    before `first` (default: the smallest key) were not observed, so they give ``None``.
    """
    if horizon < 1 or period < 1:
        raise ValueError(f"horizon and period must be >= 1, got {horizon}, {period}")
    day = origin + horizon - period * math.ceil(horizon / period)
    if first is None:
        if not series:
            return None
        first = min(series)
    if day < first:
        return None
    return series.get(day, 0)


def mase(actual: Sequence[float], predicted: Sequence[float], naive: Sequence[float]) -> float | None:
    """``sum|actual - predicted| / sum|actual - naive|``; None when the baseline is perfect."""
    _same_length(actual, predicted, naive)
    den = sum(abs(a - n) for a, n in zip(actual, naive, strict=True))
    if den == 0:
        return None
    return sum(abs(a - p) for a, p in zip(actual, predicted, strict=True)) / den


def mape(actual: Sequence[float], predicted: Sequence[float]) -> float | None:
    """Mean absolute percentage error over the points with ``actual > 0`` (None if there are none)."""
    _same_length(actual, predicted)
    errs = [abs(a - p) / a for a, p in zip(actual, predicted, strict=True) if a > 0]
    return sum(errs) / len(errs) if errs else None


def coverage(actual: Sequence[float], lower: Sequence[float], upper: Sequence[float]) -> float | None:
    """Share of points with ``lower <= actual <= upper`` (None for no points)."""
    _same_length(actual, lower, upper)
    if not actual:
        return None
    return sum(1 for a, lo, hi in zip(actual, lower, upper, strict=True) if lo <= a <= hi) / len(actual)


def _same_length(*seqs: Sequence[float]) -> None:
    if len({len(s) for s in seqs}) > 1:
        raise ValueError(f"series of different lengths: {[len(s) for s in seqs]}")


def sum_interval(
    means: Sequence[float], dispersions: Sequence[float], interval: float, shared_above: float | None = None
) -> tuple[float, float]:
    """Normal-approximation interval of a sum of NB days (variance mu + alpha mu^2 each).

    Daily bounds do not add up; a week or a district total is large enough for the normal
    approximation. Days are independent unless `shared_above` is given: then each day's
    dispersion beyond it (the part the detector adds for horizons past day 1, a drifting
    level) is one error shared by all the days, as a level error is, so its standard
    deviations add instead of its variances.
    """
    from statistics import NormalDist

    _same_length(means, dispersions)
    total = sum(means)
    if shared_above is None:
        var = sum(m + a * m * m for m, a in zip(means, dispersions, strict=True))
    else:
        own = sum(m + min(a, shared_above) * m * m for m, a in zip(means, dispersions, strict=True))
        common = sum(math.sqrt(max(0.0, a - shared_above)) * m for m, a in zip(means, dispersions, strict=True))
        var = own + common * common
    sd = math.sqrt(var)
    z = NormalDist().inv_cdf(0.5 + interval / 2.0)
    return max(0.0, total - z * sd), total + z * sd


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    """One forecast of one (unit, category) and target day, as issued at `origin`."""

    scope: str  # "street" or "district"
    unit: str
    category: str
    origin: int  # local epoch day of the last closed day
    horizon: int  # target day = origin + horizon
    mean: float
    lower: int
    upper: int
    dispersion: float

    @property
    def target(self) -> int:
        """Local epoch day forecast."""
        return self.origin + self.horizon


@dataclass
class ForecastRun:
    """Everything a rolling-origin replay produced: forecasts, the actual counts, the alerts."""

    points: list[ForecastPoint]
    counts: dict[tuple[str, str], dict[int, int]]  # (unit or "district", category) -> day -> count
    first_day: int
    last_day: int
    alerts: list[Alert]
    interval: float
    horizon: int
    strides: dict[str, int]
    events: int = 0


def rolling_forecasts(
    events: Iterable[Event],
    detectors: Sequence[PatternDetector],
    horizon: int = 14,
    strides: Mapping[str, int] | None = None,
) -> ForecastRun:
    """Replay `events` through the pattern detectors, forecasting at each key's day rollover.

    `strides` (per scope, default street 5 / district 1) forecasts only on every n-th day
    counted from the first event's day: a street forecast costs ~40 ms, a year of daily
    origins for 17 streets minutes. A stride coprime with 7 rotates the origin's weekday.
    Categories with fewer than the detector's ``min_history_days`` learned days are skipped
    (the detector does not alert on them either).
    """
    from warning.core.calendar import day_date, local_hour_index

    strides = {"street": 5, "district": 1, **(strides or {})}
    from warning.core.detectors.pattern import PatternParams

    states: dict[str, dict[str, Any]] = {d.name: {} for d in detectors}
    counts: dict[tuple[str, str], dict[int, int]] = {}
    points: list[ForecastPoint] = []
    alerts: list[Alert] = []
    first: int | None = None
    last = 0
    n = 0
    interval = 0.9
    for det in detectors:
        p = det.params or PatternParams()
        interval = p.interval
    for ev in events:
        n += 1
        day = local_hour_index(ev.occurred_at) // 24
        first = day if first is None else first
        last = max(last, day)
        for key in (ev.location.street, units.DISTRICT):
            series = counts.setdefault((key, ev.category), {})
            series[day] = series.get(day, 0) + 1
        for det in detectors:
            p = det.params or PatternParams()
            scope = p.scope
            table = states[det.name]
            k = det.key(ev)
            old = table.get(k) or det.init_state()
            new, found = det.step(old, ev, ev.occurred_at)
            table[k] = new
            alerts.extend(found)
            if old["day"] is None or new["day"] == old["day"] or (new["day"] - first) % strides[scope]:
                continue
            origin = new["day"] - 1
            ready = {cat for cat, c in new["c"].items() if c["n"] >= p.min_history_days}
            for r in det.forecast(new, day_date(new["day"]), horizon, unit=k):
                if r.category in ready:
                    h = (r.day - day_date(origin)).days
                    points.append(
                        ForecastPoint(scope, k, r.category, origin, h, r.forecast, r.lower, r.upper, r.dispersion)
                    )
    return ForecastRun(
        points=points,
        counts=counts,
        first_day=first if first is not None else 0,
        last_day=last,
        alerts=alerts,
        interval=interval,
        horizon=horizon,
        strides=dict(strides),
        events=n,
    )


def _score(
    actual: list[float], pred: list[float], naive: list[float], lower: list[float], upper: list[float]
) -> dict[str, Any]:
    n = len(actual)
    return {
        "n": n,
        "mae": sum(abs(a - p) for a, p in zip(actual, pred, strict=True)) / n if n else None,
        "mae_naive": sum(abs(a - b) for a, b in zip(actual, naive, strict=True)) / n if n else None,
        "mase": mase(actual, pred, naive),
        "mape": mape(actual, pred),
        "mape_naive": mape(actual, naive),
        "bias": sum(p - a for a, p in zip(actual, pred, strict=True)) / n if n else None,
        "coverage": coverage(actual, lower, upper),
        "mean_actual": sum(actual) / n if n else None,
        "mean_width": sum(hi - lo for lo, hi in zip(lower, upper, strict=True)) / n if n else None,
    }


class _Acc:
    """Points of one table row, accumulated in parallel lists."""

    def __init__(self) -> None:
        self.cols: tuple[list[float], ...] = ([], [], [], [], [])

    def add(self, actual: float, pred: float, naive: float, lower: float, upper: float) -> None:
        for col, v in zip(self.cols, (actual, pred, naive, lower, upper), strict=True):
            col.append(v)

    def score(self) -> dict[str, Any]:
        return _score(*self.cols)


def forecast_metrics(run: ForecastRun) -> dict[str, Any]:
    """Accuracy per scope (street x category, district x category, district total), daily by
    horizon bucket (1, 7, 14 days ahead and all of 1..horizon) and weekly sums (days 1-7 and
    8-14 after the origin, against the last observed week)."""
    daily: dict[tuple[str, str], _Acc] = {}
    weekly: dict[tuple[str, str], _Acc] = {}
    # (scope, unit, category, origin) -> {horizon: point}
    paths: dict[tuple[str, str, str, int], dict[int, ForecastPoint]] = {}
    for pt in run.points:
        if pt.target > run.last_day:
            continue
        series = run.counts.get((pt.unit, pt.category), {})
        naive = seasonal_naive(series, pt.origin, pt.horizon, first=run.first_day)
        if naive is None:
            continue
        paths.setdefault((pt.scope, pt.unit, pt.category, pt.origin), {})[pt.horizon] = pt
        y = series.get(pt.target, 0)
        for bucket in (str(pt.horizon), "all"):
            if bucket in FORECAST_BUCKETS:
                daily.setdefault((pt.scope, bucket), _Acc()).add(y, pt.mean, naive, pt.lower, pt.upper)
    # district total: sum the categories of each district origin and horizon
    totals: dict[int, dict[int, list[ForecastPoint]]] = {}
    for (scope, _unit, _cat, origin), path in paths.items():
        if scope == "district":
            for h, pt in path.items():
                totals.setdefault(origin, {}).setdefault(h, []).append(pt)
    district_series = _total_series(run)
    for origin, by_h in totals.items():
        for h, pts in by_h.items():
            naive = seasonal_naive(district_series, origin, h, first=run.first_day)
            if naive is None:
                continue
            lo, hi = sum_interval([p.mean for p in pts], [p.dispersion for p in pts], run.interval)
            y = district_series.get(origin + h, 0)
            for bucket in (str(h), "all"):
                if bucket in FORECAST_BUCKETS:
                    daily.setdefault(("district_total", bucket), _Acc()).add(y, sum(p.mean for p in pts), naive, lo, hi)
    # weekly sums
    for (scope, unit, cat, origin), path in paths.items():
        series = run.counts.get((unit, cat), {})
        _add_weeks(weekly, scope, path, series, origin, run)
    for origin, by_h in totals.items():
        merged = {
            h: ForecastPoint(
                "district_total",
                units.DISTRICT,
                "",
                origin,
                h,
                sum(p.mean for p in pts),
                0,
                0,
                _merged_dispersion(pts),
            )
            for h, pts in by_h.items()
        }
        _add_weeks(weekly, "district_total", merged, district_series, origin, run)
    scopes = ("street", "district", "district_total")
    return {
        "method": (
            "rolling origin: forecasts issued at each key's day rollover from the state learned up to the "
            "closed day; baseline seasonal naive (same weekday, latest observed week); MASE = sum|y-f| / "
            "sum|y-naive| over the same points; MAPE over days with y > 0; coverage of the "
            f"{run.interval:.0%} interval (sums: normal approximation of independent NB days)"
        ),
        "interval": run.interval,
        "horizon_days": run.horizon,
        "origin_stride_days": run.strides,
        "events": run.events,
        "days": run.last_day - run.first_day + 1,
        "daily": {
            s: {b: daily[(s, b)].score() for b in FORECAST_BUCKETS if (s, b) in daily}
            for s in scopes
            if any((s, b) in daily for b in FORECAST_BUCKETS)
        },
        "weekly": {
            s: {b: weekly[(s, b)].score() for b in ("week1", "week2") if (s, b) in weekly}
            for s in scopes
            if any((s, b) in weekly for b in ("week1", "week2"))
        },
    }


def _total_series(run: ForecastRun) -> dict[int, int]:
    out: dict[int, int] = {run.first_day: 0}
    for (unit, _cat), series in run.counts.items():
        if unit == units.DISTRICT:
            for d, y in series.items():
                out[d] = out.get(d, 0) + y
    return out


def _merged_dispersion(pts: Sequence[ForecastPoint]) -> float:
    """Alpha of one NB with the same mean and variance as the sum of `pts`."""
    m = sum(p.mean for p in pts)
    var = sum(p.mean + p.dispersion * p.mean * p.mean for p in pts)
    return max(0.0, (var - m) / (m * m)) if m > 0 else 0.0


def _add_weeks(
    acc: dict[tuple[str, str], _Acc],
    scope: str,
    path: Mapping[int, ForecastPoint],
    series: Mapping[int, int],
    origin: int,
    run: ForecastRun,
) -> None:
    if origin - 6 < run.first_day:
        return
    naive = float(sum(series.get(origin - i, 0) for i in range(7)))
    for name, hs in (("week1", range(1, 8)), ("week2", range(8, 15))):
        pts = [path.get(h) for h in hs]
        if any(p is None for p in pts) or origin + hs[-1] > run.last_day:
            continue
        ok = [p for p in pts if p is not None]
        base = path[1].dispersion if 1 in path else None
        lo, hi = sum_interval([p.mean for p in ok], [p.dispersion for p in ok], run.interval, base)
        y = float(sum(series.get(origin + h, 0) for h in hs))
        acc.setdefault((scope, name), _Acc()).add(y, sum(p.mean for p in ok), naive, lo, hi)


def peak_week_hits(truths: Iterable[Truth], alerts: Iterable[Alert]) -> dict[str, Any]:
    """Were the injected seasonal peaks forecast in the right week, and how far ahead?

    A pattern incident is *hit* when a peak alert (``details.kind == "peak"``) for a unit inside
    the incident's, of its category or family, targets a day inside the incident's window; its
    lead is the incident start minus the first such alert's creation (positive: warned before
    the peak period began). ``detected``: any pattern alert that `matches` (including a
    same-day exceedance; not one-to-one), for comparison.
    """
    pattern_alerts = [a for a in alerts if a.type == "pattern"]
    rows: list[dict[str, Any]] = []
    for t in truths:
        if t.type != "pattern" or t.negative:
            continue
        first_day, last_day = t.start.date().isoformat(), t.end.date().isoformat()
        peaks = sorted(
            (
                a
                for a in pattern_alerts
                if a.details.get("kind") == "peak"
                and first_day <= str(a.details.get("target_date", "")) <= last_day
                and category_ok(a, t)
                and unit_ok(a, t)
            ),
            key=lambda a: a.created_at,
        )
        loose = [a.created_at for a in pattern_alerts if matches(a, t)]
        lead = (t.start - peaks[0].created_at).total_seconds() / 86_400 if peaks else None
        rows.append(
            {
                "incident_id": t.incident_id,
                "kind": t.kind,
                "unit": t.unit,
                "category": t.category,
                "start": first_day,
                "end": last_day,
                "hit": bool(peaks),
                "peak_alerts": len(peaks),
                "first_alert": peaks[0].created_at.isoformat() if peaks else None,
                "first_target": peaks[0].details.get("target_date") if peaks else None,
                "lead_days": round(lead, 2) if lead is not None else None,
                "detected": bool(loose),
                "first_any_alert": min(loose).isoformat() if loose else None,
            }
        )
    leads = [r["lead_days"] for r in rows if r["lead_days"] is not None]
    return {
        "incidents": len(rows),
        "hits": sum(1 for r in rows if r["hit"]),
        "hit_rate": _ratio(sum(1 for r in rows if r["hit"]), len(rows)),
        "hits_before_start": sum(1 for v in leads if v > 0),
        "lead_days_median": percentile(leads, 50) if leads else None,
        "detected": sum(1 for r in rows if r["detected"]),
        "incidents_detail": rows,
    }


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


CJK_FONTS: Final[tuple[str, ...]] = ("Noto Sans CJK SC", "Noto Sans CJK JP")


def use_cjk_font() -> str | None:
    """Put an installed CJK font first so Chinese labels render; None (default font) if there is none.

    Debian's fonts-noto-cjk provides them (deploy/local/install-browser.sh installs it); without
    it plots keep the default font and Chinese glyphs show as boxes, which is no reason to fail.
    """
    import matplotlib
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    name = next((n for n in CJK_FONTS if n in installed), None)
    if name is not None:
        current = [f for f in matplotlib.rcParams["font.sans-serif"] if f != name]
        matplotlib.rcParams["font.sans-serif"] = [name, *current]
        matplotlib.rcParams["font.family"] = "sans-serif"
        matplotlib.rcParams["axes.unicode_minus"] = False  # CJK fonts lack U+2212
    return name


def _latest_band(run: ForecastRun, unit: str, category: str | None) -> dict[int, tuple[float, float, float]]:
    """Per target day, the forecast (mean, lower, upper) issued most recently before it.

    ``category=None`` sums the district's categories with `sum_interval` (independent categories).
    """
    best: dict[int, int] = {}
    group: dict[tuple[int, int], list[ForecastPoint]] = {}
    for p in run.points:
        if p.unit != unit or (category is not None and p.category != category):
            continue
        group.setdefault((p.target, p.horizon), []).append(p)
        if p.target not in best or p.horizon < best[p.target]:
            best[p.target] = p.horizon
    out: dict[int, tuple[float, float, float]] = {}
    for target, h in best.items():
        pts = group[(target, h)]
        if category is None:
            lo, hi = sum_interval([p.mean for p in pts], [p.dispersion for p in pts], run.interval)
        else:
            lo, hi = float(pts[0].lower), float(pts[0].upper)
        out[target] = (sum(p.mean for p in pts), lo, hi)
    return out


def busiest_street_series(run: ForecastRun) -> tuple[str, str] | None:
    """The (street, category) with the most events among those that have forecasts."""
    have = {(p.unit, p.category) for p in run.points if p.scope == "street"}
    if not have:
        return None
    return max(sorted(have), key=lambda k: sum(run.counts.get(k, {}).values()))


def plot_forecast(run: ForecastRun, path: Path) -> bool:
    """Forecast band vs actual for the district total and the busiest street x category, 春节 marked."""
    from warning.core.calendar import Calendar, day_date
    from warning.core.taxonomy import category_label

    panels: list[tuple[str, str, str | None]] = []
    if any(p.unit == units.DISTRICT for p in run.points):
        panels.append(("全区合计 district total", units.DISTRICT, None))
    busy = busiest_street_series(run)
    if busy is not None:
        panels.append((f"{busy[0]} {category_label(busy[1])} ({busy[1]})", busy[0], busy[1]))
    if not panels:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    use_cjk_font()
    cal = Calendar()
    days = range(run.first_day, run.last_day + 1)
    spring = [d for d in days if cal.holiday_name(day_date(d)).startswith("春节")]
    fig, axes = plt.subplots(len(panels), 1, figsize=(14, 4 * len(panels)), squeeze=False)
    for ax, (title, unit, cat) in zip(axes[:, 0], panels, strict=True):
        band = _latest_band(run, unit, cat)
        xs = sorted(band)
        dts = [datetime.combine(day_date(d), datetime.min.time()) for d in xs]
        ax.fill_between(
            _date_num(dts),
            [band[d][1] for d in xs],
            [band[d][2] for d in xs],
            alpha=0.3,
            step="mid",
            label=f"{run.interval:.0%} 预测区间 interval",
        )
        ax.plot(_date_num(dts), [band[d][0] for d in xs], linewidth=1, label="预测 forecast")
        series = _total_series(run) if cat is None else run.counts.get((unit, cat), {})
        all_dts = [datetime.combine(day_date(d), datetime.min.time()) for d in days]
        ax.plot(
            _date_num(all_dts), [series.get(d, 0) for d in days], ".", markersize=3, color="black", label="实际 actual"
        )
        for d in spring:
            x = _date_num([datetime.combine(day_date(d), datetime.min.time())])[0]
            ax.axvspan(x, x + 1, color="red", alpha=0.15, linewidth=0)
        if spring:
            x0 = _date_num([datetime.combine(day_date(spring[0]), datetime.min.time())])[0]
            ax.annotate("春节", (x0, ax.get_ylim()[1]), color="red", va="top", ha="left")
        ax.xaxis_date()
        ax.set_title(f"{title}: 每日数量与最近一次预测 (daily count vs latest forecast)")
        ax.set_ylabel("起/日 per day")
        ax.legend(loc="upper left", fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def forecast_table_rows(block: Mapping[str, Any]) -> list[list[str]]:
    """The pattern-forecast table (header first) shared by the Markdown and HTML reports."""
    rows = [
        [
            "scope",
            "resolution",
            "horizon",
            "n",
            "mean actual",
            "MAE",
            "naive MAE",
            "MASE",
            "MAPE",
            "naive MAPE",
            "coverage",
        ]
    ]
    for res in ("daily", "weekly"):
        for scope, by in block.get(res, {}).items():
            for bucket, m in by.items():
                rows.append(
                    [
                        scope,
                        res,
                        bucket if res == "weekly" else f"{bucket} d",
                        str(m["n"]),
                        _fmt(m["mean_actual"]),
                        _fmt(m["mae"]),
                        _fmt(m["mae_naive"]),
                        _fmt(m["mase"]),
                        _fmt(m["mape"], True),
                        _fmt(m["mape_naive"], True),
                        _fmt(m["coverage"], True),
                    ]
                )
    return rows


def _counts_pct(counts: str, value: float | None) -> str:
    return f"{counts} ({value:.1%})" if value is not None else f"{counts} (no incidents)"


def _delay(d: dict[str, Any] | None, key: str) -> str:
    """Hours for short delays, days for long ones (a pattern forecast's lead is negative)."""
    if d is None:
        return "-"
    secs = float(d[key])
    return f"{secs / 86_400:.1f} d" if abs(secs) >= 2 * 86_400 else f"{secs / 3600:.1f} h"


def _row(typ: str, strategy: str, m: Mapping[str, Any]) -> list[str]:
    load = m["desk_load"]
    return [
        typ,
        strategy,
        str(m["alerts"]),
        _counts_pct(m["precision_counts"], m["precision"]),
        _counts_pct(m["recall_counts"], m["recall"]),
        _delay(m["delay_seconds"], "median"),
        _delay(m["delay_seconds"], "p90"),
        f"{m['false_alerts_per_street_week']:.3f}",
        f"{load['by_level']['street']['per_desk_day']:.2f}",
        f"{load['busiest_per_day']:.2f}",
        str(m["duplicate_alerts"]),
    ]


TABLE_HEADER: Final = [
    "type",
    "strategy",
    "alerts",
    "precision (matched/alerts)",
    "recall (found/incidents)",
    "delay median",
    "delay p90",
    "false/street/week",
    "per street desk/day",
    "busiest desk/day",
    "duplicates",
]

# which warning types each baseline speaks to (never: every type that has incidents)
BASELINE_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "rule_only": ("dynamic",),
    "blanket_family": ("dynamic", "pattern"),
    "blanket_nocat": ("dynamic", "pattern"),
    "seasonal_naive": ("pattern",),
}


def table_rows(metrics: Mapping[str, Any]) -> list[list[str]]:
    """Detectors, and beside them the baselines of ``metrics["baselines"]``, one row per type x strategy."""
    rows = [list(TABLE_HEADER)]
    baselines: Mapping[str, Any] = metrics.get("baselines") or {}
    for typ, m in metrics["by_type"].items():
        beside = [
            (name, bm["by_type"][typ])
            for name, bm in baselines.items()
            if typ in BASELINE_TYPES.get(name, ()) or (name == "never" and m["incidents"])
        ]
        if m["status"] == "no alerts and no truth" and not any(b["alerts"] for _, b in beside):
            continue
        rows.append(_row(typ, "detectors", m))
        rows += [_row(typ, name, b) for name, b in beside]
    return rows


def write_report(
    ev: Evaluation,
    out: Path,
    data_dir: Path | None,
    input_names: Sequence[str],
    forecast_run: ForecastRun | None = None,
) -> list[Path]:
    """metrics.json, report.md, report.html and PNG plots under `out`; returns the files written.

    With `forecast_run` (and ``ev.metrics["pattern_forecast"]``) the reports get the pattern
    forecast tables and the forecast-band plot.
    """
    import html

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "metrics.json"]
    (out / "metrics.json").write_text(json.dumps(ev.metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    images: list[tuple[str, str]] = []
    if data_dir is not None and plot_volumes(daily_volumes(data_dir, input_names), out / "volumes.png"):
        images.append(("volumes.png", "Daily volumes by category; holidays shaded, Spring Festival in red"))
    if plot_timeline(ev, out / "timeline.png"):
        images.append(("timeline.png", "Alerts vs truth"))
    fc_images: list[tuple[str, str]] = []
    if forecast_run is not None and plot_forecast(forecast_run, out / "forecast.png"):
        fc_images.append(
            ("forecast.png", "Pattern forecast band vs actual (district total, busiest street x category)")
        )
    written += [out / name for name, _ in (*images, *fc_images)]
    fc_block = ev.metrics.get("pattern_forecast")
    fc_rows = forecast_table_rows(fc_block) if fc_block else []
    peak_rows: list[list[str]] = []
    if fc_block and fc_block.get("peak_weeks"):
        peak_rows = [["incident", "kind", "unit", "category", "window", "hit", "lead (days)", "first target"]]
        peak_rows += [
            [
                str(r["incident_id"]),
                str(r["kind"]),
                str(r["unit"]),
                str(r["category"]),
                f"{r['start']}..{r['end']}",
                "yes" if r["hit"] else "no",
                _fmt(r["lead_days"]),
                str(r["first_target"] or ""),
            ]
            for r in fc_block["peak_weeks"]["incidents_detail"]
        ]
    rows = table_rows(ev.metrics)
    m = ev.metrics
    summary = (
        f"{m['alerts']} alerts (after collapsing repeats), "
        f"precision {_counts_pct(m['precision_counts'], m['precision'])}, "
        f"recall {_counts_pct(m['recall_counts'], m['recall'])}, {m['alerts_per_street_week']:.3f} alerts and "
        f"{m['false_alerts_per_street_week']:.3f} false alerts per street per week "
        f"({m['streets']} streets, {m['weeks']:.1f} weeks)."
    )
    missed = [t for t in ev.truths if not t.negative and t.incident_id not in ev.detected][:20]
    md = ["# Early-warning evaluation", "", summary, "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    md += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    md += [
        "",
        "Matching rule (`warning/analysis/evaluate.py`, windows in `evaluation.toml`): one-to-one; same type, inside "
        "the type's window, same category or its family, alert unit inside the incident's; evidence or case_ref "
        "for case and relational. Baselines (if any) are scored by the same rule on the same data.",
        "",
    ]
    for name, caption in images:
        md += [f"![{caption}]({name})", ""]
    if fc_rows and fc_block:
        md += ["## Pattern forecast (规律预警, rolling origin)", "", str(fc_block["method"]), ""]
        md += ["| " + " | ".join(fc_rows[0]) + " |", "|" + "---|" * len(fc_rows[0])]
        md += ["| " + " | ".join(r) + " |" for r in fc_rows[1:]]
        md += [""]
        if peak_rows:
            pw = fc_block["peak_weeks"]
            md += [
                f"Peak weeks: {pw['hits']}/{pw['incidents']} injected seasonal peaks had a peak alert targeting "
                f"a day inside them; {pw['hits_before_start']} before the peak period began.",
                "",
                "| " + " | ".join(peak_rows[0]) + " |",
                "|" + "---|" * len(peak_rows[0]),
            ]
            md += ["| " + " | ".join(r) + " |" for r in peak_rows[1:]]
            md += [""]
        for name, caption in fc_images:
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
    if fc_rows and fc_block:
        imgs += f"<h2>Pattern forecast (规律预警, rolling origin)</h2><p>{html.escape(str(fc_block['method']))}</p>"
        for table in (fc_rows, peak_rows):
            if table:
                imgs += (
                    "<table>"
                    + "".join(
                        "<tr>"
                        + "".join(
                            f"<{'th' if i == 0 else 'td'}>{html.escape(c)}</{'th' if i == 0 else 'td'}>" for c in r
                        )
                        + "</tr>"
                        for i, r in enumerate(table)
                    )
                    + "</table>"
                )
        imgs += "".join(
            f'<figure><img src="{n}" alt="{html.escape(c)}"><figcaption>{html.escape(c)}</figcaption></figure>'
            for n, c in fc_images
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


def _load_inputs(alerts: Path, truth: Path, config_file: Path | None) -> tuple[list[Alert], list[Truth], EvalConfig]:
    try:
        return read_alerts(alerts), read_truth(truth), load_config(config_file)
    except (OSError, ValueError, KeyError, ImproperlyConfigured) as exc:
        raise typer.BadParameter(f"{type(exc).__name__}: {exc}") from None


def register(app: typer.Typer) -> None:
    """Add the ``warning evaluate`` command to the CLI app."""

    @app.command("evaluate")
    def evaluate_cmd(
        alerts: Annotated[Path, typer.Option("--alerts", help="alerts JSONL from `warning replay`")],
        truth: Annotated[Path, typer.Option("--truth", help="truth.jsonl from `warning simulate`")],
        out: Annotated[Path, typer.Option("--out", help="report directory")] = Path("report"),
        data: Annotated[
            Path | None,
            typer.Option(
                "--data",
                help="input files (default for the volume plot: truth's directory); given explicitly, the "
                "baselines are computed from them and scored beside the detectors, and they are replayed "
                "through the pattern detectors for the forecast section",
            ),
        ] = None,
        json_out: Annotated[Path | None, typer.Option("--json", help="also write the metrics JSON here")] = None,
        config_file: Annotated[
            Path | None, typer.Option("--config", help="evaluator config (default: analysis/evaluation.toml)")
        ] = None,
        baselines: Annotated[bool, typer.Option(help="with --data: score the baselines beside the detectors")] = True,
        forecast: Annotated[
            bool, typer.Option(help="with --data: rolling-origin pattern forecast evaluation (~3 min for a year)")
        ] = True,
        street_stride: Annotated[
            int, typer.Option(min=1, help="forecast section: forecast every n-th day per street (cost)")
        ] = 5,
        streets: Annotated[int | None, typer.Option(help="streets (default: geography.json)")] = None,
        weeks: Annotated[float | None, typer.Option(help="weeks evaluated (default: manifest.json)")] = None,
    ) -> None:
        """Precision, recall, delay and desk load per warning type, beside trivial baselines, with a report."""
        from rich.console import Console
        from rich.table import Table

        from warning import settings as settings_mod
        from warning import thresholds as thresholds_mod
        from warning.simulate.district import file_names

        alert_list, truths, ecfg = _load_inputs(alerts, truth, config_file)
        s, w = period(truth.parent, truths, alert_list)
        cfg = settings_mod.load()
        th = thresholds_mod.load(cfg.thresholds_file).thresholds
        rules = thresholds_mod.routing_rules(th)
        desks = desk_counts(truth.parent)
        start = run_start(truth.parent)
        ev = evaluate(alert_list, truths, streets or s, weeks or w, ecfg, desks, rules, start)
        ev.metrics["alerts_raw"] = len(alert_list)
        names = list(file_names(cfg.topics_dir).values())
        run: ForecastRun | None = None
        if data is not None and baselines:
            from warning.analysis import baselines as baselines_mod
            from warning.analysis import replay

            events = replay.iter_events(data, cfg, th)
            ev.metrics["baselines"] = baselines_mod.score(
                events, truths, streets or s, weeks or w, ecfg, desks, rules, start
            )
        if data is not None and forecast:
            run = _forecast_run(data, street_stride)
            block = forecast_metrics(run)
            block["peak_weeks"] = peak_week_hits(ev.truths, ev.alerts)
            ev.metrics["pattern_forecast"] = block
        files = write_report(ev, out, data or truth.parent, names, run)
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(ev.metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            files.append(json_out)
        rows = table_rows(ev.metrics)
        title = "detectors and baselines, strict one-to-one matching" if "baselines" in ev.metrics else "detectors"
        table = Table(*rows[0], title=title)
        for r in rows[1:]:
            table.add_row(*r)
        Console(width=200).print(table)
        Console(stderr=True).print(f"wrote {', '.join(str(f) for f in files)}")


def _forecast_run(data: Path, street_stride: int) -> ForecastRun:
    """Replay `data` through the street and district pattern detectors, forecasting at rollovers."""
    from warning import settings as settings_mod
    from warning import thresholds as thresholds_mod
    from warning.analysis import replay
    from warning.core.detectors.pattern import PatternDetector

    cfg = settings_mod.load()
    th = thresholds_mod.load(cfg.thresholds_file).thresholds
    cal = th.calendar.params()
    dets = [
        PatternDetector(th.pattern.params("street", cal)),
        PatternDetector(th.pattern.params("district", cal)),
    ]
    return rolling_forecasts(replay.iter_events(data, cfg, th), dets, strides={"street": street_stride})
