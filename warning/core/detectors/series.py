"""General streaming anomaly scorer for one ``timestamp,value`` series (``warning score-series``).

Why a model of its own: the dynamic detector's count statistics (`baselines.SeriesScorer`)
assume dispute counts. An analyst's CSV may hold counts, rates, percentages, latencies or
temperatures, sampled regularly or not, with gaps, flat stretches and heavy tails, and the
score has to *rank* alarms, so nothing may saturate at 1.0.

How it works, per row (score first, then learn; the score of row t uses rows < t and t itself):

* Three candidate models run side by side and the one with the best recent predictive
  log-score is used (prequential choice, with a margin so it does not flap): a Poisson /
  negative-binomial model for non-negative integers, a robust location-scale model on the
  raw values and the same on ``log(value)`` for positive data (a lognormal latency is normal
  there). No per-file tuning: the data pick the model.
* Location is an EWMA with Huber-clipped residuals, scale an EW mean absolute deviation of
  the innovations, both with a half-life counted in rows. A time-of-day profile (24 hourly
  offsets, linear in between) is learned when rows come at least every 3 hours; it is used
  once the series spans two days, and then the level keeps at least a day of memory. An
  AR(1) on the residuals, learned slowly, turns an autocorrelated sensor into innovations.
* The scale has floors (1e-6 of the level, the rounding of integer data, a quarter of the
  long-run scale), so a flat series has a finite scale and a doubling of it scores high; a
  real-valued reading repeated exactly (a stuck sensor) moves the level but not the scale;
  after a gap much longer than the usual step the scale widens a little.
* Tests on each row: the point itself (a normal tail blended with a Student-t(3) tail by the
  observed frequency of 3-sigma residuals, so heavy-tailed data do not raise a storm of
  alarms), a CUSUM for a sustained shift of two scales (or a doubling / halving of a count
  mean), and a CUSUM for a fourfold variance. CUSUMs are log-likelihood ratios, so by Ville's
  inequality ``P(S >= h) <= exp(-h)`` under no change: ``exp(-S)`` is a valid tail
  probability. When a shift CUSUM passes `_RESET` the level jumps to a fast mean (the change
  is learned, and alarms stop once it has been seen).
* The surprise is ``-log10`` of the smallest tail probability over the tests the direction
  runs (Bonferroni-corrected), computed in log space so it never underflows, and the score is
  ``S / (S + surprise_scale / 2)`` (logarithmic in S beyond S = 1000): 0.5 at the same
  surprise as the old linear map (p = 1e-4 by default), strictly increasing, below 1.

Known weakness (bench/bench_scorer.py): residual autocorrelation left by a daily cycle that
is still being learned passes for AR(1), which then absorbs part of a later level shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from warning.core.detectors.baselines import nb_log_pmf, nb_ratio_up

Direction = Literal["up", "down", "both"]
DIRECTIONS: Final[tuple[Direction, ...]] = ("up", "down", "both")
Model = Literal["count", "raw", "log"]

_LN10: Final = math.log(10.0)
_HALF_LN_2PI: Final = 0.5 * math.log(2.0 * math.pi)
_MAD_TO_SD: Final = math.sqrt(math.pi / 2.0)  # E|Z| = sd * sqrt(2/pi) for a normal
_T3_PER_Z: Final = _MAD_TO_SD * 2.0 * math.sqrt(3.0) / math.pi  # t3 units per z unit at equal E|X|
_P3_NORMAL: Final = 0.0026998  # P(|Z| > 3), normal
_P3_T3: Final = 0.0254906  # P(|z| > 3) for t3 data scaled by mean absolute deviation
_TAIL_DECAY: Final = 0.5 ** (1.0 / 500.0)  # 3-sigma exceedances are rare: a long memory
_TAIL_PRIOR: Final = 100.0  # rows of normal behaviour assumed before any evidence
_CHOICE_DECAY: Final = 0.5 ** (1.0 / 200.0)
_CHOICE_MARGIN: Final = 3.0  # nats a model must lead by before it takes over
_FAST: Final = 0.25  # fast mean for re-levelling after a detected shift
_RESET: Final = math.log(1e10)  # CUSUM level at which the shift is taken as learned
_INC_CAP: Final = 2.5  # most a single row adds to a CUSUM: one spike is not a shift
_VAR_RATIO: Final = 4.0
# shift the CUSUMs look for, in scales: 2 rather than 1, so a slow model error (a daily cycle
# not yet learned, a wandering sensor) of a scale or less does not accumulate into an alarm
_SHIFT: Final = 2.0
_SEASON_MAX_STEP: Final = 3 * 3600.0
_SEASON_MIN_SPAN: Final = 2 * 86400.0
_SEASON_DAYS: Final = 3.0  # half-life of an hourly offset, in days
_GAP_FREE: Final = 4.0  # steps up to this multiple of the usual step widen nothing
_VALUE_CAP: Final = 1e150  # |value| beyond this is clipped so squares stay finite
_MU_FLOOR: Final = 0.01
_ALPHA_MAX: Final = 5.0
_MAX_TERMS: Final = 4000
_S_CAP: Final = 1e300
_S_KNEE: Final = 1000.0
_LONG: Final = 0.1  # the long-run scale learns 10x slower: a stuck sensor keeps its old noise floor
_LONG_FLOOR: Final = 0.25
_PHI_MAX: Final = 0.98
_CARRY: Final = 2.5


@dataclass(frozen=True, slots=True)
class ScorerParams:
    """Parameters of `StreamScorer` (thresholds ``[dynamic.series]``)."""

    half_life: float = 48.0
    min_history: int = 24
    surprise_scale: float = 8.0
    alert_score: float = 0.5
    learn_clip_sd: float = 4.0
    direction: Direction = "both"
    seasonal: bool = True


@dataclass(frozen=True, slots=True)
class Assessment:
    """Why a row scored what it did: the model used, the winning test and its surprise."""

    score: float
    surprise: float
    model: Model
    test: str
    z: float


# -- tail probabilities in log space ------------------------------------------------------------


def normal_surprise(z: float) -> float:
    """``-log10 P(Z > z)`` for a standard normal, without underflow for large z."""
    if z < 30.0:
        return -math.log10(max(0.5 * math.erfc(z / math.sqrt(2.0)), 1e-300))
    ln_p = -0.5 * z * z - _HALF_LN_2PI - math.log(z) + math.log1p(-1.0 / (z * z))
    return -ln_p / _LN10


def t3_surprise(t: float) -> float:
    """``-log10 P(T > t)`` for Student's t with 3 degrees of freedom (closed form)."""
    if t <= 0.0:
        u = math.sqrt(3.0) / max(-t, 1e-300)
        lower = (math.atan(u) - u / (1.0 + u * u)) / math.pi if t < 0.0 else 0.5
        return -math.log10(1.0 - lower)
    u = math.sqrt(3.0) / t
    if u > 1e-3:
        p = (math.atan(u) - u / (1.0 + u * u)) / math.pi
        return -math.log10(max(p, 1e-300))
    # atan(u) - u/(1+u^2) = 2u^3/3 - 4u^5/5 + ...; log form keeps huge t finite
    return -(3.0 * math.log(u) + math.log(2.0 / 3.0 - 0.8 * u * u) - math.log(math.pi)) / _LN10


def _log_tail_sum(k: float, mu: float, alpha: float, upward: bool) -> float:
    """ln of the pmf summed from k away from the mean (the short side of the tail)."""
    total, term, j = 1.0, 1.0, k
    for _ in range(_MAX_TERMS):
        if upward:
            ratio = nb_ratio_up(j, mu, alpha)
            j += 1.0
        else:
            if j <= 0.0:
                break
            ratio = 1.0 / nb_ratio_up(j - 1.0, mu, alpha)
            j -= 1.0
        term *= ratio
        total += term
        if term < total * 1e-16:
            break
    else:
        if upward:  # NB tail ratios rise towards mu/(r+mu) < 1: a geometric bound on the rest
            q = mu / (1.0 / alpha + mu) if alpha > 0.0 else 0.5
            total += term * q / (1.0 - q)
    return nb_log_pmf(k, mu, alpha) + math.log(total)


def count_log_tail(k: float, mu: float, alpha: float, upper: bool) -> float:
    """ln P(X >= k) (upper) or ln P(X <= k) for a Poisson / negative binomial of mean `mu`."""
    if upper and k <= 0.0:
        return 0.0
    sd = math.sqrt(mu + alpha * mu * mu)
    if mu > 1e5:
        z = (k - 0.5 - mu) / sd if upper else (mu - k - 0.5) / sd
        return -normal_surprise(z) * _LN10
    if upper:
        if k > mu:
            return _log_tail_sum(k, mu, alpha, upward=True)
        return math.log1p(-min(math.exp(_log_tail_sum(k - 1.0, mu, alpha, upward=False)), 1.0 - 1e-16))
    if k < mu:
        return _log_tail_sum(k, mu, alpha, upward=False)
    return math.log1p(-min(math.exp(_log_tail_sum(k + 1.0, mu, alpha, upward=True)), 1.0 - 1e-16))


def to_score(surprise: float, scale: float) -> float:
    """Map a surprise ``-log10 p`` to [0, 1): 0.5 at ``scale / 2``, strictly increasing.

    Beyond `_S_KNEE` the surprise grows logarithmically, so even p = 1e-300 prints below
    0.999995 and two absurd outliers of different size still get different scores.
    """
    s = min(max(surprise, 0.0), 1e300)
    if s > _S_KNEE:
        s = _S_KNEE * (1.0 + math.log(s / _S_KNEE))
    return s / (s + 0.5 * scale)


# -- one robust location-scale track (raw or log values) --------------------------------------


def _new_track() -> dict[str, Any]:
    return {
        "lv": 0.0,
        "d": 0.0,
        "v": 0.0,
        "fast": 0.0,
        "fd": 0.0,
        "dl": 0.0,
        "e1": 0.0,
        "c0": 0.0,
        "c1": 0.0,
        "cw": 0.0,
        "son": False,
        "se": [0.0] * 24,
        "sw": [0.0] * 24,
        "te": 0.0,
        "tw": 0.0,
        "cu": 0.0,
        "cd": 0.0,
        "cv": 0.0,
        "ll": 0.0,
    }


@dataclass(frozen=True, slots=True)
class _Context:
    """What the timestamps say about one row: hour bin, season switches, gap, scale widening."""

    hour: int  # hourly bin just before the row's time of day (bins centred on the half hour)
    frac: float  # position between that bin and the next, in [0, 1)
    season_on: bool
    learn_season: bool
    season_rate: float
    gap: float
    widen: float
    slow: float = 1.0  # learning rate of the slow statistics (autocorrelation, long-run scale)
    decay: float = 0.0  # per-row decay of the level's weight


def _season(track: dict[str, Any], ctx: _Context, shrink: bool = True) -> float:
    """Time-of-day offset, linear between hourly bins (a step profile would put a sawtooth
    into the residuals of a smooth daily cycle, and the CUSUMs would read it as shifts)."""
    if not shrink:
        se = track["se"]
        return (1.0 - ctx.frac) * float(se[ctx.hour]) + ctx.frac * float(se[(ctx.hour + 1) % 24])
    if not ctx.season_on:
        return 0.0
    out = 0.0
    for i, wt in ((ctx.hour, 1.0 - ctx.frac), ((ctx.hour + 1) % 24, ctx.frac)):
        w = float(track["sw"][i])
        out += wt * float(track["se"][i]) * w / (w + 2.0)
    return out


def _learn_season(track: dict[str, Any], err: float, ctx: _Context) -> None:
    se, sw = list(track["se"]), list(track["sw"])
    for i, wt in ((ctx.hour, 1.0 - ctx.frac), ((ctx.hour + 1) % 24, ctx.frac)):
        if wt <= 0.0:
            continue
        sw[i] = float(sw[i]) + wt
        se[i] = float(se[i]) + max(wt / sw[i], ctx.season_rate * wt) * err
    track["se"], track["sw"] = se, sw


def _tail_weight(track: dict[str, Any]) -> float:
    """0 for normal-looking residuals, 1 for residuals as heavy as a Student-t(3)."""
    f = (float(track["te"]) + _TAIL_PRIOR * _P3_NORMAL) / (float(track["tw"]) + _TAIL_PRIOR)
    w = math.log(f / _P3_NORMAL) / math.log(_P3_T3 / _P3_NORMAL)
    return min(1.0, max(0.0, w))


def _point_surprise(z: float, tail_w: float) -> float:
    """Upper-tail surprise of z: normal and t3 surprises blended by the tail weight."""
    if tail_w <= 0.0:
        return normal_surprise(z)
    return (1.0 - tail_w) * normal_surprise(z) + tail_w * t3_surprise(z * _T3_PER_Z)


@dataclass(frozen=True, slots=True)
class _Pred:
    """A track's forecast for one row, and the new CUSUMs it implies.

    ``base`` is level plus time-of-day offset; ``pred`` adds the carried-over share ``phi`` of
    the last residual (an AR(1) on residuals), so autocorrelated sensors are judged by their
    innovations and a slow wander does not feed the shift CUSUMs.
    """

    x: float
    base: float
    phi_e1: float
    s: float
    z: float
    cu: float
    cd: float
    cv: float

    @property
    def pred(self) -> float:
        """The forecast of this row."""
        return self.base + self.phi_e1


def _phi(track: dict[str, Any], gap: float) -> float:
    c0 = float(track["c0"])
    if c0 <= 0.0:
        return 0.0
    phi = min(_PHI_MAX, max(0.0, float(track["c1"]) / c0))
    return float(phi ** max(gap, 1.0))


def _predict(track: dict[str, Any], x: float, ctx: _Context, floor: float) -> _Pred:
    base = float(track["lv"]) + _season(track, ctx)
    phi_e1 = _phi(track, ctx.gap) * float(track["e1"])
    s = max(_MAD_TO_SD * float(track["d"]), floor) * ctx.widen
    z = min(max((x - base - phi_e1) / s, -1e150), 1e150)
    d, half = _SHIFT, 0.5 * _SHIFT * _SHIFT  # LLR of a shift of d scales: d*z - d^2/2
    cu = max(0.0, float(track["cu"]) + min(d * z - half, _INC_CAP))
    cd = max(0.0, float(track["cd"]) + min(-d * z - half, _INC_CAP))
    lam = _VAR_RATIO
    inc = 0.5 * (1.0 - 1.0 / lam) * min(z * z, 9.0) - 0.5 * math.log(lam)
    cv = max(0.0, float(track["cv"]) + min(inc, _INC_CAP))
    return _Pred(x, base, phi_e1, s, z, cu, cd, cv)


def _log_density(p: _Pred) -> float:
    z = min(abs(p.z), 5.0)
    return -0.5 * z * z - math.log(p.s) - _HALF_LN_2PI


def _learn_track(
    track: dict[str, Any], p: _Pred, ctx: _Context, a: float, clip: float | None, repeat: bool = False
) -> dict[str, Any]:
    """New track after row `p.x`; `clip` is None in the warm-up (no scale to clip by yet).

    A `repeat` (a real-valued reading equal to the last to the last digit: a stuck sensor)
    moves the level but not the scale, so the noise that resumes after it is not a shock,
    and feeds the CUSUMs only if it is an outlier (a set-point that jumps and stays there).
    """
    t = dict(track)
    u = p.x - p.pred  # innovation
    outlier = clip is not None and abs(p.z) > clip
    u_c = u if clip is None else p.s * min(max(p.z, -clip), clip)
    e_c = p.phi_e1 + u_c  # residual from level + offset, outlier clipped
    cap = math.inf if clip is None else clip * p.s
    t["lv"] = float(t["lv"]) + a * e_c
    if ctx.learn_season:
        _learn_season(t, p.base + e_c - float(t["lv"]) - _season(track, ctx, shrink=False), ctx)
    e1 = float(track["e1"])
    slow = ctx.slow
    if ctx.season_on and not t["son"]:
        # the daily profile takes over the cycle the AR(1) was following: learn phi afresh
        t["son"], t["cw"], t["c0"], t["c1"] = True, 0.0, 0.0, 0.0
    # autocorrelation learns slowly (a running mean at first, then a 10x longer half-life),
    # so a sustained shift is not explained away as AR(1)
    t["cw"] = float(t["cw"]) + 1.0
    rate = max(1.0 / float(t["cw"]), slow)
    t["c0"] = float(t["c0"]) + rate * (e1 * e1 - float(t["c0"]))
    t["c1"] = float(t["c1"]) + rate * (e_c * e1 - float(t["c1"]))
    # an outlier does not carry over into the next forecast, and a large residual only in part,
    # or the row after a spike would look like a dip
    t["e1"] = 0.0 if outlier else p.phi_e1 + p.s * min(max(p.z, -_CARRY), _CARRY)
    if not repeat:
        t["d"] = float(t["d"]) + a * (min(abs(u), cap) - float(t["d"]))
        t["dl"] = float(t["dl"]) + slow * (min(abs(u), cap) - float(t["dl"]))
        t["v"] = float(t["v"]) + a * (min(u * u, cap * cap) - float(t["v"]))
    deseasoned = p.x - (p.base - float(track["lv"]))
    t["fast"] = float(t["fast"]) + _FAST * (deseasoned - float(t["fast"]))
    t["fd"] = float(t["fd"]) + _FAST * (min(abs(u), 1e150) - float(t["fd"]))
    t["te"] = float(t["te"]) * _TAIL_DECAY + (1.0 if abs(p.z) > 3.0 and clip is not None else 0.0)
    t["tw"] = float(t["tw"]) * _TAIL_DECAY + (1.0 if clip is not None else 0.0)
    if clip is None:
        t["cu"], t["cd"], t["cv"] = 0.0, 0.0, 0.0
    elif not repeat or outlier:  # a stuck reading is one observation, not one per row
        t["cu"], t["cd"], t["cv"] = p.cu, p.cd, p.cv
    if clip is not None:  # warm-up scales are unsettled: their densities would bias the choice
        t["ll"] = float(t["ll"]) * _CHOICE_DECAY + _log_density(p)
    return _relevel(t)


def _relevel(t: dict[str, Any]) -> dict[str, Any]:
    """After a sustained shift is detected, learn it at once instead of over a half-life."""
    if max(float(t["cu"]), float(t["cd"])) > _RESET:
        t["lv"], t["cu"], t["cd"] = float(t["fast"]), 0.0, 0.0
    if float(t["cv"]) > _RESET:
        t["d"], t["cv"] = max(float(t["d"]), float(t["fd"])), 0.0
    return t


def _count_llr(k: float, mu: float, alpha: float, ratio: float) -> float:
    """Log-likelihood ratio of count k for mean ``ratio * mu`` against ``mu`` (NB or Poisson)."""
    if alpha <= 1e-9:
        return k * math.log(ratio) - (ratio - 1.0) * mu
    r = 1.0 / alpha
    return k * math.log(ratio * (mu + r) / (ratio * mu + r)) + r * math.log((mu + r) / (ratio * mu + r))


class StreamScorer:
    """Streaming anomaly score in [0, 1) for any ``timestamp,value`` series, with no look-ahead.

    See the module docstring for the model. State is a JSON-serialisable dict; `update` scores
    a row from the state alone and then learns it, so any prefix scores as in the full series.

    Parameters
    ----------
    params : ScorerParams
        Half-life (rows), warm-up rows, surprise scale, alert cut-off, Huber clip (in scales),
        direction of interest (``up``, ``down`` or ``both``), time-of-day profile on or off.

    Examples
    --------
    >>> sc = StreamScorer(ScorerParams(min_history=5))
    >>> st = sc.init_state()
    >>> for i, v in enumerate([20.1, 19.8, 20.3, 20.0, 19.9, 20.2, 20.0]):
    ...     st, score = sc.update(st, v, t=3600.0 * i)
    >>> score < 0.3
    True
    >>> st, spike = sc.update(st, 35.0, t=3600.0 * 7)
    >>> st, bigger = sc.update(sc.init_state(), 0.0)  # fresh state: warm-up scores 0
    >>> 0.5 < spike < 1.0 and bigger == 0.0
    True
    """

    def __init__(self, params: ScorerParams | None = None) -> None:
        self.params = params
        self._p = params or ScorerParams()
        if self._p.direction not in DIRECTIONS:
            raise ValueError(f'Unknown direction "{self._p.direction}"; valid options are {list(DIRECTIONS)}')
        self._decay = 0.5 ** (1.0 / self._p.half_life)
        self._decay_long = 0.5 ** (1.0 / (self._p.half_life / _LONG))

    def init_state(self) -> dict[str, Any]:
        """Empty state: row count and weight, timing, data-type flags, the model in use, tracks."""
        return {
            "n": 0,
            "w": 0.0,
            "wl": 0.0,
            "t": None,
            "t0": None,
            "last": None,
            "ldt": 0.0,
            "ldw": 0.0,
            "int": True,
            "pos": True,
            "model": "raw",
            "raw": _new_track(),
            "log": _new_track(),
            "ku": 0.0,
            "kd": 0.0,
            "kll": 0.0,
        }

    # -- context and forecasts ------------------------------------------------------------------

    def _context(self, state: dict[str, Any], t: float | None, t_local: float | None) -> _Context:
        local = t if t_local is None else t_local
        pos = ((local % 86400.0) / 3600.0 - 0.5) % 24.0 if local is not None and math.isfinite(local) else 0.0
        hour, frac = int(pos) % 24, pos - int(pos)
        if t is None or state["t"] is None or float(state["ldw"]) <= 0.0:
            return _Context(hour, frac, False, False, 0.0, 1.0, 1.0, decay=self._decay)
        step = math.exp(float(state["ldt"]) / float(state["ldw"]))
        regular = self._p.seasonal and step <= _SEASON_MAX_STEP
        span_ok = t - float(state["t0"]) >= _SEASON_MIN_SPAN
        rate = math.log(2.0) / (max(1.0, 3600.0 / step) * _SEASON_DAYS)
        gap = (t - float(state["t"])) / step
        widen = math.sqrt(1.0 + 0.5 * math.log(gap / _GAP_FREE)) if gap > _GAP_FREE else 1.0
        # with a daily profile the level must not chase the cycle itself: at least a day of memory
        # (before the profile is used, the level is all there is to follow the cycle)
        decay = 0.5 ** (1.0 / max(self._p.half_life, 86400.0 / step)) if regular and span_ok else self._decay
        return _Context(hour, frac, regular and span_ok, regular, rate, max(gap, 0.0), widen, decay=decay)

    def _floor(self, track: dict[str, Any], resolution: float, log_domain: bool) -> float:
        level = 1.0 if log_domain else abs(float(track["lv"]))
        return max(1e-6 * level, resolution, _LONG_FLOOR * _MAD_TO_SD * float(track["dl"]), 1e-300)

    def _preds(self, state: dict[str, Any], x: float, ctx: _Context) -> tuple[_Pred, _Pred | None]:
        res = 1.0 / math.sqrt(12.0) if state["int"] else 0.0
        raw = _predict(state["raw"], x, ctx, self._floor(state["raw"], res, False))
        if not (state["pos"] and x > 0.0):
            return raw, None
        lt = state["log"]
        return raw, _predict(lt, math.log(x), ctx, self._floor(lt, 0.0, True))

    @staticmethod
    def _count_moments(state: dict[str, Any], raw: _Pred) -> tuple[float, float]:
        mu = max(raw.pred, _MU_FLOOR)
        alpha = min(_ALPHA_MAX, max(0.0, (float(state["raw"]["v"]) - mu) / (mu * mu)))
        return mu, alpha

    # -- scoring --------------------------------------------------------------------------------

    def assess(
        self, state: dict[str, Any], value: float, t: float | None = None, t_local: float | None = None
    ) -> Assessment:
        """Score `value` at time `t` (epoch seconds; `t_local` the wall clock) given `state`."""
        model: Model = state["model"]
        if int(state["n"]) < self._p.min_history or not math.isfinite(value):
            return Assessment(0.0, 0.0, model, "warm-up", 0.0)
        x = min(max(value, -_VALUE_CAP), _VALUE_CAP)
        raw, lg = self._preds(state, x, self._context(state, t, t_local))
        if model == "count" and state["int"] and x >= 0 and x.is_integer():
            tests, z = self._count_tests(state, x, raw), raw.z
        else:
            use = lg if model == "log" and lg is not None else raw
            model = "log" if use is lg else "raw"
            tests, z = self._track_tests(state[model], use), use.z
        return self._combine(tests, model, z)

    def _allowed(self, side: str) -> bool:
        return self._p.direction == "both" or self._p.direction == side

    def _count_tests(self, state: dict[str, Any], k: float, raw: _Pred) -> dict[str, tuple[str, float]]:
        mu, alpha = self._count_moments(state, raw)
        ku = max(0.0, float(state["ku"]) + min(_count_llr(k, mu, alpha, 2.0), _INC_CAP))
        kd = max(0.0, float(state["kd"]) + min(_count_llr(k, mu, alpha, 0.5), _INC_CAP))
        return {
            "rise": ("up", -count_log_tail(k, mu, alpha, upper=True) / _LN10),
            "dip": ("down", -count_log_tail(k, mu, alpha, upper=False) / _LN10),
            "shift-up": ("up", ku / _LN10),
            "shift-down": ("down", kd / _LN10),
        }

    @staticmethod
    def _track_tests(track: dict[str, Any], p: _Pred) -> dict[str, tuple[str, float]]:
        w = _tail_weight(track)
        var_side = "up" if p.z > 1.0 else "down" if p.z < -1.0 else "none"
        return {
            "rise": ("up", _point_surprise(p.z, w)),
            "dip": ("down", _point_surprise(-p.z, w)),
            "shift-up": ("up", p.cu / _LN10),
            "shift-down": ("down", p.cd / _LN10),
            "variance": (var_side, p.cv / _LN10),
        }

    def _combine(self, tests: dict[str, tuple[str, float]], model: Model, z: float) -> Assessment:
        """Best allowed test, Bonferroni-corrected over the tests the direction runs."""
        run = [name for name, (side, _) in tests.items() if name == "variance" or self._allowed(side)]
        allowed = {name: s for name, (side, s) in tests.items() if side != "none" and self._allowed(side)}
        name = max(allowed, key=lambda k: allowed[k])
        s = allowed[name] - math.log10(len(run))
        s = 0.0 if math.isnan(s) else min(max(s, 0.0), _S_CAP)
        return Assessment(to_score(s, self._p.surprise_scale), s, model, name, z)

    def score(self, state: dict[str, Any], value: float, t: float | None = None, t_local: float | None = None) -> float:
        """Surprise score of `value` given the history in `state`, in [0, 1)."""
        return self.assess(state, value, t, t_local).score

    # -- learning -------------------------------------------------------------------------------

    def learn(
        self, state: dict[str, Any], value: float, t: float | None = None, t_local: float | None = None
    ) -> dict[str, Any]:
        """New state after observing `value` at `t` (the input state is not modified)."""
        if not math.isfinite(value):
            return dict(state)
        x = min(max(value, -_VALUE_CAP), _VALUE_CAP)
        if int(state["n"]) == 0:
            return self._first(state, x, t)
        new = dict(state)
        ctx = self._context(state, t, t_local)
        new["w"] = float(state["w"]) * ctx.decay + 1.0
        new["wl"] = float(state["wl"]) * self._decay_long + 1.0
        ctx = replace(ctx, slow=1.0 / float(new["wl"]))
        a = 1.0 / float(new["w"])
        clip = None if int(state["n"]) < self._p.min_history else self._p.learn_clip_sd
        raw, lg = self._preds(state, x, ctx)
        is_count = bool(state["int"]) and x >= 0.0 and x.is_integer()
        if is_count:
            self._learn_counts(new, x, raw, clip is not None)
        new["int"] = is_count
        repeat = not is_count and x == state["last"]
        new["raw"] = _learn_track(state["raw"], raw, ctx, a, clip, repeat)
        if lg is not None:
            new["log"] = _learn_track(state["log"], lg, ctx, a, clip, repeat)
            if clip is not None:  # density of the value itself: the Jacobian of log
                new["log"]["ll"] = float(new["log"]["ll"]) - math.log(x)
        new["pos"] = lg is not None
        self._learn_time(new, t)
        new["n"], new["last"] = int(state["n"]) + 1, x
        new["model"] = self._choose(new)
        return new

    def _first(self, state: dict[str, Any], x: float, t: float | None) -> dict[str, Any]:
        new = dict(state)
        new["n"], new["w"], new["wl"], new["t"], new["t0"], new["last"] = 1, 1.0, 1.0, t, t, x
        new["int"] = x >= 0.0 and x.is_integer()
        new["pos"] = x > 0.0
        new["model"] = "count" if new["int"] else "raw"
        new["raw"] = {**_new_track(), "lv": x, "fast": x}
        if x > 0.0:
            new["log"] = {**_new_track(), "lv": math.log(x), "fast": math.log(x)}
        return new

    def _learn_counts(self, new: dict[str, Any], k: float, raw: _Pred, warm: bool) -> None:
        mu, alpha = self._count_moments(new, raw)
        if warm:
            new["ku"] = max(0.0, float(new["ku"]) + min(_count_llr(k, mu, alpha, 2.0), _INC_CAP))
            new["kd"] = max(0.0, float(new["kd"]) + min(_count_llr(k, mu, alpha, 0.5), _INC_CAP))
            sd = math.sqrt(mu + alpha * mu * mu)
            ll = max(nb_log_pmf(k, mu, alpha), -12.5 - math.log(sd) - _HALF_LN_2PI)
            new["kll"] = float(new["kll"]) * _CHOICE_DECAY + ll
        if max(float(new["ku"]), float(new["kd"])) > _RESET:
            # the count CUSUM saw the shift first: move the raw level now (the raw track learns after)
            new["ku"] = new["kd"] = 0.0
            new["raw"] = {**new["raw"], "lv": float(new["raw"]["fast"]), "cu": 0.0, "cd": 0.0}

    def _learn_time(self, new: dict[str, Any], t: float | None) -> None:
        if t is None:
            return
        last = new["t"]
        if last is not None and t > float(last):
            new["ldt"] = float(new["ldt"]) * self._decay + math.log(t - float(last))
            new["ldw"] = float(new["ldw"]) * self._decay + 1.0
        new["t"] = t
        if new["t0"] is None:
            new["t0"] = t

    def _choose(self, new: dict[str, Any]) -> Model:
        """The model with the best recent predictive log-score, switching only by a margin."""
        scores: dict[Model, float] = {"raw": float(new["raw"]["ll"])}
        if new["pos"]:
            scores["log"] = float(new["log"]["ll"])
        if new["int"]:
            scores["count"] = float(new["kll"])
        current: Model = new["model"] if new["model"] in scores else "raw"
        if int(new["n"]) <= self._p.min_history:
            return current
        best = max(scores, key=lambda m: scores[m])
        return best if scores[best] > scores[current] + _CHOICE_MARGIN else current

    def step(
        self, state: dict[str, Any], value: float, t: float | None = None, t_local: float | None = None
    ) -> tuple[dict[str, Any], Assessment]:
        """Assess `value`, then learn it; returns (new state, assessment)."""
        found = self.assess(state, value, t, t_local)
        return self.learn(state, value, t, t_local), found

    def update(
        self, state: dict[str, Any], value: float, t: float | None = None, t_local: float | None = None
    ) -> tuple[dict[str, Any], float]:
        """Score `value`, then learn it; returns (new state, score)."""
        new, found = self.step(state, value, t, t_local)
        return new, found.score

    def is_alert(self, score: float) -> bool:
        """True when a score reaches the alert cut-off."""
        return score >= self._p.alert_score
