"""The operators' thresholds file (TOML): schema, validation, and reload without a restart.

Every detector parameter, routing rule, deadline and calendar lives in one file operators
edit. A bad edit is rejected with the exact key and reason and the running config stays in
force, because a typo at 3 a.m. must never silence the warnings. Core code never sees this
module: shells turn sections into the typed parameter objects detectors take.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from warning.core.calendar import CalendarParams, Period
from warning.core.detectors.case.features import CaseParams
from warning.core.detectors.dynamic import DEFAULT_KEYWORDS, DynamicParams
from warning.core.detectors.pattern import PatternParams
from warning.core.detectors.relational.detector import RelationalParams
from warning.core.detectors.relational.resolve import ResolverParams
from warning.core.detectors.series import ScorerParams
from warning.core.errors import ImproperlyConfigured
from warning.core.ingest import IngestLimits
from warning.core.routing import DEFAULT_DEPARTMENT_CODES, RoutingRules, TargetKind
from warning.core.taxonomy import CATEGORIES, LEVELS, AlertType, Level
from warning.core.units import Hierarchy

DEFAULT_FILE = Path(__file__).with_name("thresholds.toml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestSection(_Section):
    """[ingest]: bounds on input records; beyond them a record is dead-lettered."""

    max_record_bytes: int = Field(default=64 * 1024, gt=0)
    max_text_chars: int = Field(default=4000, gt=0)
    future_tolerance_seconds: float = Field(default=600, ge=0, le=366 * 86400)
    collective_headcount: int = Field(default=5, ge=2)
    earliest_year: int = Field(default=2000, ge=1971, le=2100)
    dead_letter_halt_ratio: float = Field(default=0.5, gt=0, le=1)
    dead_letter_halt_min_messages: int = Field(default=200, ge=1)

    def limits(self, zone: tzinfo | None = None, hierarchy: Hierarchy | None = None) -> IngestLimits:
        """The core's typed view of this section; `zone` and `hierarchy` are the district's (settings)."""
        return IngestLimits(
            max_record_bytes=self.max_record_bytes,
            max_text_chars=self.max_text_chars,
            future_tolerance=timedelta(seconds=self.future_tolerance_seconds),
            collective_headcount=self.collective_headcount,
            earliest_year=self.earliest_year,
            hierarchy=hierarchy,
            **({"zone": zone} if zone is not None else {}),
        )


_DEPT_CODE = r"^[a-z0-9_]{1,16}$"
_SUPPRESS: dict[AlertType, float] = {"dynamic": 3600, "pattern": 86400, "relational": 21600, "case": 21600}
_DEADLINES: dict[Level, float] = {"blue": 86400, "yellow": 14400, "orange": 3600, "red": 0}


class RoutingSection(_Section):
    """[routing]: which desks receive each level, department feeds, dedupe and suppression."""

    blue: tuple[TargetKind, ...] = ("unit", "community")
    yellow: tuple[TargetKind, ...] = ("street",)
    orange: tuple[TargetKind, ...] = ("street", "district")
    red: tuple[TargetKind, ...] = ("district",)
    department_types: tuple[AlertType, ...] = ("relational",)
    default_department: str = Field(default="mtzx", pattern=_DEPT_CODE)
    max_evidence: int = Field(default=50, ge=1, le=1000)
    suppress_seconds: dict[AlertType, float] = Field(default_factory=lambda: dict(_SUPPRESS))
    departments: dict[str, Annotated[str, Field(pattern=_DEPT_CODE)]] = Field(
        default_factory=lambda: dict(DEFAULT_DEPARTMENT_CODES)
    )

    @model_validator(mode="after")
    def _every_department_has_a_code(self) -> RoutingSection:
        missing = sorted({dept for _, dept in CATEGORIES.values()} - set(self.departments))
        if missing:
            raise ValueError(f"[routing.departments] has no feed code for {missing}")
        if any(v < 0 for v in self.suppress_seconds.values()):
            raise ValueError("[routing.suppress_seconds] values must be >= 0")
        return self


class LifecycleSection(_Section):
    """[lifecycle]: acknowledgement deadlines per level before automatic escalation."""

    ack_deadline_seconds: dict[Level, float] = Field(default_factory=lambda: dict(_DEADLINES))

    @model_validator(mode="after")
    def _non_negative(self) -> LifecycleSection:
        if any(v < 0 for v in self.ack_deadline_seconds.values()):
            raise ValueError("[lifecycle.ack_deadline_seconds] values must be >= 0 (0 = never escalate)")
        return self


class DeliverySection(_Section):
    """[delivery]: Redis write retries, replay protection and feed length."""

    retry_base_seconds: float = Field(default=0.2, gt=0)
    retry_cap_seconds: float = Field(default=30.0, gt=0)
    occurrence_ttl_seconds: int = Field(default=35 * 86400, ge=60)
    feed_maxlen: int = Field(default=100_000, ge=100)
    conflict_retries: int = Field(default=20, ge=1)
    # 0 = never trim: the audit stream is the append-only record of who did what
    audit_maxlen: int = Field(default=0, ge=0)
    # retention (`warning alerts archive`): alerts in these states last seen more than this many
    # days ago, and audit lines as old, move to the archive file and then leave Redis
    archive_after_days: int = Field(default=365, ge=1)
    archive_states: tuple[Literal["resolved", "closed"], ...] = ("closed",)


class PeriodEntry(_Section):
    """A named date range: both ends ``MM-DD`` (every year) or both ``YYYY-MM-DD`` (one-off)."""

    name: str = Field(min_length=1)
    start: str
    end: str

    @model_validator(mode="after")
    def _valid(self) -> PeriodEntry:
        Period(self.name, self.start, self.end)  # raises ValueError with the reason
        return self


class CalendarSection(_Section):
    """[calendar]: fishing seasons, campaign periods and holiday windows (dynamic + pattern)."""

    fishing_seasons: tuple[PeriodEntry, ...] = (PeriodEntry(name="捕捞旺季", start="09-16", end="12-31"),)
    campaigns: tuple[PeriodEntry, ...] = ()
    pre_holiday_days: int = Field(default=3, ge=0, le=14)
    post_holiday_days: int = Field(default=2, ge=0, le=14)
    spring_festival_lead_days: int = Field(default=10, ge=0, le=60)
    extra_holidays: tuple[date, ...] = ()

    def params(self) -> CalendarParams:
        """The core's typed view of this section."""
        return CalendarParams(
            fishing_seasons=tuple(Period(p.name, p.start, p.end) for p in self.fishing_seasons),
            campaigns=tuple(Period(p.name, p.start, p.end) for p in self.campaigns),
            pre_holiday_days=self.pre_holiday_days,
            post_holiday_days=self.post_holiday_days,
            spring_festival_lead_days=self.spring_festival_lead_days,
            extra_holidays=tuple(d.isoformat() for d in self.extra_holidays),
        )


_Score = Annotated[float, Field(gt=0, le=1)]


def _bands_increasing(bands: tuple[float, float, float, float], where: str) -> None:
    if list(bands) != sorted(bands):
        raise ValueError(f"[{where}] score_bands must be increasing (blue <= yellow <= orange <= red)")


class SeriesSection(_Section):
    """[dynamic.series]: the `warning score-series` streaming scorer."""

    half_life: float = Field(default=48.0, gt=0)
    min_history: int = Field(default=24, ge=1)
    surprise_scale: float = Field(default=8.0, gt=0)
    alert_score: _Score = 0.5
    learn_clip_sd: float = Field(default=4.0, gt=0)
    direction: Literal["up", "down", "both"] = "both"
    seasonal: bool = True

    def params(self) -> ScorerParams:
        """The core's typed view of this section."""
        return ScorerParams(
            half_life=self.half_life,
            min_history=self.min_history,
            surprise_scale=self.surprise_scale,
            alert_score=self.alert_score,
            learn_clip_sd=self.learn_clip_sd,
            direction=self.direction,
            seasonal=self.seasonal,
        )


class DynamicSection(_Section):
    """[dynamic]: bursts against the learned baseline, slow rises, mass-incident rules."""

    enabled: bool = True
    window_hours: int = Field(default=6, ge=1, le=168)
    min_history_days: float = Field(default=14.0, ge=0)
    half_life_days: float = Field(default=28.0, gt=0)
    shape_half_life_days: float = Field(default=56.0, gt=0)
    shape_prior: float = Field(default=10.0, gt=0)
    min_count: int = Field(default=3, ge=1)
    min_excess: float = Field(default=3.0, ge=0)
    adjust_for_series: bool = True
    surprise_scale: float = Field(default=3.0, gt=0)
    score_bands: tuple[_Score, _Score, _Score, _Score] = (0.5, 0.65, 0.8, 0.95)
    dispersion_prior: float = Field(default=0.5, ge=0)
    dispersion_prior_weight: float = Field(default=5.0, gt=0)
    dispersion_max: float = Field(default=3.0, ge=0)
    grid_level: bool = True
    street_level: bool = True
    cusum_ratio: float = Field(default=2.0, gt=1)
    cusum_threshold: float = Field(default=6.0, gt=0)
    cusum_max_days: float = Field(default=28.0, gt=0)
    cusum_min_rise: float = Field(default=1.0, ge=0)
    cusum_street: bool = False
    mark_min_count: int = Field(default=2, ge=1)
    headcount_threshold: int = Field(default=20, ge=2)
    keywords: dict[str, _Score] = Field(default_factory=lambda: dict(DEFAULT_KEYWORDS))
    multichannel_minutes: int = Field(default=30, ge=1, le=1440)
    multichannel_min_channels: int = Field(default=2, ge=2)
    multichannel_min_reports: int = Field(default=3, ge=2)
    multichannel_score: _Score = 0.65
    multichannel_max_p: float = Field(default=0.03, gt=0, le=1)
    evidence_max: int = Field(default=20, ge=1, le=200)
    rules_alone: bool = False
    mark_headcount: int = Field(default=5, ge=2)
    mark_prior: float = Field(default=0.05, gt=0, lt=1)
    mark_prior_weight: float = Field(default=20.0, gt=0)
    episode_hours: float = Field(default=24.0, ge=0)
    street_spread_share: float = Field(default=0.5, gt=0, le=1)
    max_series: int = Field(default=600, ge=1)
    evict_after_days: int = Field(default=45, ge=1)
    series: SeriesSection = SeriesSection()

    @model_validator(mode="after")
    def _bands(self) -> DynamicSection:
        _bands_increasing(self.score_bands, "dynamic")
        return self

    def params(self, calendar: CalendarParams | None = None) -> DynamicParams:
        """The core's typed view of this section (calendar from [calendar])."""
        return DynamicParams(
            window_hours=self.window_hours,
            min_history_days=self.min_history_days,
            half_life_days=self.half_life_days,
            shape_half_life_days=self.shape_half_life_days,
            shape_prior=self.shape_prior,
            min_count=self.min_count,
            min_excess=self.min_excess,
            adjust_for_series=self.adjust_for_series,
            surprise_scale=self.surprise_scale,
            score_bands=self.score_bands,
            dispersion_prior=self.dispersion_prior,
            dispersion_prior_weight=self.dispersion_prior_weight,
            dispersion_max=self.dispersion_max,
            grid_level=self.grid_level,
            street_level=self.street_level,
            cusum_ratio=self.cusum_ratio,
            cusum_threshold=self.cusum_threshold,
            cusum_max_days=self.cusum_max_days,
            cusum_min_rise=self.cusum_min_rise,
            cusum_street=self.cusum_street,
            mark_min_count=self.mark_min_count,
            headcount_threshold=self.headcount_threshold,
            keywords=tuple(self.keywords.items()),
            multichannel_minutes=self.multichannel_minutes,
            multichannel_min_channels=self.multichannel_min_channels,
            multichannel_min_reports=self.multichannel_min_reports,
            multichannel_score=self.multichannel_score,
            multichannel_max_p=self.multichannel_max_p,
            evidence_max=self.evidence_max,
            max_series=self.max_series,
            evict_after_days=self.evict_after_days,
            rules_alone=self.rules_alone,
            mark_headcount=self.mark_headcount,
            mark_prior=self.mark_prior,
            mark_prior_weight=self.mark_prior_weight,
            episode_hours=self.episode_hours,
            street_spread_share=self.street_spread_share,
            calendar=calendar or CalendarParams(),
        )


class PatternSection(_Section):
    """[pattern]: seasonal forecasts, peak and exceedance alerts."""

    enabled: bool = True
    district_enabled: bool = True
    min_history_days: int = Field(default=28, ge=1)
    horizon_days: int = Field(default=14, ge=1, le=92)
    interval: float = Field(default=0.9, gt=0.5, lt=1)
    level_half_life_days: float = Field(default=56.0, gt=0)
    effect_half_life_days: float = Field(default=365.0, gt=0)
    effect_prior: float = Field(default=5.0, gt=0)
    window_prior: float = Field(default=20.0, gt=0)
    peak_scopes: Literal["district", "both"] = "both"
    dispersion_prior: float = Field(default=0.1, ge=0)
    dispersion_prior_weight: float = Field(default=20.0, gt=0)
    peak_ratio: float = Field(default=1.5, gt=1)
    peak_min_excess: float = Field(default=3.0, ge=0)
    peak_max_score_ratio: float = Field(default=4.0, gt=1)
    peak_min_excess_sd: float = Field(default=2.0, ge=0)
    episode_cooldown_days: int = Field(default=28, ge=0)
    exceed_min_count: int = Field(default=3, ge=1)
    exceed_min_ratio: float = Field(default=2.0, ge=1)
    exceed_consecutive_days: int = Field(default=1, ge=1)
    surprise_scale: float = Field(default=6.0, gt=0)
    score_bands: tuple[_Score, _Score, _Score, _Score] = (0.5, 0.65, 0.8, 0.95)

    @model_validator(mode="after")
    def _checks(self) -> PatternSection:
        _bands_increasing(self.score_bands, "pattern")
        if self.peak_max_score_ratio <= self.peak_ratio:
            raise ValueError("[pattern] peak_max_score_ratio must be greater than peak_ratio")
        return self

    def params(
        self, scope: Literal["street", "district"] = "street", calendar: CalendarParams | None = None
    ) -> PatternParams:
        """The core's typed view of this section for one scope (calendar from [calendar])."""
        return PatternParams(
            scope=scope,
            min_history_days=self.min_history_days,
            horizon_days=self.horizon_days,
            interval=self.interval,
            level_half_life_days=self.level_half_life_days,
            effect_half_life_days=self.effect_half_life_days,
            effect_prior=self.effect_prior,
            window_prior=self.window_prior,
            peak_scopes=self.peak_scopes,
            dispersion_prior=self.dispersion_prior,
            dispersion_prior_weight=self.dispersion_prior_weight,
            peak_ratio=self.peak_ratio,
            peak_min_excess=self.peak_min_excess,
            peak_max_score_ratio=self.peak_max_score_ratio,
            peak_min_excess_sd=self.peak_min_excess_sd,
            episode_cooldown_days=self.episode_cooldown_days,
            exceed_min_count=self.exceed_min_count,
            exceed_min_ratio=self.exceed_min_ratio,
            exceed_consecutive_days=self.exceed_consecutive_days,
            surprise_scale=self.surprise_scale,
            score_bands=self.score_bands,
            calendar=calendar or CalendarParams(),
        )


_CASE = CaseParams()  # the core defaults, so the file and the dataclass cannot drift


class CaseSection(_Section):
    """[case]: individual-case indicators, word lists, rule bars and score bands (个案预警)."""

    enabled: bool = True
    threat_words: tuple[str, ...] = _CASE.threat_words
    despair_words: tuple[str, ...] = _CASE.despair_words
    extreme_words: tuple[str, ...] = _CASE.extreme_words
    stress_words: tuple[str, ...] = _CASE.stress_words
    failed_words: tuple[str, ...] = _CASE.failed_words
    resolved_words: tuple[str, ...] = _CASE.resolved_words
    silence_days: float = Field(default=30.0, gt=0)
    overdue_days: float = Field(default=60.0, gt=0)
    score_bands: tuple[_Score, _Score, _Score, _Score] = (0.3, 0.5, 0.7, 0.85)
    burst_7d: int = Field(default=4, ge=2)
    rapid_levels_30d: int = Field(default=2, ge=1)
    collective_headcount: int = Field(default=5, ge=2)
    collective_growth: float = Field(default=2.0, gt=1)
    evidence_max: int = Field(default=20, ge=1, le=200)

    @model_validator(mode="after")
    def _bands(self) -> CaseSection:
        _bands_increasing(self.score_bands, "case")
        return self

    def params(self) -> CaseParams:
        """The core's typed view of this section."""
        return CaseParams(**{f: getattr(self, f) for f in CaseParams.__dataclass_fields__})


class RelationalSection(_Section):
    """[relational]: entity resolution caps and thresholds, windows and bars of the alerts (关联预警)."""

    enabled: bool = True
    block_cap: int = Field(default=8, ge=2, le=1000)
    max_candidates: int = Field(default=30, ge=1, le=1000)
    match_probability: float = Field(default=0.9, gt=0, lt=1)
    max_mentions: int = Field(default=5000, ge=2)
    window_days: int = Field(default=30, ge=1, le=365)
    repeat_min_events: int = Field(default=3, ge=2)
    escalation_min_events: int = Field(default=5, ge=2)
    group_min_people: int = Field(default=5, ge=2)
    group_max_p: float = Field(default=1e-4, gt=0, lt=1)
    collective_min_people: int = Field(default=5, ge=2)
    collective_min_events: int = Field(default=4, ge=2)
    rate_half_life_days: float = Field(default=90.0, gt=0)
    rate_prior_people: float = Field(default=1.0, gt=0)
    rate_prior_days: float = Field(default=60.0, gt=0)
    group_min_history_days: float = Field(default=30.0, ge=0)
    collective_alerts: bool = False
    max_person_events: int = Field(default=50, ge=2)
    max_group_entries: int = Field(default=200, ge=2)
    evidence_max: int = Field(default=20, ge=1, le=200)
    distinct_matters: bool = True
    retention_days: int = Field(default=180, ge=7, le=3650)
    sweep_buckets: int = Field(default=4, ge=1, le=1000)

    def resolver(self) -> ResolverParams:
        """The resolver's typed parameters (also `warning link`'s)."""
        return ResolverParams(
            block_cap=self.block_cap,
            max_candidates=self.max_candidates,
            match_probability=self.match_probability,
            max_mentions=self.max_mentions,
        )

    def params(self) -> RelationalParams:
        """The detector's typed parameters."""
        skip = {"resolver"}
        fields = {f: getattr(self, f) for f in RelationalParams.__dataclass_fields__ if f not in skip}
        return RelationalParams(resolver=self.resolver(), **fields)


def _seconds(value: float) -> timedelta | None:
    """0 means "never" for deadlines."""
    return timedelta(seconds=value) if value else None


def routing_rules(t: Thresholds, hierarchy: Hierarchy | None = None) -> RoutingRules:
    """The core's typed routing parameters from the [routing] and [lifecycle] sections (and the units file)."""
    r, lc = t.routing, t.lifecycle
    return RoutingRules(
        targets={"blue": r.blue, "yellow": r.yellow, "orange": r.orange, "red": r.red},
        department_types=frozenset(r.department_types),
        department_codes=dict(r.departments),
        default_department=r.default_department,
        suppress={k: timedelta(seconds=v) for k, v in r.suppress_seconds.items()},
        ack_deadlines={lv: _seconds(lc.ack_deadline_seconds.get(lv, 0)) for lv in LEVELS},
        max_evidence=r.max_evidence,
        hierarchy=hierarchy,
    )


class EngineSection(_Section):
    """[engine]: event-time ordering shared by every detector (warning.core.engine)."""

    lateness_seconds: float = Field(default=600.0, ge=0, le=7 * 86400)
    dedupe_hours: float = Field(default=48.0, ge=1, le=24 * 90)


def _word_list_errors(path: str, value: Any) -> list[str]:
    """Entries of keyword tables and word lists that can never be meant.

    Matching is by substring over NFKC-normalised text, so ``""`` or ``" "`` matches every
    record (the probe's ``"" = 0.95`` sent 1,553 red alerts in 30 s), a one-character keyword
    matches most of them, and a full-width entry matches none.
    """
    name = path.rsplit(".", 1)[-1]
    if not (name == "keywords" or name.endswith("_words") or name.endswith("_keywords")):
        return []
    entries = list(value) if isinstance(value, dict | list | tuple) else []
    shortest = 2 if "keywords" in name else 1
    out = []
    for entry in entries:
        word = str(entry)
        if len(word.strip()) < shortest:
            out.append(f"[{path}] {word!r}: keywords need at least {shortest} non-space characters")
        elif unicodedata.normalize("NFKC", word) != word:
            normal = unicodedata.normalize("NFKC", word)
            out.append(f"[{path}] {word!r}: write it as {normal!r} (event text is NFKC-normalised)")
    return out


def _walk_word_lists(prefix: str, value: Any) -> list[str]:
    out = _word_list_errors(prefix, value)
    if isinstance(value, dict) and not out:
        for k, v in value.items():
            out += _walk_word_lists(f"{prefix}.{k}" if prefix else str(k), v)
    return out


class Thresholds(_Section):
    """The whole file. Later sections (detectors, routing) are added beside ``ingest``."""

    version: str = Field(description="operator-chosen label of this edit, exposed as a metric")
    inherit: Literal["defaults"] | None = Field(
        default=None, description='"defaults": sections missing from the file take the shipped defaults'
    )
    force: bool = Field(default=False, description="apply a reload that reload_guard calls risky")
    ingest: IngestSection = IngestSection()
    engine: EngineSection = EngineSection()
    routing: RoutingSection = RoutingSection()
    lifecycle: LifecycleSection = LifecycleSection()
    delivery: DeliverySection = DeliverySection()
    calendar: CalendarSection = CalendarSection()
    dynamic: DynamicSection = DynamicSection()
    pattern: PatternSection = PatternSection()
    case: CaseSection = CaseSection()
    relational: RelationalSection = RelationalSection()

    @model_validator(mode="after")
    def _word_lists(self) -> Thresholds:
        errors = _walk_word_lists("", self.model_dump())
        if errors:
            raise ValueError("; ".join(errors))
        return self


def sections() -> list[str]:
    """The top-level tables a complete thresholds file has (every section of `Thresholds`)."""
    return [n for n, f in Thresholds.model_fields.items() if isinstance(f.default, _Section)]


@dataclass(frozen=True, slots=True)
class LoadedThresholds:
    """Parsed thresholds plus where they came from and a content digest."""

    thresholds: Thresholds
    path: Path
    digest: str


def _format_error(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: {err.error_count()} invalid entr{'y' if err.error_count() == 1 else 'ies'}"]
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        key = f"[{'.'.join(loc[:-1])}] {loc[-1]}" if len(loc) > 1 else (loc[0] if loc else "<file>")
        hint = (
            " (unknown key: check its spelling against the shipped thresholds.toml)"
            if e["type"] == "extra_forbidden"
            else ""
        )
        lines.append(f"  {key}: {e['msg']}{hint}")
    lines.append("Operator action: fix the entries above and save; the running thresholds stay in force.")
    return "\n".join(lines)


def parse(text: str, path: Path) -> LoadedThresholds:
    """Validate TOML text; raise `ImproperlyConfigured` naming each bad key."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ImproperlyConfigured(
            f"{path}: not valid TOML: {exc}\nOperator action: fix the syntax and save; "
            "the running thresholds stay in force."
        ) from None
    missing = [name for name in sections() if name not in raw]
    if missing and raw.get("inherit") != "defaults":
        raise ImproperlyConfigured(
            f"{path}: missing section{'s' if len(missing) > 1 else ''} {', '.join(f'[{m}]' for m in missing)}\n"
            "Operator action: restore them from the shipped thresholds.toml (a file cut short must "
            'not silently fall back to defaults), or write inherit = "defaults" at the top of the '
            "file if defaults are meant; the running thresholds stay in force."
        )
    try:
        parsed = Thresholds.model_validate(raw)
    except ValidationError as err:
        raise ImproperlyConfigured(_format_error(path, err)) from None
    return LoadedThresholds(parsed, path, hashlib.sha256(text.encode()).hexdigest()[:12])


def load(path: Path | None = None) -> LoadedThresholds:
    """Load the operators' file, or the packaged default when no path is set."""
    target = path or DEFAULT_FILE
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImproperlyConfigured(
            f"cannot read thresholds file {target}: {exc.strerror}\n"
            "Operator action: set WARNING_THRESHOLDS_FILE to an existing file."
        ) from None
    return parse(text, target)


class Reloader:
    """Polls the file's modification time and swaps in a new config only when it validates.

    Polling (not inotify) keeps it portable to bind mounts and NFS where change events are
    unreliable; a poll is one `stat` call.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.current = load(path)
        self._path = self.current.path
        self._mtime = self._path.stat().st_mtime_ns
        self.last_error: str | None = None

    def poll(self) -> bool:
        """Reload if the file changed; True when a new config took effect."""
        try:
            mtime = self._path.stat().st_mtime_ns
        except OSError as exc:
            self.last_error = f"cannot stat {self._path}: {exc.strerror}"
            return False
        if mtime == self._mtime:
            return False
        self._mtime = mtime
        try:
            loaded = load(self._path)
        except ImproperlyConfigured as exc:
            self.last_error = str(exc)
            return False
        risky = reload_guard(self.current.thresholds, loaded.thresholds)
        if risky and not loaded.thresholds.force:
            self.last_error = refusal(self._path, risky)
            return False
        self.last_error = None
        changed = loaded.digest != self.current.digest
        self.current = loaded
        return changed


# --- what one reload may change without `force = true` ---

RISKY_KEYWORD_SCORE = 0.9
RISKY_LOWER_RATIO = 0.5


def _numbers(value: Any) -> list[float] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, list) and value and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return [float(v) for v in value]
    return None


def reload_guard(old: Thresholds, new: Thresholds) -> list[str]:
    """The risky changes from `old` to `new`, one line each; empty when the reload is routine.

    A hot reload reaches every desk within seconds, so an edit that can flood them must be
    deliberate: a keyword added (or raised) to a score of at least `RISKY_KEYWORD_SCORE`, and
    any number lowered to less than `RISKY_LOWER_RATIO` of its value (a threshold, a minimum
    count, a suppression window; in lists such as score bands, any element). The reloader
    refuses such a file unless it sets ``force = true``.
    """
    a, b = flatten(old), flatten(new)
    out: list[str] = []
    for key, after in b.items():
        before = a.get(key)
        if ".keywords." in f".{key}" and isinstance(after, int | float) and after >= RISKY_KEYWORD_SCORE:
            if not isinstance(before, int | float) or before < RISKY_KEYWORD_SCORE:
                word = key.rsplit(".", 1)[-1]
                out.append(f"{key}: keyword {word!r} {'added' if before is None else 'raised'} with score {after}")
            continue
        x, y = _numbers(before), _numbers(after)
        if x is None or y is None or len(x) != len(y):
            continue
        if any(old_v > 0 and new_v < old_v * RISKY_LOWER_RATIO for old_v, new_v in zip(x, y, strict=True)):
            out.append(f"{key}: lowered from {_text(before)} to {_text(after)} (to under half)")
    return out


def refusal(path: Path, risky: list[str]) -> str:
    """The operator-facing message of a refused reload."""
    lines = [f"{path}: reload refused, {len(risky)} risky change{'s' if len(risky) > 1 else ''}:"]
    lines += [f"  {r}" for r in risky]
    lines.append(
        "Operator action: if this is meant, add force = true at the top of the file and save "
        "(remove it again afterwards); the running thresholds stay in force."
    )
    return "\n".join(lines)


# --- comparing two configs: `warning config show --diff` and the reload log line ---


@dataclass(frozen=True, slots=True)
class KeyChange:
    """One setting that differs: its dotted key and both values as text ("unset" when absent)."""

    key: str
    before: str
    after: str


def flatten(t: Thresholds) -> dict[str, Any]:
    """Every setting under its dotted key (``dynamic.min_count``), defaults filled in.

    Tables of named entries (keywords, departments, suppression windows) are walked into, so a
    diff names the entry that changed; lists such as score bands stay one value.
    """
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = value

    walk("", t.model_dump(mode="python"))
    return out


def _text(value: Any) -> str:
    # default=str: dates and anything unforeseen still print, so a reload's log line never raises
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def changes(old: Thresholds, new: Thresholds) -> list[KeyChange]:
    """The settings that differ between two configs, in file order (``old``'s, then new keys)."""
    a, b = flatten(old), flatten(new)
    keys = [*a, *(k for k in b if k not in a)]
    return [
        KeyChange(k, _text(a[k]) if k in a else "unset", _text(b[k]) if k in b else "unset")
        for k in keys
        if a.get(k, ...) != b.get(k, ...)
    ]


def diff_summary(old: Thresholds, new: Thresholds, limit: int = 8) -> str:
    """One log line naming what a reload changed: ``2 keys changed: dynamic.min_count 3→4, ...``.

    An operator reading the log after an alert flood needs to see which edit preceded it; more
    than `limit` changes are counted, not listed, so the line stays one line.
    """
    diff = changes(old, new)
    if not diff:
        return "no keys changed"
    shown = ", ".join(f"{c.key} {c.before}→{c.after}" for c in diff[:limit])
    more = f", and {len(diff) - limit} more" if len(diff) > limit else ""
    return f"{len(diff)} key{'s' if len(diff) != 1 else ''} changed: {shown}{more}"
