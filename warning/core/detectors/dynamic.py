"""Dynamic warning (动态预警): "is something unusual happening right now, here?"

Per street (the state key), the detector keeps one small series per (grid, category) and per
(street, category): hourly bucket counts of the sliding window, an exponentially decayed
event count (the level), and per category a time-of-week shape. Each event is scored
*before* it is learned (STYLE D4):

* **burst** - the window count ``k`` (last `window_hours` hours, this event included) against
  the expected count ``mu = rate x sum(shape over the window hours)``, via the upper tail ``p``
  of a negative binomial (`baselines.count_sf`). A street holds hundreds of grid x category
  series and each is tested every window, so ``p`` is adjusted for the family of tests
  (Bonferroni): ``p_adj = p x series at that level x windows per week`` is the number of such
  windows a street would see per week by chance. The score is ``-log10(p_adj) / scale``; the
  window must also exceed ``mu`` by `min_excess` events.
* **slow rise** - a negative-binomial CUSUM over daily counts per series, run once per day
  rollover, for the fortnight-long wave no single window shows; its threshold grows with
  ``ln(series)`` for the same multiple-testing reason (a CUSUM's false-alarm rate is about
  ``exp(-h)`` per series and day). The rise it is built for is `cusum_ratio` x the mean or
  `cusum_min_rise` more events a day, whichever is larger (a sparse grid's grievance grows in
  events, not in ratio); with grids scored, street series run no CUSUM (`cusum_street`).
* **marks as evidence** (issue 10) - a report carrying a mass-incident keyword (聚集/堵路/…)
  or a crowd (`mark_headcount`) is not an alert by itself: people say 聚集 in ordinary
  complaints and collective petitions happen every week. The window's tail probability is
  multiplied by the binomial tail of its marked share against the street's own learned share
  (`_mark_shares`), so two marked reports in one quiet grid window alert and a word the street
  uses every day does not. Measured on the realistic simulator (seeds 11-13, 45 days, strict
  evaluator): rules alone gave 674 alerts at 3.4 % precision; as evidence 68 alerts after the
  14-day probation at 22 % precision and 88 % recall. Marks are a place's evidence: the street
  level scores counts only, and only for bursts spread over its grids (`street_spread_share`).
* **several channels** reporting the same grid and category within minutes, once the baseline is
  warm and the reports are unusual for that grid (`multichannel_max_p`): in a busy grid three
  reports in half an hour are an ordinary morning.
* **episodes** - an alert within `episode_hours` of its subject's last one keeps its id (a new
  occurrence), and so does a rise the burst tipped: one incident, one alert on the desk.

Baseline. ``rate`` = decayed events / decayed exposure hours since the street was first seen
(half-life `half_life_days`, + 0.5 pseudo-event so a never-seen series is not "infinitely
surprising"). The shape is learned per category and street: hour-of-day counts and day-type
counts (workday / weekend / public holiday) against the street's exposure hours per day type,
shrunk toward the street's pooled shape with `shape_prior` pseudo-events per bin, which is
itself shrunk toward flat. Categories keep very different clocks - neighbour noise peaks at
20-22 h, family disputes on holidays, wage disputes in office hours on workdays - and a shape
pooled over categories under-predicts the evening of an evening category by 2x, which at the
far tail where alerts live means tens of times more false alerts. The shape learns each day's
counts at the day rollover, so a burst does not raise its own expected count.

Why these choices (measured: ``.venv/bin/python bench/bench_dynamic_quality.py --days 365``,
simulated district, seed 7, 17 streets, 70 injected bursts; "false" = alerts matching no
dynamic incident, per street per week; "v1" is the previous version of this detector):

=============================================  ======  ===========  =========  =========  ===========
variant                                        recall  false/st/wk  precision  alerts/yr  delay p90 h
=============================================  ======  ===========  =========  =========  ===========
v1: per-series p < 1e-3, pooled shape, LRU cap 100%    6.10         5.8%       5737       0.26
v2, scale 6 on p_adj, CUSUM h 8, cap 300       100%    0.17         61.6%      391        0.63
**v2 defaults: scale 3 on p_adj, CUSUM h 6**   100%    0.25         57.1%      517        0.42
=============================================  ======  ===========  =========  =========  ===========

v1's false alerts per street-week by family: window 2.95, CUSUM 2.49, multi-channel 0.57; v2's:
window 0.05, CUSUM 0.14, keyword 0.04, multi-channel 0.02, and 0.22 of the 0.25 coincide with
an incident the truth files under another warning type (a pattern peak a street CUSUM sees as
a rise, a case's "跳楼", a collective petition's headcount). Median delay is 0 h throughout:
the keyword and headcount rules see almost every injected mass incident in its first report.
Without the rules (windows and CUSUM only) v2 finds 95.7% of the bursts. On 60 days of pure
background (``--incidents 0``) v1 gave 1.70 false alerts per street-week, v2 0.06.

v1's window false alerts were 3 events in a grid whose expected count was ~0.08: each such
window is a 1-in-10,000 event, but a street tests ~400 series x 28 windows a week. Its CUSUM
false alerts came from series evicted by the `max_series` cap (least recently active first):
a returning series restarted from zero and every ordinary day looked like a 3-6x rise. The cap
now evicts the series with the smallest decayed level, whose rate is closest to the never-seen
prior anyway. Keyword and headcount rules find almost every injected mass incident within
minutes; windows and CUSUM are for what carries no such words.

Count model (measured with ``bench/dynamic_model_choice.py`` on v1): the Poisson tail ignores
over-dispersion and its false alerts grow with clustering, an EWMA z-score on sparse counts
gives thousands of false alerts, the negative-binomial tail keeps them flat. The dispersion is
pooled per street and estimated at the window's scale (window-sized blocks of each closed
day, against the baseline as it stood when the day began).

State (JSON, compact: it goes through a Kafka changelog on every update)::

    {"v": 2, "t0": first local hour, "hour": latest local hour, "day": current local day,
     "disp": [A, B],                              # pooled NB dispersion moments
     "x": [workday, weekend, holiday],            # decayed exposure hours per day type
     "shape": {"labour": [24 hour-of-day counts, 3 day-type counts], ...},   # decayed
     "today": {"labour": [24 hourly counts of the current day]},           # learned at rollover
     "s": {"labour": {"C02-G05": series, "*": street series}, ...},
     "recent": [[minute, channel, grid_id, category], ...],   # multi-channel rule
     "mk": {"labour": [events, with a word, with a crowd], "*": [...]},   # decayed, mark shares
     "mr": [[local hour, grid_id, category, word 0/1, crowd 0/1], ...],  # marked, open windows
     "ep": {"S03-C02-G05/labour": [first window bucket, last alert hour]}}  # open episodes

    series = [n, window, cusum, hours]    # trailing empty parts omitted
      n           decayed event count at the start of the current day (5 significant digits)
      window      [[hour of the day's clock, count, event ids...], ...]: the open window's
                  buckets and, for a grid series, the rest of the current day (its blocks feed
                  the dispersion and the CUSUM); ids only inside the window, at most
                  `evidence_max` in all (the newest), which are the alert's evidence
      cusum       [S, days, observed, expected] while the CUSUM is running, then the local
                  day its open-day count already crossed the threshold (the alert went out
                  then; the day's close resets the run without a second alert)
      hours       a street series' 24 hourly counts of the current day (the shape learns them)

Grid keys drop the street prefix (``S03-C02-G05`` -> ``C02-G05``; a grid outside its street's
code space keeps its full code behind ``!``); ``*`` is the street series.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from warning.core.calendar import Calendar, CalendarParams, day_date, local_hour_index, weekday_of_day
from warning.core.detectors.base import DetectorState, WholeStateDetector
from warning.core.detectors.baselines import binom_sf, count_sf, level_for, nb_cusum_step, surprise
from warning.core.events import Alert, Event, Indicator, stable_id
from warning.core.ports import KeySpace
from warning.core.taxonomy import CATEGORIES, CHANNEL_LABELS, category_label

DEFAULT_KEYWORDS: Final[tuple[tuple[str, float], ...]] = (
    ("聚集", 0.65),
    ("堵路", 0.8),
    ("围堵", 0.8),
    ("静坐", 0.65),
    ("拉横幅", 0.65),
    ("讨薪", 0.5),
    ("上访", 0.5),
    ("跳楼", 0.95),
)
_LN2: Final = math.log(2.0)
_STREET: Final = "*"
_HOURS_PER_WEEK: Final = 168.0
_DAY_TYPES: Final = 3  # workday, weekend, public holiday


def _r(x: float) -> float:
    """4 significant digits: plenty for a decayed count or moment; half a repr's bytes."""
    return float(f"{x:.4g}")


def _r3(x: float) -> float:
    """3 significant digits for shape weights: their own sampling noise is several percent."""
    return float(f"{x:.3g}")


@dataclass(frozen=True, slots=True)
class DynamicParams:
    """Typed parameters of `DynamicDetector` (thresholds ``[dynamic]``; meanings in thresholds.toml)."""

    window_hours: int = 6
    min_history_days: float = 14.0
    half_life_days: float = 28.0
    shape_half_life_days: float = 56.0
    shape_prior: float = 10.0
    min_count: int = 3
    min_excess: float = 3.0
    adjust_for_series: bool = True
    surprise_scale: float = 3.0
    score_bands: tuple[float, float, float, float] = (0.5, 0.65, 0.8, 0.95)
    dispersion_prior: float = 0.5
    dispersion_prior_weight: float = 5.0
    dispersion_max: float = 3.0
    grid_level: bool = True
    street_level: bool = True
    cusum_ratio: float = 2.0
    cusum_threshold: float = 6.0
    cusum_max_days: float = 28.0
    cusum_min_rise: float = 1.0
    cusum_street: bool = False
    mark_min_count: int = 2
    headcount_threshold: int = 20
    keywords: tuple[tuple[str, float], ...] = DEFAULT_KEYWORDS
    multichannel_minutes: int = 30
    multichannel_min_channels: int = 2
    multichannel_min_reports: int = 3
    multichannel_score: float = 0.65
    multichannel_max_p: float = 0.03
    evidence_max: int = 20
    rules_alone: bool = False
    mark_headcount: int = 5
    mark_prior: float = 0.05
    mark_prior_weight: float = 20.0
    episode_hours: float = 24.0
    street_spread_share: float = 0.5
    max_series: int = 600
    evict_after_days: int = 45
    calendar: CalendarParams = field(default_factory=CalendarParams)

    def __post_init__(self) -> None:
        if list(self.score_bands) != sorted(self.score_bands) or not all(0.0 < b <= 1.0 for b in self.score_bands):
            raise ValueError(f"score_bands must be increasing in (0, 1], got {self.score_bands}")
        if self.window_hours < 1 or self.window_hours > 168:
            raise ValueError("window_hours must be in 1..168")


_GRID_ACTION: Final = "网格员现场核查,必要时报街镇矛调中心"
_STREET_ACTION: Final = "街镇矛调中心研判并派单,必要时报区"
_MASS_ACTION: Final = "立即核实现场,网格员到场并报街镇,必要时通知属地派出所"
_RISE_ACTION: Final = "街镇矛调中心排查原因,组织源头化解"


def _kl_per_mu(ratio: float) -> float:
    """Expected log-likelihood gain per day and unit of mean under a `ratio`-fold rise (Poisson KL)."""
    return ratio * math.log(ratio) - ratio + 1.0


def _pack(n: float, w: list[Any], c: list[float], d: list[int]) -> list[Any]:
    """A series record with its trailing empty parts dropped (most series are dormant: ``[n]``)."""
    rec: list[Any] = [n, w, c, d]
    while len(rec) > 1 and not rec[-1]:
        rec.pop()
    return rec


def _unpack(rec: list[Any] | None) -> tuple[float, list[Any], list[float], list[int]]:
    if rec is None:
        return 0.0, [], [], []
    k = len(rec)
    return float(rec[0]), rec[1] if k > 1 else [], rec[2] if k > 2 else [], rec[3] if k > 3 else []


def _ids(rec: list[Any], lo: int) -> tuple[str, ...]:
    """Event ids of a series' open window (buckets after hour `lo`), oldest first."""
    return tuple(str(i) for b in (rec[1] if len(rec) > 1 else []) if b[0] > lo for i in b[2:])


def _day_type(cal: Calendar, day: int) -> int:
    """0 workday, 1 weekend, 2 public holiday (incl. 调休 days off) of a local epoch day."""
    if cal.is_holiday_day(day):
        return 2
    return 1 if weekday_of_day(day) >= 5 else 0


class _Shape:
    """Expected relative intensity per local hour of one category, from the state's shape tables.

    Built once per update (or per category at rollover); the pooled hour sums are added up
    lazily, only for the hours asked for (a window needs 6 of 24).
    """

    __slots__ = ("_cal", "_cat", "_dt_pooled", "_k", "_pooled", "_pooled_tot", "_prior", "_r", "_rows", "_tot", "_x")

    def __init__(self, st: dict[str, Any], cat: str, prior: float, cal: Calendar) -> None:
        shape: dict[str, list[float]] = st["shape"]
        self._cal = cal
        self._prior = prior
        self._k = prior * 24.0  # pseudo-events pulling a category's hour profile to the pooled one
        self._cat = shape.get(cat) or [0.0] * (24 + _DAY_TYPES)
        self._x: list[float] = st["x"]
        self._rows = list(shape.values())
        self._pooled: dict[int, float] = {}
        dt_pooled = [sum(row[24 + j] for row in self._rows) for j in range(_DAY_TYPES)]
        self._pooled_tot = sum(dt_pooled)
        self._tot = sum(self._cat[24:])
        x_tot = sum(self._x)
        self._r = self._tot / x_tot if x_tot > 0 else 0.0
        rate_all = self._pooled_tot / x_tot if x_tot > 0 else 0.0
        # pooled day-type factors (shrunk to 1), the prior of each category's own
        self._dt_pooled = [(dt_pooled[j] + prior) / (self._x[j] * rate_all + prior) for j in range(_DAY_TYPES)]

    def day_factor(self, day: int) -> float:
        """Day-type factor of the category on local day `day` (exposure-weighted mean ~1)."""
        j = _day_type(self._cal, day)
        return float((self._cat[24 + j] + self._prior * self._dt_pooled[j]) / (self._x[j] * self._r + self._prior))

    def hour_factor(self, hod: int) -> float:
        """Hour-of-day factor of the category (mean 1 over a day)."""
        pooled_h = self._pooled.get(hod)
        if pooled_h is None:
            pooled_h = self._pooled[hod] = sum(row[hod] for row in self._rows)
        pooled = (pooled_h + self._prior) / (self._pooled_tot + 24.0 * self._prior)
        return 24.0 * (self._cat[hod] + self._k * pooled) / (self._tot + self._k)

    def total(self, lo: int, hi: int) -> float:
        """Sum of the factors over local hours ``lo .. hi-1``."""
        out = 0.0
        day = None
        df = 1.0
        for hh in range(lo, hi):
            if hh // 24 != day:
                day = hh // 24
                df = self.day_factor(day)
            out += self.hour_factor(hh % 24) * df
        return out


@dataclass(frozen=True, slots=True)
class _Ctx:
    """What every test of one event shares: the event, its local hour, the baseline's state."""

    event: Event
    h: int
    warm: bool
    hist_days: float
    win_shape: float
    alpha: float
    now: datetime


class DynamicDetector(WholeStateDetector):
    """Bursts, slow rises and mass-incident signals per (grid|street, category), keyed by street.

    Parameters
    ----------
    params : DynamicParams, optional
        Window, warm-up, decay, score bands, rules; defaults are the shipped thresholds.

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> from warning.core.events import Event, Location
    >>> tz = timezone(timedelta(hours=8))
    >>> det = DynamicDetector()
    >>> ev = Event("e1", "grid", "r1", datetime(2026, 3, 2, 9, tzinfo=tz),
    ...            datetime(2026, 3, 2, 9, tzinfo=tz), Location("S03", "S03-C02", "S03-C02-G05"),
    ...            "labour", headcount=30, text="工人聚集讨薪")
    >>> det.key(ev)
    'S03'
    >>> state, alerts = det.step(det.init_state(), ev, ev.occurred_at)
    >>> alerts  # one report with the words and the crowd is evidence, not yet a situation
    []
    >>> state["s"]["labour"]["C02-G05"]  # [decayed count at 00:00, [[hour, count, event ids]]]
    [1.009, [[9, 1, 'e1']]]
    >>> state["mk"]["labour"], state["mr"]  # [events, with a word, with a crowd]; marked events
    ([1.0, 1.0, 1.0], [[492345, 'S03-C02-G05', 'labour', 1, 1]])
    """

    name = "dynamic"
    version = "2.0"
    key_space: KeySpace = "street"

    def __init__(self, params: DynamicParams | None = None) -> None:
        self.params = params
        p = params or DynamicParams()
        self._p = p
        self._cal = Calendar(p.calendar)
        self._tau = p.half_life_days * 24.0 / _LN2
        self._tau_s = p.shape_half_life_days * 24.0 / _LN2
        self._blocks = -(-24 // p.window_hours)
        self._windows_per_week = _HOURS_PER_WEEK / p.window_hours

    # -- protocol -------------------------------------------------------------------------

    def init_state(self) -> DetectorState:
        """Empty state of a street."""
        return {
            "v": 2,
            "street": None,
            "t0": None,
            "hour": None,
            "day": None,
            "disp": [0.0, 0.0],
            "x": [0.0] * _DAY_TYPES,
            "shape": {},
            "s": {},
            "recent": [],
            "mk": {},
            "mr": [],
            "ep": {},
        }

    def key(self, event: Event) -> str:
        """The street code: one state holds all grids x categories of that street."""
        return event.location.street

    def step(self, state: DetectorState, event: Event, now: datetime) -> tuple[DetectorState, list[Alert]]:
        """Score the event (windows with their marks, the multi-channel rule), then learn it."""
        p = self._p
        h = local_hour_index(event.occurred_at)
        # a v1 state (changelog written before this layout) cannot be read: start the street afresh
        new: dict[str, Any] = dict(state) if state.get("v") == 2 else self.init_state()
        for part, empty in (("mk", {}), ("mr", []), ("ep", {})):  # v2 states written before marks
            new.setdefault(part, empty)
        alerts: list[Alert] = []
        if new["t0"] is None:
            new.update(street=event.location.street, t0=h, hour=h, day=h // 24)
        day = h // 24
        if day > new["day"]:
            alerts.extend(self._rollover(new, day, now))
        new["hour"] = max(new["hour"], h)
        hist_days = (new["hour"] - new["t0"]) / 24.0
        warm = hist_days >= p.min_history_days
        cat = event.category
        shape = _Shape(new, cat, p.shape_prior, self._cal) if warm else None
        # expected share of the window (flat before the shape is learned), shared by every series
        # of this category scored now
        lo_h = new["hour"] - p.window_hours + 1
        win_shape = shape.total(lo_h, new["hour"] + 1) if shape else float(p.window_hours)
        ctx = _Ctx(event, h, warm, hist_days, win_shape, self._alpha(new["disp"]), now)
        marks = self._marks(event)
        self._remember_marks(new, event, h, marks)
        all_series: dict[str, Any] = dict(new["s"])
        series: dict[str, Any] = dict(all_series.get(cat) or {})
        all_series[cat] = series
        new["s"] = all_series
        mc = self._multichannel(new, event, shape, series, ctx)
        alerts.extend(self._score_grid(new, series, ctx, mc))
        alerts.extend(self._score_street(new, series, ctx, mc))
        self._learn_marks(new, cat, marks)
        return new, alerts

    def _score_grid(self, st: dict[str, Any], series: dict[str, Any], ctx: _Ctx, mc: list[Indicator]) -> list[Alert]:
        """The event's grid x category window (with its marks) and the mass-incident rules."""
        p = self._p
        event = ctx.event
        if not p.grid_level:
            return []
        grid, street, cat = event.location.grid_id, event.location.street, event.category
        base = st["day"] * 24
        hd, eh = st["hour"] - base, ctx.h - base
        gsub = self._sub(grid, street)
        old = series.get(gsub)
        rec = self._touch(old, event, eh, hd)
        series[gsub] = rec
        n_tests = self._tests(st["s"], grid_level=True)
        inds, details = self._burst(rec, _unpack(old)[0], ctx, n_tests, st, self._window_marks(st, cat, grid))
        rules = self._rule_indicators(event)
        inds = inds + rules if (inds or p.rules_alone) else inds
        a = self._alert(st, f"{grid}/{cat}", grid, "grid", ctx, inds + mc, _ids(rec, hd - p.window_hours), details)
        return ([a] if a is not None else []) + self._rise_today(st, series, gsub, ctx)

    def _rise_today(self, st: dict[str, Any], series: dict[str, Any], gsub: str, ctx: _Ctx) -> list[Alert]:
        """A running CUSUM tested with the open day's count so far, so a slow rise is raised on
        the report that tips it rather than when the day closes (up to a day later).

        The day's step is increasing in its count and the day's expectation is the one the close
        will use, so a crossing now is one the close would make too: the same alarms, earlier,
        never extra ones. Only a running CUSUM is tested (a run starts at a day's close).
        """
        p = self._p
        n, w, c, d = _unpack(series[gsub])
        if not (ctx.warm and c and float(c[0]) > 0 and (len(c) < 5 or int(c[4]) != st["day"])):
            return []
        cat = ctx.event.category
        y = sum(self._grid_blocks(w))
        rate = self._rate(max(0.0, n - y), 0, st)
        shape = _Shape(st, cat, p.shape_prior, self._cal)
        hours = [shape.hour_factor(hh) * shape.day_factor(st["day"]) for hh in range(24)]
        mu = rate * sum(hours)
        if mu <= 0:
            return []
        cs = self._cusum_day(float(c[0]), y, mu, self._block_means(rate, hours), ctx.alpha, self._cusum_ratio(mu))
        n_series = self._family(st["s"], grid_level=True)
        if cs < p.cusum_threshold + math.log(n_series):
            return []
        rise = (cs, int(c[1]) + 1, int(c[2]) + y, float(c[3]) + mu)
        unit = self._unit(gsub, st["street"])
        evidence = tuple(str(x) for b in w for x in b[2:])
        a = self._rise_alert(unit, cat, False, rise, ctx.alpha, n_series, evidence, st["day"], ctx.now, ctx.hist_days)
        series[gsub] = _pack(n, w, [*c[:4], st["day"]], d)
        return [self._continuing(st, a, st["day"])]

    def _score_street(self, st: dict[str, Any], series: dict[str, Any], ctx: _Ctx, mc: list[Indicator]) -> list[Alert]:
        """The street x category window: kept at every setting (its hourly counts feed the shape),
        scored only for a burst spread over the street's grids (a one-grid burst is the grid's)."""
        p = self._p
        event = ctx.event
        street, cat = event.location.street, event.category
        base = st["day"] * 24
        hd, eh = st["hour"] - base, ctx.h - base
        lo = hd - p.window_hours
        old = series.get(_STREET)
        rec = self._touch(old, event, eh, hd, street=True)
        series[_STREET] = rec
        if not p.street_level:
            return []
        n_tests = self._tests(st["s"], grid_level=False)
        # marks are a place's evidence: scattered over a street's grids they are its ordinary days
        # (measured: 49 of 49 street alerts raised by marks matched no incident, issue 10)
        no_marks = (0, 0, 0.0, 0.0)
        marks = no_marks if p.grid_level else self._window_marks(st, cat, None)
        inds, details = self._burst(rec, _unpack(old)[0], ctx, n_tests, st, marks)
        if inds and p.grid_level and not self._spread(series, lo, int(details["observed"])):
            return []
        if not p.grid_level:
            rules = self._rule_indicators(event)
            inds = inds + rules + mc if (inds or p.rules_alone) else inds + mc
        # with grid series on, the street window's event ids live in its grids' windows
        ev_ids = self._street_evidence(series, lo) if p.grid_level else _ids(rec, lo)
        a = self._alert(st, f"{street}/{cat}", street, "street", ctx, inds, ev_ids, details)
        return [a] if a is not None else []

    # -- pieces ---------------------------------------------------------------------------

    @staticmethod
    def _sub(grid: str, street: str) -> str:
        """The grid's key inside its street's state (street prefix dropped)."""
        prefix = street + "-"
        return grid[len(prefix) :] if grid.startswith(prefix) and len(grid) > len(prefix) else "!" + grid

    @staticmethod
    def _unit(sub: str, street: str) -> str:
        if sub == _STREET:
            return street
        return sub[1:] if sub.startswith("!") else f"{street}-{sub}"

    def _street_evidence(self, series: dict[str, Any], lo: int) -> tuple[str, ...]:
        """The newest `evidence_max` ids of a category's grid windows (the street window's events)."""
        items = [
            (int(b[0]), sub, i, str(x))
            for sub, rec in series.items()
            if sub != _STREET and len(rec) > 1
            for b in rec[1]
            if b[0] > lo
            for i, x in enumerate(b[2:])
        ]
        items.sort()
        return tuple(x for *_, x in items[-self._p.evidence_max :])

    def _family(self, all_series: dict[str, Any], grid_level: bool) -> float:
        """Series tested at one level of the street (the multiple-testing family); 1 when not adjusting."""
        if not self._p.adjust_for_series:
            return 1.0
        streets = sum(1 for ser in all_series.values() if _STREET in ser)
        total = sum(len(ser) for ser in all_series.values())
        return float(max(1, total - streets if grid_level else streets))

    def _tests(self, all_series: dict[str, Any], grid_level: bool) -> float:
        """Window tests per street-week at one level: series x windows per week (1 when not adjusting)."""
        if not self._p.adjust_for_series:
            return 1.0
        return self._family(all_series, grid_level) * self._windows_per_week

    def _alpha(self, disp: list[float]) -> float:
        p = self._p
        a_sum = disp[0] + p.dispersion_prior * p.dispersion_prior_weight
        b_sum = disp[1] + p.dispersion_prior_weight
        return min(p.dispersion_max, max(0.0, a_sum / b_sum))

    def _rate(self, n: float, hd: int, st: dict[str, Any]) -> float:
        """Events per hour of a series whose decayed count at the start of ``st['day']`` is `n`,
        at hour `hd` of that day's clock (before learning the current event)."""
        n_dec = n * math.exp(-hd / self._tau)
        exposure = self._tau * (1.0 - math.exp(-max(1, st["day"] * 24 + hd - st["t0"]) / self._tau))
        return float((n_dec + 0.5) / exposure)

    def _touch(self, old: list[Any] | None, event: Event, eh: int, hd: int, street: bool = False) -> list[Any]:
        """The series after adding the event at hour `eh` of the day's clock (`hd` = latest hour).

        Window buckets ``[hour, count, ids...]`` hold the open window and, for a grid series, the
        rest of the current day (ids only inside the window): the day's blocks for the dispersion
        and the CUSUM are read from them at rollover. A street series counts the day by hour
        instead (its category's hourly counts, which the shape learns) and, when grid series are
        kept, holds no event ids (its grids do).
        """
        p = self._p
        n, w, c, d = _unpack(old)
        keep_ids = not (street and p.grid_level)
        lo = max(hd, eh) - p.window_hours  # the window: hours after lo
        keep_from = lo + 1 if street else min(lo + 1, 0)
        buckets = [b if b[0] > lo or len(b) == 2 else b[:2] for b in w if b[0] >= keep_from]
        if eh > lo or (eh >= 0 and not street):  # an older late event counts for the level only
            new_id = [event.event_id] if keep_ids and eh > lo else []
            for i, b in enumerate(buckets):
                if b[0] == eh:
                    buckets[i] = [eh, b[1] + 1, *b[2:], *new_id]
                    break
            else:
                buckets.append([eh, 1, *new_id])
                buckets.sort(key=lambda b: int(b[0]))
            extra = sum(len(b) - 2 for b in buckets) - p.evidence_max
            if extra > 0:  # keep the newest ids: drop from the oldest buckets
                trimmed = []
                for b in buckets:
                    cut = min(extra, len(b) - 2)
                    extra -= cut
                    trimmed.append([b[0], b[1], *b[2 + cut :]])
                buckets = trimmed
        # learn the level: the decayed count at the day's start, one more event (a late event
        # weighs less, a later one slightly more: the same exponential kernel either way)
        n_new = n + math.exp(eh / self._tau)
        hours = list(d)
        if street and eh >= 0:
            hours = hours or [0] * 24
            hours[eh] += 1
        return _pack(_r(n_new), buckets, c, hours)

    def _burst(
        self,
        rec: list[Any],
        n_before: float,
        ctx: _Ctx,
        n_tests: float,
        st: dict[str, Any],
        marks: tuple[int, int, float, float],
    ) -> tuple[list[Indicator], dict[str, Any]]:
        """The window's count and its marked events against the baseline, as one tail probability.

        ``p = P(K >= k) x P(Bin(k, f_word) >= k_word) x P(Bin(k, f_crowd) >= k_crowd)``: how often
        a window this full, with this many of its events carrying a mass-incident word or a crowd,
        happens by chance, the mark shares ``f`` being the street's own (learned, `_mark_shares`).
        Words and crowds are evidence, not verdicts: people say 聚集 in ordinary complaints and
        collective petitions happen every week, so a single marked report in a quiet grid is
        about as surprising as its share says, and two in one window are a situation.
        """
        p = self._p
        hd = st["hour"] - st["day"] * 24
        w = rec[1] if len(rec) > 1 else []
        k = sum(int(b[1]) for b in w if b[0] > hd - p.window_hours)
        kw, kc, fw, fc = marks
        marked = kw + kc > 0
        if not ((marked and k >= p.mark_min_count) or (ctx.warm and k >= p.min_count)):
            # one marked report alone is a complaint, not a situation: in a near-silent grid
            # (mu ~0.01) its p = mu x share is tiny however ordinary the words are
            return [], {}
        mu = self._rate(n_before, hd, st) * ctx.win_shape
        if not marked and k - mu < p.min_excess:
            return [], {}
        p_count = count_sf(k, mu, ctx.alpha)
        pval = p_count * binom_sf(kw, k, fw) * binom_sf(kc, k, fc)
        p_adj = min(1.0, pval * n_tests)
        score = surprise(p_adj, p.surprise_scale)
        if score < p.score_bands[0]:
            return [], {}
        ind = Indicator(
            name="window_count",
            value=float(k),
            threshold=round(mu, 3),
            contribution=score,
            label=f"近{p.window_hours}小时{k}起,常态约{mu:.1f}起"
            + (f",其中{kw + kc}起含聚集/人数信号" if marked else ""),
        )
        tail = Indicator(
            name="tail_probability",
            value=p_adj,
            threshold=10.0 ** (-p.surprise_scale * p.score_bands[0]),
            contribution=score,
            label="负二项尾概率(按街镇序列数校正)" if p.adjust_for_series else "负二项尾概率",
        )
        details = {
            "observed": k,
            "expected": round(mu, 4),
            "marked": [kw, kc],
            "mark_shares": [round(fw, 4), round(fc, 4)],
            "p_value": pval,
            "p_count": p_count,
            "p_adjusted": p_adj,
            "tests_per_week": round(n_tests),
            "dispersion": round(ctx.alpha, 4),
            "window_hours": p.window_hours,
            "score": score,
        }
        return [ind, tail], details

    # -- marks: mass-incident words and crowds as evidence ---------------------------------

    def _marks(self, event: Event) -> tuple[bool, bool]:
        """(carries a mass-incident keyword, involves a crowd of at least `mark_headcount`)."""
        p = self._p
        word = bool(event.text) and any(kw in event.text for kw, _ in p.keywords)
        return word, event.headcount >= p.mark_headcount

    def _remember_marks(self, st: dict[str, Any], event: Event, h: int, marks: tuple[bool, bool]) -> None:
        """Keep the marked events of the open windows: ``[hour, grid, category, word, crowd]``."""
        p = self._p
        keep_from = st["hour"] - 2 * p.window_hours
        recent = [r for r in st["mr"] if r[0] > keep_from]
        if any(marks):
            recent.append([h, event.location.grid_id, event.category, int(marks[0]), int(marks[1])])
        st["mr"] = recent[-256:]

    def _window_marks(self, st: dict[str, Any], cat: str, grid: str | None) -> tuple[int, int, float, float]:
        """Marked events in the open window of a grid (or, `grid` None, the street) and category,
        with the street's learned shares of each mark in that category."""
        lo = st["hour"] - self._p.window_hours
        rows = [r for r in st["mr"] if r[0] > lo and r[2] == cat and (grid is None or r[1] == grid)]
        fw, fc = self._mark_shares(st["mk"], cat)
        return sum(int(r[3]) for r in rows), sum(int(r[4]) for r in rows), fw, fc

    def _mark_shares(self, mk: dict[str, list[float]], cat: str) -> tuple[float, float]:
        """Shares of events with a word / a crowd: the category's decayed counts shrunk toward the
        street's, which are shrunk toward `mark_prior` (a street's first days know nothing)."""
        p = self._p
        n_all, w_all, c_all = mk.get(_STREET) or [0.0, 0.0, 0.0]
        k = p.mark_prior_weight
        fw_st = (w_all + k * p.mark_prior) / (n_all + k)
        fc_st = (c_all + k * p.mark_prior) / (n_all + k)
        n, w, c = mk.get(cat) or [0.0, 0.0, 0.0]
        return (w + k * fw_st) / (n + k), (c + k * fc_st) / (n + k)

    def _learn_marks(self, st: dict[str, Any], cat: str, marks: tuple[bool, bool]) -> None:
        mk = dict(st["mk"])
        for key in (cat, _STREET):
            n, w, c = mk.get(key) or [0.0, 0.0, 0.0]
            mk[key] = [_r(n + 1), _r(w + marks[0]), _r(c + marks[1])]
        st["mk"] = mk

    def _spread(self, series: dict[str, Any], lo: int, k: int) -> bool:
        """True when no single grid holds more than `street_spread_share` of the street window."""
        per_grid = [
            sum(int(b[1]) for b in rec[1] if b[0] > lo)
            for sub, rec in series.items()
            if sub != _STREET and len(rec) > 1
        ]
        return max(per_grid, default=0) <= self._p.street_spread_share * k

    def _rule_indicators(self, event: Event) -> list[Indicator]:
        """Headcount and keyword indicators: the explanation a window alert carries (and, with
        `rules_alone`, alerts of their own, as before issue 10)."""
        p = self._p
        out: list[Indicator] = []
        if event.headcount >= p.headcount_threshold:
            ratio = event.headcount / p.headcount_threshold
            score = min(1.0, p.score_bands[1] + (1.0 - p.score_bands[1]) * math.log(ratio) / math.log(5.0))
            out.append(
                Indicator(
                    "headcount",
                    float(event.headcount),
                    float(p.headcount_threshold),
                    score,
                    f"涉及约{event.headcount}人",
                )
            )
        if event.text:
            hits = [(kw, sc) for kw, sc in p.keywords if kw in event.text]
            if hits:
                score = max(sc for _, sc in hits)
                words = "、".join(f"“{kw}”" for kw, _ in hits)
                out.append(Indicator("keyword", float(len(hits)), 1.0, score, f"关键词{words}"))
        return out

    def _multichannel(
        self, st: dict[str, Any], event: Event, shape: _Shape | None, series: dict[str, Any], ctx: _Ctx
    ) -> list[Indicator]:
        """Several channels about the same matter at the same place: same grid AND same category,
        at least `multichannel_min_reports` reports from `multichannel_min_channels` channels, and
        (once the baseline is warm) unusual for that grid. Two unrelated reports from one grid
        within half an hour are common in a busy district (~90 false alerts/day when any two
        counted), and a busy grid's evening is not a mass incident."""
        p = self._p
        minute = int(event.occurred_at.timestamp() // 60)
        lo = minute - p.multichannel_minutes
        newest = max([minute, *(r[0] for r in st["recent"])])
        # entries older than two windows before the newest can only matter to a very late event
        recent = [r for r in st["recent"] if r[0] >= newest - 2 * p.multichannel_minutes]
        grid = event.location.grid_id
        same = [
            r
            for r in recent
            if lo <= r[0] <= minute + p.multichannel_minutes and r[2] == grid and r[3] == event.category
        ]
        channels = {r[1] for r in same} | {event.channel}
        reports = len(same) + 1
        recent.append([minute, event.channel, grid, event.category])
        st["recent"] = recent[-64:]
        if len(channels) < p.multichannel_min_channels or reports < p.multichannel_min_reports:
            return []
        if shape is None or not p.grid_level:
            if not p.rules_alone:
                return []  # no baseline to say the reports are unusual: the windows decide
            pval = 0.0
        else:
            hd = st["hour"] - st["day"] * 24
            n_before = _unpack(series.get(self._sub(grid, event.location.street)))[0]
            mc_mu = self._rate(n_before, hd, st) * (
                shape.hour_factor(ctx.h % 24) * shape.day_factor(ctx.h // 24) * p.multichannel_minutes / 60.0
            )
            mc_tests = self._family(st["s"], grid_level=True) * _HOURS_PER_WEEK * 60.0 / p.multichannel_minutes
            pval = min(1.0, count_sf(reports, mc_mu, ctx.alpha) * (mc_tests if p.adjust_for_series else 1.0))
        if pval > p.multichannel_max_p:
            return []
        names = "、".join(CHANNEL_LABELS.get(c, c) for c in sorted(channels))
        label = f"{p.multichannel_minutes}分钟内{len(channels)}个渠道({names}){reports}次报告同一地点同类事件"
        return [
            Indicator(
                "multi_channel", float(len(channels)), float(p.multichannel_min_channels), p.multichannel_score, label
            )
        ]

    def _alert(
        self,
        st: dict[str, Any],
        subject: str,
        unit: str,
        scope: str,
        ctx: _Ctx,
        inds: list[Indicator],
        evidence: tuple[str, ...],
        details: dict[str, Any],
    ) -> Alert | None:
        if not inds:
            return None
        p = self._p
        score = max(i.contribution for i in inds)
        level = level_for(score, p.score_bands)
        if level is None:
            return None
        event, h = ctx.event, ctx.h
        cat = event.category
        label = category_label(cat)
        place = f"{unit}网格" if scope == "grid" else f"{unit}街镇"
        names = {i.name for i in inds}
        parts: list[str] = []
        if "window_count" in names:
            parts.append(
                f"{place}{label}异常增多:近{p.window_hours}小时{details['observed']}起,"
                f"常态约{details['expected']:.1f}起(基于{ctx.hist_days:.0f}天历史)"
            )
        rule_labels = [i.label for i in inds if i.name in ("headcount", "keyword", "multi_channel")]
        if rule_labels:
            parts.append(f"{place}{label}疑似群体性事件苗头:" + ",".join(rule_labels))
        action = _MASS_ACTION if rule_labels else (_GRID_ACTION if scope == "grid" else _STREET_ACTION)
        bucket = h // p.window_hours
        wstart = self._window_start(event, bucket)
        det = dict(details)
        det.update(
            scope=scope,
            history_days=round(ctx.hist_days, 1),
            baseline_ready=ctx.warm,
            window_bucket=bucket,
        )
        return Alert(
            alert_id=stable_id("dynamic", subject, str(self._episode(st, subject, bucket, h))),
            type="dynamic",
            level=level,
            unit=unit,
            subject=subject,
            title=";".join(parts),
            indicators=tuple(inds),
            detector=f"{self.name}@{self.version}",
            created_at=ctx.now,
            score=round(score, 6),
            evidence=evidence,
            window_start=wstart,
            window_end=wstart + timedelta(hours=p.window_hours),
            action=action,
            category=cat,
            departments=(CATEGORIES[cat][1],) if cat in CATEGORIES else (),
            details=det,
        )

    def _continuing(self, st: dict[str, Any], rise: Alert, day: int) -> Alert:
        """A rise seen while a burst episode of the same subject is open is that episode's alert
        (the burst's day is what tipped the CUSUM): same id, a new occurrence, not a second alert."""
        ep = st["ep"].get(rise.subject)
        if ep is None or (day + 1) * 24 - int(ep[1]) > self._p.episode_hours:
            return rise
        return dataclasses.replace(rise, alert_id=stable_id("dynamic", rise.subject, str(int(ep[0]))))

    def _window_start(self, event: Event, bucket: int) -> datetime:
        offset = event.occurred_at.utcoffset() or timedelta(0)
        return datetime.fromtimestamp(
            bucket * self._p.window_hours * 3600 - offset.total_seconds(), event.occurred_at.tzinfo
        )

    def _episode(self, st: dict[str, Any], subject: str, bucket: int, h: int) -> int:
        """The window bucket that opened the subject's episode: an alert within `episode_hours` of
        the subject's last one continues it (same alert id, a new occurrence), so one burst that
        spans windows is one alert on the desk, not one per window."""
        eps = dict(st["ep"])
        first, last = eps.get(subject) or (bucket, h)
        if h - int(last) > self._p.episode_hours or int(first) > bucket:
            first = bucket
        eps[subject] = [int(first), max(int(last), h)]
        st["ep"] = eps
        return int(first)

    def _rollover(self, st: dict[str, Any], day: int, now: datetime) -> list[Alert]:
        """Close days ``st['day'] .. day-1``: dispersion, CUSUM, shape learning, eviction."""
        p = self._p
        alerts: list[Alert] = []
        first = st["day"]
        closed = list(range(first, day))
        t0 = st["t0"]
        hist_days = (day * 24 - t0) / 24.0
        warm = hist_days >= p.min_history_days
        alpha = self._alpha(st["disp"])
        decay = math.exp(-24.0 * len(closed) / self._tau)
        a_sum, b_sum = st["disp"][0] * decay, st["disp"][1] * decay
        all_series: dict[str, dict[str, list[Any]]] = st["s"]
        out_series: dict[str, dict[str, list[Any]]] = {}
        today: dict[str, list[int]] = {}  # hourly counts of the first closed day per category
        shift = 24 * len(closed)  # series hours move to the new day's clock
        wh = p.window_hours
        # a CUSUM's false-alarm rate is about exp(-h) per series and day: add ln(series) per level
        sizes = {lvl: self._family(all_series, lvl) for lvl in (True, False)}
        thresholds = {lvl: p.cusum_threshold + math.log(sizes[lvl]) for lvl in (True, False)}
        evict_below = 0.5 ** (p.evict_after_days / p.half_life_days)
        for cat in sorted(all_series):
            # expected counts of the closed days come from the shape as it stood when they began
            # (the day's own counts are learned below): a day inside its own baseline hides its
            # dispersion and its rise
            shape = _Shape(st, cat, p.shape_prior, self._cal)
            day_hours = {d: [shape.hour_factor(hh) * shape.day_factor(d) for hh in range(24)] for d in closed[-14:]}
            out: dict[str, list[Any]] = {}
            for sub in sorted(all_series[cat]):
                n, w, c, d = _unpack(all_series[cat][sub])
                is_street = sub == _STREET
                blocks = [0] * self._blocks
                if is_street:
                    if d:
                        today[cat] = list(d)
                        blocks = [sum(d[b * wh : (b + 1) * wh]) for b in range(self._blocks)]
                else:
                    blocks = self._grid_blocks(w)
                w = [[b[0] - shift, *b[1:]] for b in w if b[0] - shift > -wh]
                n_next = n * math.exp(-shift / self._tau)
                cs, cd, cy, cm = (float(c[0]), int(c[1]), int(c[2]), float(c[3])) if c else (0.0, 0, 0, 0.0)
                raised = int(c[4]) if len(c) > 4 else None  # the day whose open count raised it
                scored = p.street_level if is_street else p.grid_level
                # with grids scored, a street-wide rise of a category is the pattern detector's
                # question (a season, a campaign); measured on seeds 11-12: street CUSUM alerts
                # were 28 of the 76 false alerts (issue 10)
                rises = p.cusum_street or not is_street or not p.grid_level
                for i, dd in enumerate(closed[-14:] if scored and warm else []):
                    ys = blocks if (i == 0 and dd == first) else [0] * self._blocks
                    y = sum(ys)
                    n_d = n * math.exp(-24.0 * (dd - first) / self._tau)
                    rate = self._rate(max(0.0, n_d - y), (dd - first) * 24, st)
                    hours = day_hours[dd]
                    mu = rate * sum(hours)
                    if mu <= 0:
                        continue
                    # dispersion at the scale that is scored: window-sized blocks of the day
                    mubs = self._block_means(rate, hours)
                    for yb, mub in zip(ys, mubs, strict=True):
                        a_sum += (yb - mub) ** 2 - mub
                        b_sum += mub * mub
                    h_cusum = thresholds[not is_street]
                    ratio = self._cusum_ratio(mu)
                    if not rises or (cs == 0.0 and (y == 0 or mu * _kl_per_mu(ratio) * p.cusum_max_days < h_cusum)):
                        # a quiet day cannot start a rise, and in a series this sparse a real rise
                        # could not reach the threshold within cusum_max_days: by then the level
                        # has absorbed it, and a run would only track noise
                        continue
                    cs = self._cusum_day(cs, y, mu, mubs, alpha, ratio)
                    if cs > 0:
                        cd, cy, cm = cd + 1, cy + y, cm + mu
                    else:
                        cs, cd, cy, cm = 0.0, 0, 0, 0.0
                    if dd == raised:
                        cs, cd, cy, cm = 0.0, 0, 0, 0.0  # alerted during the day (`_rise_today`)
                    elif cs >= h_cusum:
                        unit = self._unit(sub, st["street"])
                        evidence = tuple(str(x) for b in w for x in b[2:])
                        rise = (cs, cd, cy, cm)
                        n_series = sizes[not is_street]
                        a = self._rise_alert(unit, cat, is_street, rise, alpha, n_series, evidence, dd, now, hist_days)
                        alerts.append(self._continuing(st, a, dd))
                        cs, cd, cy, cm = 0.0, 0, 0, 0.0
                cusum = [_r(cs), cd, cy, _r(cm)] if cs > 0 else []
                # eviction: a series whose level fell below that of one event evict_after_days
                # ago, with nothing open, carries no information the never-seen prior lacks
                if n_next < evict_below and not w and not cusum:
                    continue
                out[sub] = _pack(_r(n_next), w, cusum, [])
            if out:
                out_series[cat] = out
        st["disp"] = [_r(a_sum), _r(b_sum)]
        st["mk"] = {c: [_r(v * decay) for v in row] for c, row in st.get("mk", {}).items() if row[0] * decay >= 0.01}
        horizon = day * 24 - self._p.episode_hours
        st["ep"] = {k: v for k, v in st.get("ep", {}).items() if v[1] >= horizon}
        self._learn_shape(st, closed, today)
        st["day"] = day
        # beyond the cap, drop the smallest levels: their rate is closest to the never-seen prior,
        # so dropping them loses least (dropping the least recently active instead made returning
        # series look like 3-6x rises to the CUSUM)
        total = sum(len(v) for v in out_series.values())
        if total > p.max_series:
            ranked = sorted((float(v[0]), cat, k) for cat, ser in out_series.items() for k, v in ser.items())
            for _, cat, k in ranked[: total - p.max_series]:
                del out_series[cat][k]
        st["s"] = {cat: ser for cat, ser in out_series.items() if ser}
        return alerts

    def _grid_blocks(self, w: list[Any]) -> list[int]:
        """A grid series' counts of the current day per window-sized block (its buckets of hours 0-23)."""
        blocks = [0] * self._blocks
        for b in w:
            if 0 <= b[0] < 24:
                blocks[b[0] // self._p.window_hours] += int(b[1])
        return blocks

    def _block_means(self, rate: float, hours: list[float]) -> list[float]:
        """Expected counts per window-sized block of a day, from the rate and the day's hour factors."""
        wh = self._p.window_hours
        return [rate * sum(hours[b * wh : (b + 1) * wh]) for b in range(self._blocks)]

    @staticmethod
    def _cusum_day(cs: float, y: int, mu: float, mubs: list[float], alpha: float, ratio: float) -> float:
        """The CUSUM after a day of `y` events expected `mu`, in blocks expected `mubs`."""
        # a day is a sum of independent blocks: its dispersion is alpha * sum(mu_b^2) / mu^2
        alpha_day = alpha * sum(m * m for m in mubs) / (mu * mu)
        return nb_cusum_step(cs, y, mu, alpha_day, ratio)

    def _cusum_ratio(self, mu: float) -> float:
        """The rise a series' CUSUM is built to detect: `cusum_ratio` x its daily mean, or
        `cusum_min_rise` more events a day, whichever is larger. A ratio alone asks a grid that
        sees one such report a month to notice 2 a month; the grievance that builds over a
        fortnight to a few reports a day (the slow rise) is a rise in events, not in ratio, and
        a CUSUM tuned to 2x never started on such a sparse series (issue 10: 0/4 slow rises)."""
        p = self._p
        return max(p.cusum_ratio, 1.0 + p.cusum_min_rise / mu) if p.cusum_min_rise > 0 else p.cusum_ratio

    def _learn_shape(self, st: dict[str, Any], closed: list[int], today: dict[str, list[int]]) -> None:
        """Decay the shape tables over the closed days and add the first closed day's counts."""
        g = math.exp(-24.0 * len(closed) / self._tau_s)
        x = [v * g for v in st["x"]]
        last = closed[-1]
        for d in closed[-400:]:
            x[_day_type(self._cal, d)] += 24.0 * math.exp(-24.0 * (last - d) / self._tau_s)
        w_first = math.exp(-24.0 * (last - closed[0]) / self._tau_s)
        j = _day_type(self._cal, closed[0])
        shape: dict[str, list[float]] = {}
        for cat in sorted(set(st["shape"]) | set(today)):
            row = [v * g for v in st["shape"].get(cat) or [0.0] * (24 + _DAY_TYPES)]
            counts = today.get(cat)
            if counts:
                for hh, k in enumerate(counts):
                    row[hh] += k * w_first
                row[24 + j] += sum(counts) * w_first
            shape[cat] = [_r3(v) for v in row]
        st["shape"] = shape
        st["x"] = [_r(v) for v in x]

    def _rise_alert(
        self,
        unit: str,
        cat: str,
        is_street: bool,
        rise: tuple[float, int, int, float],
        alpha: float,
        n_series: float,
        evidence: tuple[str, ...],
        d: int,
        now: datetime,
        hist_days: float,
    ) -> Alert:
        p = self._p
        cs, cd, cy, cm = rise
        key = f"{unit}/{cat}"
        scope = "street" if is_street else "grid"
        pval = count_sf(cy, cm, alpha / max(1, cd))
        # the run's tail, adjusted for the series at its level like a window's
        score = max(p.score_bands[0], surprise(min(1.0, pval * n_series), p.surprise_scale))
        level = level_for(score, p.score_bands) or "blue"
        place = f"{unit}网格" if scope == "grid" else f"{unit}街镇"
        start = day_date(d - cd + 1)
        return Alert(
            alert_id=stable_id("dynamic", key, "rise", str(d)),
            type="dynamic",
            level=level,
            unit=unit,
            subject=key,
            title=f"{place}{category_label(cat)}持续上升:近{cd}天{cy}起,常态约{cm:.1f}起(基于{hist_days:.0f}天历史)",
            indicators=(
                Indicator("cusum", round(cs, 4), p.cusum_threshold, score, f"累积和检验(上升{p.cusum_ratio:g}倍)"),
                Indicator("days_count", float(cy), round(cm, 3), score, f"近{cd}天{cy}起/常态{cm:.1f}起"),
            ),
            detector=f"{self.name}@{self.version}",
            created_at=now,
            score=round(score, 6),
            evidence=evidence,
            action=_RISE_ACTION,
            category=cat,
            departments=(CATEGORIES[cat][1],) if cat in CATEGORIES else (),
            details={
                "observed": cy,
                "expected": round(cm, 4),
                "days": cd,
                "since": start.isoformat(),
                "p_value": pval,
                "history_days": round(hist_days, 1),
                "scope": scope,
            },
        )
