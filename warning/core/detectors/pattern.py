"""Pattern warning (规律预警): "when and where will the next peak come?"

Daily counts per (street, category) - or district-wide with ``scope="district"`` - feed a
seasonal model with calendar regressors (weekday, month, public holidays, the days before and
after them, the run-up to the Spring Festival, 调休 make-up workdays, fishing season, campaign
periods; `warning.core.calendar`). Once per day rollover (event time) the model learns the
closed day and forecasts `horizon_days` ahead; it alerts when a forecast peak stands well
above normal ("劳资纠纷 in S03 expected to peak the week before Spring Festival: 38 ± 9 vs
normal 12") and, during the day, when the running count exceeds today's upper bound.

Model. ``mu(day) = level x prod(effect_j for each calendar regressor active that day)``, a
log-linear Poisson model fitted online by *decayed ratio sums*: each effect is
``(sum y + c) / (sum mu_without_j + c)`` over the (exponentially down-weighted) days on which
it was active. Those are the Poisson likelihood equations of a dummy regressor, solved one
coordinate at a time as days arrive (online iterative proportional fitting); ``c``
pseudo-events shrink rarely seen effects to 1 (months: to the mean of the two neighbouring
months, because seasons change smoothly), so a festival seen once does not swing the
forecast. The month effects are normalised to an exposure-weighted geometric mean of 1, so
the intercept is the level of an average month and "normal" - the yardstick of a peak alert -
is an ordinary day of that weekday at the year's usual level (version 1.0 left the split of
intercept and month effects to chance: "normal" was the level of whichever month the data
started in, and every week of a month busier than that one raised a peak alert). It needs
~70 floats per category (JSON, no matrices) and never diverges, which an online gradient step on correlated dummies
(intercept + weekday + month) did in a first trial. The level has a shorter half-life than
the effects, so it follows drift while month and festival effects keep a year of memory.
The count distribution is a negative binomial whose dispersion is learned from one-day-ahead
errors (score, then learn), which
gives the prediction interval for the next day. Further ahead the level and the effects can
drift before the target day, so the forecast made ``horizon_days`` ago for each closed day is
scored as well and the dispersion grows linearly with the horizon between the two (measured
with `bench/bench_forecast.py`: the 90 % interval covers 0.93 of district days at 1, 7 and
14 days ahead; version 1.0, one-day dispersion only: 0.86 at 14 days).

Alert volume (version 1.2). Version 1.1 re-alerted the same seasonal peak every ISO week
while it lasted and let 1.5x of a quiet series (noise) and one-day bursts (the dynamic
detector's) through: 0.45 false pattern alerts per street-week on the simulated year. Now a
peak alert is one per *episode* (re-forecasts of the same elevated period within
``episode_cooldown_days`` keep the first target week in the alert id and are re-sent only
when the level rises), the excess must also reach ``peak_min_excess_sd`` x sqrt(normal), and
an exceedance must be ``exceed_min_ratio`` x the forecast and, per ``exceed_consecutive_days``,
follow an excess day (0.09 false per street-week, recall unchanged at 9/10).

Warm start. The seasonal effects take a year of data, so a new engine would raise nothing for
weeks and forecast no seasonal peak for a year. A district has an archive: `warm_state` steps
the detector through an archive's daily counts (the same rollover, so the same state as its
events), `warning.analysis.pattern_profile` writes those states to a file, and a detector
given them as ``profile`` starts each new key from its state (`start_state`); a key with state
in the engine's table keeps it. Without a profile nothing changes.

State (JSON, per key)::

    {"v": 1, "d0": first day, "day": current local day,
     "c": {"labour": {"cur": today's count, "lv": highest exceedance level sent today (-1),
                      "ub": today's upper bound or null, "n": days learned,
                      "b": intercept, "e": [effect per EFFECTS], "y": [decayed count per effect, total],
                      "r": [recent y, recent base mu], "disp": [A, B] one-day errors,
                      "fh": [forecast for the day `horizon_days` ahead, by day mod horizon_days],
                      "dh": [A, B] of those far forecasts' errors,
                      "pk": [first target day, last elevated target day, level index] of the
                            current peak episode (pattern@1.2; absent before the first one),
                      "xs": [last closed day that was a meaningful excess, run length of such days]}},
     "x": {calendar combination: decayed days}}
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal

from warning.core.calendar import (
    HOLIDAY_NAMES,
    HOLIDAY_WINDOW_WEEKS,
    Calendar,
    CalendarParams,
    DayFeatures,
    day_date,
    epoch_day,
    local_hour_index,
)
from warning.core.detectors.base import DetectorState, WholeStateDetector
from warning.core.detectors.baselines import count_ppf, count_sf, level_for, surprise
from warning.core.events import Alert, Event, Indicator, stable_id
from warning.core.ports import KeySpace
from warning.core.taxonomy import CATEGORIES, LEVELS, category_label
from warning.core.units import DISTRICT

_WEEKS: Final[tuple[int, ...]] = (
    *range(-HOLIDAY_WINDOW_WEEKS, 0),
    *range(1, HOLIDAY_WINDOW_WEEKS + 1),
)
EFFECTS: Final[tuple[str, ...]] = (
    *(f"wd{i}" for i in range(7)),
    *(f"m{i}" for i in range(1, 13)),
    "holiday",
    "pre_holiday",
    "post_holiday",
    "pre_spring",
    "makeup",
    "fishing",
    "campaign",
    # pattern@1.3: the weeks around each statutory holiday period, learned per holiday
    *(f"{name}{week:+d}" for name in HOLIDAY_NAMES for week in _WEEKS),
)
_IDX: Final = {name: i for i, name in enumerate(EFFECTS)}
_FIRST_WINDOW: Final = _IDX[f"{HOLIDAY_NAMES[0]}{_WEEKS[0]:+d}"]
_MAX_GAP_DAYS: Final = 31
_MONTHS: Final[tuple[int, ...]] = tuple(range(7, 19))
_GROUPS: Final[tuple[tuple[int, ...], ...]] = (
    tuple(range(7)),
    _MONTHS,
    *((j,) for j in range(19, _FIRST_WINDOW)),
    # a day lies in at most one holiday window, so the windows update at once like the months
    tuple(range(_FIRST_WINDOW, len(EFFECTS))),
)


@dataclass(frozen=True, slots=True)
class PatternParams:
    """Typed parameters of `PatternDetector` (thresholds ``[pattern]``; meanings in thresholds.toml)."""

    scope: Literal["street", "district"] = "street"
    min_history_days: int = 28
    horizon_days: int = 14
    interval: float = 0.9
    level_half_life_days: float = 56.0
    effect_half_life_days: float = 365.0
    effect_prior: float = 5.0
    window_prior: float = 20.0  # pattern@1.3; pseudo-events of each holiday-window effect
    # pattern@1.3: which instances raise forecast-peak alerts. A district-wide wave shows in
    # every street, so street instances forecasting it too sent one alert per street for one
    # peak (all but the first duplicates); "district" leaves peaks to the district instance and
    # exceedances to both. "both" is the pattern@1.2 behaviour.
    peak_scopes: Literal["district", "both"] = "both"
    dispersion_prior: float = 0.1
    dispersion_prior_weight: float = 20.0
    peak_ratio: float = 1.5
    peak_min_excess: float = 3.0
    peak_max_score_ratio: float = 4.0
    peak_min_excess_sd: float = 2.0
    episode_cooldown_days: int = 28
    exceed_min_count: int = 3
    exceed_min_ratio: float = 2.0
    exceed_consecutive_days: int = 1
    surprise_scale: float = 6.0
    score_bands: tuple[float, float, float, float] = (0.5, 0.65, 0.8, 0.95)
    calendar: CalendarParams = field(default_factory=CalendarParams)

    def __post_init__(self) -> None:
        if not 0.5 < self.interval < 1.0:
            raise ValueError(f"interval must be in (0.5, 1), got {self.interval}")
        if list(self.score_bands) != sorted(self.score_bands):
            raise ValueError(f"score_bands must be increasing, got {self.score_bands}")


@dataclass(frozen=True, slots=True)
class ForecastRow:
    """One forecast day of one (unit, category): mean, interval bounds and the normal level."""

    unit: str
    category: str
    day: date
    forecast: float
    lower: int
    upper: int
    normal: float
    tags: tuple[str, ...] = ()
    dispersion: float = 0.0  # NB alpha of the day (variance mu + alpha mu^2): lets callers add days up


def _active(f: DayFeatures) -> list[int]:
    idx = [_IDX[f"wd{f.weekday}"], _IDX[f"m{f.month}"]]
    for name, on in (
        ("holiday", f.holiday),
        ("pre_holiday", f.pre_holiday),
        ("post_holiday", f.post_holiday),
        ("pre_spring", f.pre_spring_festival),
        ("makeup", f.makeup_workday),
        ("fishing", f.fishing),
        ("campaign", f.campaign),
    ):
        if on:
            idx.append(_IDX[name])
    if f.holiday_window:
        idx.append(_IDX[f"{f.holiday_window}{f.holiday_week:+d}"])
    return idx


def _upgrade(c: dict[str, Any]) -> dict[str, Any]:
    """A category state of an older version with the effects added since (neutral, unseen)."""
    missing = len(EFFECTS) - len(c["e"])
    if missing <= 0:
        return c
    ys = list(c["y"])
    return dict(c, e=[*c["e"], *([1.0] * missing)], y=[*ys[:-1], *([0.0] * missing), ys[-1]])


def _tags(f: DayFeatures) -> tuple[str, ...]:
    tags: list[str] = []
    if f.holiday:
        tags.append(f.holiday_name.split("（")[0])
    if f.pre_spring_festival:
        tags.append("春节前")
    elif f.pre_holiday:
        tags.append("节前")
    if f.post_holiday:
        tags.append("节后")
    if f.fishing:
        tags.append("捕捞旺季")
    if f.campaign:
        tags.append(f.campaign_name)
    return tuple(tags)


def _new_cat() -> dict[str, Any]:
    return {
        "cur": 0,
        "lv": -1,
        "ub": None,
        "n": 0,
        "b": 0.0,
        "e": [1.0] * len(EFFECTS),
        "y": [0.0] * (len(EFFECTS) + 1),
        "r": [0.0, 0.0],
        "disp": [0.0, 0.0],
    }


_FLOOR = 1e-3
"""Smallest multiplicative effect kept: stored effects are rounded, and a month that shrank to
exactly 0.0 after a long lull would otherwise divide by zero in the next refit."""


def _clamp(effect: float) -> float:
    """An effect inside [_FLOOR, 1/_FLOOR]: finite whatever lull or burst came before."""
    return min(max(effect, _FLOOR), 1.0 / _FLOOR) if math.isfinite(effect) else 1.0


def _combo(active: list[int]) -> str:
    return ".".join(str(j) for j in sorted(active))


@dataclass(frozen=True, slots=True)
class Design:
    """The refit's view of one exposure table, built once per rollover and shared by its categories.

    Every category of a key is refitted against the same exposure, and each coordinate step
    needs the expected counts only of the calendar combinations that contain one of its
    effects (a festival group touches a few of hundreds), so the combinations are parsed once
    and, per group of `_GROUPS`, the combinations touching it are listed with the effects of
    the group they hold. The sums run over those in the exposure's order, as a pass over every
    combination would: the refit's numbers are the same to the last bit.
    """

    acts: tuple[tuple[int, ...], ...]  # effect indices of each combination, exposure order
    weights: tuple[float, ...]  # decayed days of each combination
    touch: tuple[tuple[tuple[int, tuple[int, ...]], ...], ...]  # per group: (combination, its effects there)
    month_days: tuple[float, ...]  # decayed days per month of _MONTHS


def design(exposure: Mapping[str, float]) -> Design:
    """The `Design` of an exposure table ``{calendar combination: decayed days}`` (state ``x``)."""
    acts = tuple(tuple(int(t) for t in key.split(".")) if key else () for key in exposure)
    weights = tuple(exposure.values())
    touch = []
    for group in _GROUPS:
        members = set(group)
        touch.append(tuple((i, held) for i, act in enumerate(acts) if (held := tuple(t for t in act if t in members))))
    month_days = tuple(sum(w for act, w in zip(acts, weights, strict=True) if j in act) for j in _MONTHS)
    return Design(acts, weights, tuple(touch), month_days)


class _Model:
    """Predictions and learning steps on one category's JSON state (shared by detector and forecast)."""

    def __init__(self, p: PatternParams) -> None:
        self.p = p
        self.dl = 0.5 ** (1.0 / p.level_half_life_days)
        self.de = 0.5 ** (1.0 / p.effect_half_life_days)

    def base(self, c: dict[str, Any], active: list[int]) -> float:
        """The long-memory fit: intercept x active effects."""
        m = float(c["b"])
        e = c["e"]
        for j in active:
            m *= e[j]
        return m

    def corr(self, c: dict[str, Any]) -> float:
        """Short-memory level correction: recent actual / recent long-memory prediction."""
        ry, rm = c["r"]
        k = self.p.effect_prior
        return float((ry + k) / (rm + k))

    def mu(self, c: dict[str, Any], active: list[int]) -> float:
        return self.base(c, active) * self.corr(c)

    def normal(self, c: dict[str, Any], f: DayFeatures) -> float:
        """An ordinary day of that weekday in an average month: intercept x weekday x level correction.

        The month effects are normalised to a mean of 1 (`refit`), so this is the year's usual
        level and a month well above it (summer evenings, the property-fee season) is a peak.
        """
        return float(c["b"]) * float(c["e"][_IDX[f"wd{f.weekday}"]]) * self.corr(c)

    def _moment(self, sums: list[float]) -> float:
        a, b = sums
        w = self.p.dispersion_prior_weight
        return min(3.0, max(0.0, float((a + self.p.dispersion_prior * w) / (b + w))))

    def alpha(self, c: dict[str, Any], horizon: int = 1) -> float:
        """NB dispersion of a forecast `horizon` days after the last closed day.

        Day 1 uses the one-day-ahead errors. Further ahead the level and the seasonal effects
        may drift before the target day, so the errors of the forecasts made `horizon_days`
        ago are scored too (``dh``) and the dispersion grows linearly in between, as the
        variance of a random-walk level does; it never shrinks below day 1's.
        """
        a1 = self._moment(c["disp"])
        big = self.p.horizon_days
        if horizon <= 1 or big <= 1 or "dh" not in c:
            return a1
        extra = max(0.0, self._moment(c["dh"]) - a1) * (horizon - 1) / (big - 1)
        return min(3.0, a1 + extra)

    def bounds(self, c: dict[str, Any], mu: float, horizon: int = 1) -> tuple[int, int]:
        tail = (1.0 - self.p.interval) / 2.0
        al = self.alpha(c, horizon)
        return count_ppf(tail, mu, al), count_ppf(1.0 - tail, mu, al)

    def upper(self, c: dict[str, Any], mu: float) -> int:
        """The upper bound of `bounds` for the next day alone (a day's ``ub``: the lower one goes unused)."""
        tail = (1.0 - self.p.interval) / 2.0
        return count_ppf(1.0 - tail, mu, self.alpha(c))

    def observe(self, c: dict[str, Any], y: int, active: list[int], day: int) -> dict[str, Any]:
        """Score-then-learn bookkeeping of one closed day (sums only; `refit` re-solves)."""
        new = dict(c)
        if c["n"] > 0:  # before any history mu is a guess, not a forecast
            base = self.base(c, active)
            mu = base * self.corr(c)
            a, b = c["disp"]
            new["disp"] = [a * self.dl + ((y - mu) ** 2 - mu), b * self.dl + mu * mu]
            ry, rm = c["r"]
            new["r"] = [ry * self.dl + y, rm * self.dl + base]
        ring = c.get("fh")
        if ring:
            # the forecast made `horizon_days` ago for this day, scored once, then its slot freed
            slot = day % len(ring)
            far = ring[slot]
            if far is not None:
                a, b = c.get("dh", [0.0, 0.0])
                new["dh"] = [a * self.dl + ((y - far) ** 2 - far), b * self.dl + far * far]
                new["fh"] = [*ring[:slot], None, *ring[slot + 1 :]]
        ys = [v * self.de for v in c["y"]]
        ys[-1] += y
        for j in active:
            ys[j] += y
        new["y"] = ys
        new["n"] = c["n"] + 1
        return new

    def refit(self, c: dict[str, Any], exposure: Design, sweeps: int = 2) -> dict[str, Any]:
        """A few sweeps of iterative proportional fitting against the decayed exposure per combo.

        ``e_j <- (Y_j + k) / (M_j / e_j + k)`` where ``Y_j`` is the decayed count on days with
        regressor j and ``M_j`` the model's expected count over the same days (exact: the
        exposure of every observed calendar combination is kept), ``k`` pseudo-events
        shrinking rare effects toward 1. `exposure` is the state's ``x`` as a `Design`: a step
        sums only the combinations holding one of its effects (the others add nothing).
        """
        k = self.p.effect_prior
        acts, weights = exposure.acts, exposure.weights
        b = float(c["b"]) or 1.0
        e: list[float] = list(c["e"])
        ys = c["y"]
        total = ys[-1]

        # exposure (decayed days) per month: the weights of the month normalisation below
        month_days = exposure.month_days
        for _ in range(sweeps):
            # the weekday step (first of _GROUPS) reuses these: only b changes before it
            first = [math.prod(map(e.__getitem__, act)) for act in acts]
            m_tot = sum([w * b * p for w, p in zip(weights, first, strict=True)])
            b = b * (total + 0.01) / (m_tot + 0.01)
            # weekday and month effects are each a partition of the days, so a whole group
            # updates at once (classic IPF); the calendar-event effects overlap and go one by one
            for step, (group, touch) in enumerate(zip(_GROUPS, exposure.touch, strict=True)):
                sums = dict.fromkeys(group, 0.0)
                for i, held in touch:
                    m = weights[i] * b * (first[i] if step == 0 else math.prod(map(e.__getitem__, acts[i])))
                    for t in held:
                        sums[t] += m
                if group == _MONTHS:
                    # Seasons change smoothly, so a month is shrunk toward its two neighbours
                    # (a cyclic random-walk prior) instead of toward "no effect": an unseen month
                    # then interpolates between the nearest seen ones, and in the first year the
                    # forecast for next month persists this month's level rather than falling
                    # back to the average of the months seen so far.
                    old = list(e)
                    for i, j in enumerate(group):
                        prior = math.sqrt(old[group[i - 1]] * old[group[(i + 1) % len(group)]])
                        e[j] = _clamp((ys[j] + k * prior) / (sums[j] / max(old[j], _FLOOR) + k))
                    continue
                # a holiday window is seen about once a year and shares its days with a month
                # still being learned: more pseudo-events keep a quiet series' windows near 1
                kj = self.p.window_prior if group[0] >= _FIRST_WINDOW else k
                for j in group:
                    if sums[j] > 0.0 or ys[j] > 0.0:
                        e[j] = _clamp((ys[j] + kj) / (sums[j] / max(e[j], _FLOOR) + kj))
            # b x month is all the data pins down; fix the split so that the exposure-weighted
            # geometric mean of the month effects is 1: b is then the level of an average month
            # and "normal" (b x weekday x level) does not depend on which month came first.
            if sum(month_days) > 0.0:
                g = math.exp(
                    sum(w * math.log(e[j]) for j, w in zip(_MONTHS, month_days, strict=True)) / sum(month_days)
                )
                b *= g
                for j in _MONTHS:
                    e[j] /= g
        new = dict(c)
        new["b"] = round(b, 8)
        new["e"] = [round(v, 6) for v in e]
        new["y"] = [round(v, 6) for v in ys]
        new["r"] = [round(v, 6) for v in c["r"]]
        new["disp"] = [round(v, 6) for v in c["disp"]]
        if "dh" in c:
            new["dh"] = [round(v, 6) for v in c["dh"]]
        return new


class PatternDetector(WholeStateDetector):
    """Seasonal forecasts and peak / exceedance alerts per (street or district, category).

    Parameters
    ----------
    params : PatternParams, optional
        Scope ("street" keys by street, "district" keys everything as ``district``), warm-up,
        horizon, interval, half-lives, alert thresholds, calendar data.

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> from warning.core.events import Event, Location
    >>> tz = timezone(timedelta(hours=8))
    >>> det = PatternDetector(PatternParams(min_history_days=7))
    >>> st = det.init_state()
    >>> for day in range(21):
    ...     t = datetime(2026, 3, 1, 10, tzinfo=tz) + timedelta(days=day)
    ...     for i in range(5):
    ...         ev = Event(f"e{day}-{i}", "hotline", "r", t, t, Location("S03", "S03-C01", "S03-C01-G01"), "labour")
    ...         st, alerts = det.step(st, ev, t)
    >>> rows = forecast(st, date(2026, 3, 22), 2, unit="S03")
    >>> [(r.category, r.day.isoformat(), round(r.forecast)) for r in rows]
    [('labour', '2026-03-22', 5), ('labour', '2026-03-23', 5)]
    >>> rows[0].lower <= 5 <= rows[0].upper
    True
    """

    version = "1.3"

    def __init__(self, params: PatternParams | None = None, profile: Mapping[str, DetectorState] | None = None) -> None:
        self.params = params
        self.profile: Mapping[str, DetectorState] = profile or {}
        p = params or PatternParams()
        self._p = p
        self.name = "pattern" if p.scope == "street" else "pattern_district"
        self.key_space: KeySpace = "street" if p.scope == "street" else "district"
        self._cal = Calendar(p.calendar)
        self._model = _Model(p)
        self._peaks = p.peak_scopes == "both" or p.scope == "district"

    def init_state(self) -> DetectorState:
        """Empty state of a key."""
        return {"v": 1, "d0": None, "day": None, "x": {}, "c": {}}

    def start_state(self, key: str, event: Event) -> DetectorState:
        """A new key starts from its archive profile (`warm_state`), if one was loaded, else empty.

        Days between the end of the archive and the key's first streamed day are not known to
        be zero (the archive stopped, not the district), so they are skipped, not learned; the
        far forecasts made for them are dropped unscored.
        """
        base = self.profile.get(key)
        if base is None:
            return self.init_state()
        state: dict[str, Any] = copy.deepcopy(dict(base))
        day = local_hour_index(event.occurred_at) // 24
        if state["day"] is not None and day > int(state["day"]):
            state["day"] = day
            state["c"] = {cat: dict(c, fh=None) for cat, c in state["c"].items()}
        return state

    def warm_state(self, days: Mapping[int, Mapping[str, int]], until: int, unit: str = "") -> DetectorState:
        """One key's state after its archive: daily counts by (local epoch day, category), closed up to `until`.

        The detector learns only from daily counts (an event adds 1 to its day's count, the day
        rollover learns), so stepping day by day through the counts leaves the same state as
        replaying every event, at a cost per day instead of per event: years of a district's
        archive fit in seconds. Alerts the archive would have raised are not returned (their
        days are past); a peak episode it saw stays in the state, so it is not announced again.
        `until` is the first day after the archive (where the stream takes over).
        """
        st: dict[str, Any] = self.init_state()
        now = datetime.combine(day_date(until), datetime.min.time(), UTC)
        for day in sorted(d for d in days if d < until):
            if st["day"] is None:
                st["d0"] = st["day"] = day
            cats: dict[str, Any] = dict(st["c"])
            st["c"] = cats
            if day > st["day"]:
                self._rollover(st, cats, day, unit, now)
            for cat, n in sorted(days[day].items()):
                c = _upgrade(dict(cats.get(cat) or _new_cat()))
                c["cur"] = c["cur"] + n
                cats[cat] = c
        if st["day"] is not None and until > st["day"]:
            st["c"] = dict(st["c"])
            self._rollover(st, st["c"], until, unit, now)
        return st

    def key(self, event: Event) -> str:
        """The street code, or ``district`` for the district-wide instance."""
        return event.location.street if self._p.scope == "street" else DISTRICT

    def step(self, state: DetectorState, event: Event, now: datetime) -> tuple[DetectorState, list[Alert]]:
        """Count the event; on a new (event-time) day learn the closed day(s) and re-forecast."""
        day = local_hour_index(event.occurred_at) // 24
        unit = self.key(event)
        new: dict[str, Any] = dict(state)
        cats: dict[str, Any] = dict(new["c"])
        new["c"] = cats
        alerts: list[Alert] = []
        if new["day"] is None:
            new["d0"] = day
            new["day"] = day
        if day > new["day"]:
            alerts.extend(self._rollover(new, cats, day, unit, now))
        cat = event.category
        c = _upgrade(dict(cats.get(cat) or _new_cat()))
        if day == new["day"]:
            c["cur"] = c["cur"] + 1
            ub = c["ub"]
            if ub is not None and c["cur"] > ub and c["cur"] >= self._p.exceed_min_count and self._persists(c, day):
                a = self._exceed_alert(c, cat, unit, day, event, now)
                if a is not None:
                    alerts.append(a)
                    c["lv"] = LEVELS.index(a.level)
        cats[cat] = c
        return new, alerts

    def _meaningful(self, count: int, mu: float) -> bool:
        """A count that is a real excess for the category's level, not only an improbable one."""
        p = self._p
        return count >= p.exceed_min_ratio * mu and count - mu >= p.peak_min_excess

    def _persists(self, c: dict[str, Any], day: int) -> bool:
        """Today extends a run of `exceed_consecutive_days` meaningful-excess days.

        A seasonal shift the model has not learned yet lasts for days; a one-day spike is a
        burst, which the dynamic detector owns (pattern@1.1 raised both, mostly false).
        """
        need = self._p.exceed_consecutive_days - 1
        if need <= 0:
            return True
        xs = c.get("xs")
        return xs is not None and int(xs[0]) == day - 1 and int(xs[1]) >= need

    # -- day rollover ---------------------------------------------------------------------

    def _rollover(self, st: dict[str, Any], cats: dict[str, Any], day: int, unit: str, now: datetime) -> list[Alert]:
        closed = list(range(st["day"], day))
        first = closed[0]
        closed = closed[-_MAX_GAP_DAYS:]  # a longer silence is an outage, not a run of zero days
        actives = {d: _active(self._cal.features(day_date(d))) for d in closed}
        exposure: dict[str, float] = dict(st["x"])
        for d in closed:
            exposure = {k: w * self._model.de for k, w in exposure.items() if w * self._model.de > 1e-3}
            key = _combo(actives[d])
            exposure[key] = exposure.get(key, 0.0) + 1.0
        st["x"] = {k: round(w, 6) for k, w in sorted(exposure.items())}
        fit = design(st["x"])
        alerts: list[Alert] = []
        ahead = self._cal.days(day_date(day), self._p.horizon_days)
        for cat in sorted(cats):
            c = _upgrade(cats[cat])
            # was the day being closed a meaningful excess over its forecast? (`_persists`)
            hot = (
                first in actives
                and c["ub"] is not None
                and c["cur"] > c["ub"]
                and self._meaningful(c["cur"], self._model.mu(c, actives[first]))
            )
            xs = c.get("xs")
            run = int(xs[1]) + 1 if hot and xs is not None and int(xs[0]) == first - 1 else 1
            for d in closed:
                c = self._model.observe(c, c["cur"] if d == first else 0, actives[d], d)
            c = self._model.refit(dict(c, cur=0, lv=-1, ub=None), fit)
            if hot:
                c["xs"] = [first, run]
            # remember the forecast for `horizon_days` after the last closed day, to score it then
            ring = list(c.get("fh") or [])
            if len(ring) != len(ahead):  # first rollover, or horizon_days was changed
                ring = [None] * len(ahead)
            ring[(day - 1) % len(ring)] = round(self._model.mu(c, _active(ahead[-1])), 4)
            c["fh"] = ring
            c.setdefault("dh", [0.0, 0.0])
            if c["n"] >= self._p.min_history_days:
                mu_today = self._model.mu(c, _active(ahead[0]))
                c["ub"] = self._model.upper(c, mu_today)
                a = self._peak_alert(c, cat, unit, ahead, now) if self._peaks else None
                if a is not None:
                    alerts.append(a)
            cats[cat] = c
        st["day"] = day
        return alerts

    def _peak_alert(
        self, c: dict[str, Any], cat: str, unit: str, ahead: list[DayFeatures], now: datetime
    ) -> Alert | None:
        p = self._p
        mus = [self._model.mu(c, _active(f)) for f in ahead]
        i = max(range(len(mus)), key=lambda k: (mus[k], -k))
        peak, f = mus[i], ahead[i]
        normal = self._model.normal(c, f)
        # The excess must be large in absolute terms too, scaled to the category's own noise:
        # a quiet series (normal 4/day) swings by +-2 a day, so "1.5x" there is noise, while the
        # same ratio on 40/day is a real peak. peak_min_excess_sd Poisson SDs of the normal day.
        min_excess = max(p.peak_min_excess, p.peak_min_excess_sd * math.sqrt(max(normal, 0.0)))
        if normal <= 0 or peak < p.peak_ratio * normal or peak - normal < min_excess:
            return None
        ratio = peak / normal
        frac = math.log(ratio / p.peak_ratio) / math.log(p.peak_max_score_ratio / p.peak_ratio)
        score = min(1.0, p.score_bands[0] + (1.0 - p.score_bands[0]) * max(0.0, frac))
        level = level_for(score, p.score_bands)
        if level is None:
            return None
        # One alert per seasonal episode: while the forecast keeps showing a peak within
        # `episode_cooldown_days` of the episode's last elevated target day, it is the same
        # period (a three-month fishing season is one alert, not one per ISO week). The
        # episode keeps its first target as the alert id; a repeat is sent only when the level
        # rises (an update of the same alert), never as a new alert.
        target_day = epoch_day(f.day)
        lv = LEVELS.index(level)
        ep = c.get("pk")
        if ep is not None and target_day <= int(ep[1]) + p.episode_cooldown_days:
            first = day_date(int(ep[0]))
            c["pk"] = [int(ep[0]), max(int(ep[1]), target_day), max(int(ep[2]), lv)]
            if lv <= int(ep[2]):
                return None
        else:
            first = f.day
            c["pk"] = [target_day, target_day, lv]
        lo, hi = self._model.bounds(c, peak, i + 1)
        half = (hi - lo) / 2.0
        tags = _tags(f)
        why = f"({'、'.join(tags)})" if tags else ""
        place = "全区" if unit == DISTRICT else f"{unit}街镇"
        iso = first.isocalendar()
        target = f"{iso.year}-W{iso.week:02d}"  # the episode's first target week: stable per episode
        return Alert(
            alert_id=stable_id("pattern", unit, cat, "peak", target),
            type="pattern",
            level=level,
            unit=unit,
            subject=f"{unit}/{cat}",
            title=(
                f"{place}{category_label(cat)}预计{f.day.month}月{f.day.day}日前后出现高峰{why}:"
                f"预测{peak:.0f}±{half:.0f}起/日,常态约{normal:.0f}起"
            ),
            indicators=(
                Indicator(
                    "forecast_peak", round(peak, 3), round(p.peak_ratio * normal, 3), score, f"预测峰值{peak:.1f}起/日"
                ),
                Indicator("peak_ratio", round(ratio, 3), p.peak_ratio, score, f"为常态的{ratio:.1f}倍"),
            ),
            detector=f"{self.name}@{self.version}",
            created_at=now,
            score=round(score, 6),
            window_start=datetime.combine(f.day, datetime.min.time(), now.tzinfo),
            window_end=datetime.combine(f.day + timedelta(days=1), datetime.min.time(), now.tzinfo),
            action="提前研判,调配调解力量和值班人员,开展源头排查"
            + ("(节前欠薪排查)" if cat == "labour" and "春节前" in tags else ""),
            category=cat,
            departments=(CATEGORIES[cat][1],) if cat in CATEGORIES else (),
            details={
                "kind": "peak",
                "target_date": f.day.isoformat(),
                "target_week": target,
                "forecast": round(peak, 3),
                "lower": lo,
                "upper": hi,
                "normal": round(normal, 3),
                "expected": round(normal, 3),
                "observed": None,
                "history_days": c["n"],
                "tags": list(tags),
            },
        )

    def _exceed_alert(
        self, c: dict[str, Any], cat: str, unit: str, day: int, event: Event, now: datetime
    ) -> Alert | None:
        p = self._p
        f = self._cal.features(day_date(day))
        mu = self._model.mu(c, _active(f))
        # Beyond the bound must also be a meaningful excess for the category's level: 3 calls
        # where 1 was expected is improbable but not what a command centre acts on.
        if not self._meaningful(c["cur"], mu):
            return None
        pval = count_sf(c["cur"], mu, self._model.alpha(c))
        # beyond the upper bound is 1 day in 20 by construction; only a surprising count alerts
        score = surprise(pval, p.surprise_scale)
        level = level_for(score, p.score_bands)
        if level is None or LEVELS.index(level) <= c["lv"]:
            return None
        place = "全区" if unit == DISTRICT else f"{unit}街镇"
        d = day_date(day)
        return Alert(
            alert_id=stable_id("pattern", unit, cat, "exceed", d.isoformat()),
            type="pattern",
            level=level,
            unit=unit,
            subject=f"{unit}/{cat}",
            title=(
                f"{place}{category_label(cat)}今日已{c['cur']}起,超出预测上限{c['ub']}起"
                f"(预测约{mu:.1f}起,基于{c['n']}天历史)"
            ),
            indicators=(
                Indicator("daily_count", float(c["cur"]), float(c["ub"]), score, f"今日{c['cur']}起/上限{c['ub']}起"),
            ),
            detector=f"{self.name}@{self.version}",
            created_at=now,
            score=round(score, 6),
            evidence=(event.event_id,),
            window_start=datetime.combine(d, datetime.min.time(), event.occurred_at.tzinfo),
            window_end=datetime.combine(d + timedelta(days=1), datetime.min.time(), event.occurred_at.tzinfo),
            action="街镇矛调中心研判当日激增原因,加派力量",
            category=cat,
            departments=(CATEGORIES[cat][1],) if cat in CATEGORIES else (),
            details={
                "kind": "exceedance",
                "target_date": d.isoformat(),
                "observed": c["cur"],
                "expected": round(mu, 3),
                "upper": c["ub"],
                "p_value": pval,
                "history_days": c["n"],
            },
        )

    def forecast(self, state: DetectorState, start_date: date, days: int, unit: str = "") -> list[ForecastRow]:
        """Forecast rows for every category of one key's state (see module-level `forecast`)."""
        return forecast(state, start_date, days, unit=unit, params=self._p, calendar=self._cal)


def forecast(
    state: DetectorState,
    start_date: date,
    days: int,
    *,
    unit: str = "",
    params: PatternParams | None = None,
    calendar: Calendar | None = None,
) -> list[ForecastRow]:
    """Forecast `days` days from `start_date` for every category in one key's pattern state.

    Pure: the state is not changed. Days between the state's current day and `start_date`
    are forecast from the state as it is (nothing is learned from the gap).
    """
    p = params or PatternParams()
    cal = calendar or Calendar(p.calendar)
    model = _Model(p)
    rows: list[ForecastRow] = []
    feats = cal.days(start_date, days)
    # horizon 1 is the state's current day (the day after the last closed one)
    today = state.get("day")
    first_h = 1 if today is None else max(1, epoch_day(start_date) - int(today) + 1)
    for cat in sorted(state.get("c", {})):
        c = _upgrade(state["c"][cat])
        for i, f in enumerate(feats):
            mu = model.mu(c, _active(f))
            lo, hi = model.bounds(c, mu, first_h + i)
            rows.append(
                ForecastRow(
                    unit,
                    cat,
                    f.day,
                    round(mu, 3),
                    lo,
                    hi,
                    round(model.normal(c, f), 3),
                    _tags(f),
                    round(model.alpha(c, first_h + i), 6),
                )
            )
    return rows
