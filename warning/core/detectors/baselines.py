"""Shared statistics of the dynamic and pattern detectors: count tails, surprise scores, EWMA.

Everything here is plain ``math`` (no numpy/scipy at runtime): detectors call these once per
event, and a scipy call costs 10-50 µs of overhead while the pure-Python tail sums below cost
1-5 µs for the counts we see (tens per window). Unit tests check them against scipy.stats.

Count model. Dispute counts are zero-heavy and over-dispersed (a quiet grid, then three
neighbours call about the same leak), so the tail is a negative binomial with mean ``mu`` and
dispersion ``alpha`` (variance ``mu + alpha * mu**2``); ``alpha == 0`` is Poisson. Tails are
summed from the far side with the pmf recurrence, which converges in a few terms exactly
where alerts live (small p); a normal approximation takes over for means above
`_NORMAL_ABOVE` where the summation would be long and the approximation is already tight.

Score. An alert score is the *surprise* ``-log10(p)`` of the upper tail, divided by a scale
and clipped to [0, 1]: with scale 8, p = 1e-4 scores 0.5 and p <= 1e-8 scores 1. A log scale
spreads the interesting range (1e-3 … 1e-8) over the level bands, while ``1 - p`` would
squeeze all of it into 0.999….
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from warning.core.taxonomy import LEVELS, Level

_NORMAL_ABOVE: Final = 50_000.0
_MAX_TERMS: Final = 200_000
_TINY: Final = 1e-300


def nb_log_pmf(k: float, mu: float, alpha: float) -> float:
    """Log of the negative-binomial pmf (Poisson when alpha is 0); also the series scorer's."""
    mu = max(mu, _TINY)  # a subnormal mean underflows mu / (r + mu) to 0.0, and log(0) raises
    if alpha <= 0.0:
        return k * math.log(mu) - mu - math.lgamma(k + 1)
    r = 1.0 / alpha
    return (
        math.lgamma(k + r)
        - math.lgamma(r)
        - math.lgamma(k + 1)
        + r * math.log(r / (r + mu))
        + k * math.log(mu / (r + mu))
    )


def nb_ratio_up(j: float, mu: float, alpha: float) -> float:
    """pmf(j + 1) / pmf(j)."""
    if alpha <= 0.0:
        return mu / (j + 1)
    r = 1.0 / alpha
    return (j + r) / (j + 1) * (mu / (r + mu))


def count_sf(k: float, mu: float, alpha: float = 0.0) -> float:
    """Upper tail P(X >= k) of a Poisson (alpha=0) or negative binomial with mean `mu`.

    Non-integer `k` is rounded up (X is a count). ``mu <= 0`` gives 0 for any k >= 1.

    >>> round(count_sf(5, 1.0), 6)
    0.00366
    >>> count_sf(0, 3.0)
    1.0
    """
    kk = math.ceil(k - 1e-9)
    if kk <= 0:
        return 1.0
    if mu <= 0.0:
        return 0.0
    alpha = alpha if alpha > 1e-9 else 0.0  # below this the NB is Poisson to double precision
    if mu > _NORMAL_ABOVE:
        sd = math.sqrt(mu + alpha * mu * mu)
        return normal_sf((kk - 0.5 - mu) / sd)
    if kk - 1 < mu:
        # below the mean the lower tail is the short sum: P(X >= k) = 1 - P(X <= k-1)
        j = kk - 1
        term = math.exp(nb_log_pmf(j, mu, alpha))
        total = 0.0
        while j >= 0 and term > 0.0:
            total += term
            if term < total * 1e-16:
                break
            term /= nb_ratio_up(j - 1, mu, alpha) if j > 0 else math.inf
            j -= 1
        return min(1.0, max(0.0, 1.0 - total))
    j = kk
    log_first = nb_log_pmf(j, mu, alpha)
    if log_first < -745.0:
        return 0.0
    term = math.exp(log_first)
    total = 0.0
    for _ in range(_MAX_TERMS):
        total += term
        term *= nb_ratio_up(j, mu, alpha)
        j += 1
        if term < total * 1e-16:
            break
    return min(1.0, total)


def binom_sf(k: int, n: int, f: float) -> float:
    """Upper tail P(X >= k) of a binomial(n, f): how often k of n events carry a mark by chance.

    >>> round(binom_sf(2, 3, 0.1), 6)
    0.028
    >>> binom_sf(0, 5, 0.2), binom_sf(4, 3, 0.5)
    (1.0, 0.0)
    """
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    f = min(1.0, max(0.0, f))
    if f <= 0.0 or f >= 1.0:
        return 0.0 if f <= 0.0 else 1.0
    log_f, log_g = math.log(f), math.log1p(-f)
    total = 0.0
    for j in range(k, n + 1):
        log_c = math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1)
        total += math.exp(log_c + j * log_f + (n - j) * log_g)
    return min(1.0, total)


def count_ppf(q: float, mu: float, alpha: float = 0.0) -> int:
    """Smallest count k with P(X <= k) >= q (the q-quantile)."""
    if mu <= 0.0 or q <= 0.0:
        return 0
    q = min(q, 1.0 - 1e-12)
    alpha = alpha if alpha > 1e-9 else 0.0
    sd = math.sqrt(mu + max(alpha, 0.0) * mu * mu)
    lo, hi = 0, int(mu + 12.0 * sd + 10)
    # invariant: answer in [lo, hi]; cdf(k) = 1 - sf(k + 1)
    while 1.0 - count_sf(hi + 1, mu, alpha) < q:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if 1.0 - count_sf(mid + 1, mu, alpha) >= q:
            hi = mid
        else:
            lo = mid + 1
    return lo


def normal_sf(z: float) -> float:
    """Upper tail of the standard normal."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def surprise(p: float, scale: float) -> float:
    """``-log10(p) / scale`` clipped to [0, 1]: the score of an upper-tail probability."""
    if p >= 1.0:
        return 0.0
    return min(1.0, max(0.0, -math.log10(max(p, _TINY)) / scale))


def nb_cusum_step(s: float, k: float, mu: float, alpha: float, ratio: float) -> float:
    """One step of a CUSUM for a ``ratio``-fold rise of a Poisson/NB mean (log-likelihood ratio).

    ``S <- max(0, S + log f(k; ratio*mu) - log f(k; mu))``; crossing ``h`` signals a sustained
    rise that no single day shows, e.g. a labour dispute wave building over a fortnight.
    """
    if mu <= 0.0:
        return s
    if alpha <= 1e-9:
        llr = k * math.log(ratio) - (ratio - 1.0) * mu
    else:
        r = 1.0 / alpha
        llr = k * math.log(ratio * (mu + r) / (ratio * mu + r)) + r * math.log((mu + r) / (ratio * mu + r))
    return max(0.0, s + llr)


def level_for(score: float, bands: tuple[float, float, float, float]) -> Level | None:
    """The level whose band the score reaches (blue, yellow, orange, red), or None below blue."""
    level: Level | None = None
    for name, floor in zip(LEVELS, bands, strict=True):
        if score >= floor:
            level = name
    return level


@dataclass(frozen=True, slots=True)
class SeriesParams:
    """Parameters of `SeriesScorer` (thresholds ``[dynamic.series]``)."""

    half_life: float = 48.0
    min_history: int = 24
    surprise_scale: float = 8.0
    alert_score: float = 0.5
    learn_clip_sd: float = 4.0


class SeriesScorer:
    """Streaming surprise score for any ``timestamp,value`` series, with no look-ahead.

    The dynamic detector's statistics without the calendar: an exponentially weighted mean
    and variance (half-life counted in observations, so regular and irregular series need no
    per-file time scale) and the upper-tail surprise of each new value under a negative
    binomial with those moments when values are counts (non-negative integers), else under a
    normal. Scores are computed *before* the value is learned (score, then learn), values
    above mean + `learn_clip_sd` sd are clipped before learning so a burst does not teach
    itself into the baseline at once, and nothing scores before `min_history` observations.
    Only rises score: the engine warns about more disputes, not fewer.

    Parameters
    ----------
    params : SeriesParams
        Half-life (observations), warm-up length, surprise scale, alert cut-off.

    Examples
    --------
    >>> sc = SeriesScorer(SeriesParams(min_history=5))
    >>> st = sc.init_state()
    >>> for v in [2, 3, 2, 1, 3, 2]:
    ...     st, score = sc.update(st, v)
    >>> score < 0.1
    True
    >>> st, score = sc.update(st, 40)
    >>> score == 1.0 and sc.is_alert(score)
    True
    """

    def __init__(self, params: SeriesParams | None = None) -> None:
        self.params = params
        self._p = params or SeriesParams()
        self._decay = 0.5 ** (1.0 / self._p.half_life)

    def init_state(self) -> dict[str, Any]:
        """Empty state: weight, weighted mean and variance, count of observations, all-integer flag."""
        return {"n": 0, "w": 0.0, "m": 0.0, "v": 0.0, "int": True}

    def score(self, state: dict[str, Any], value: float) -> float:
        """Surprise of `value` given the history in `state`, in [0, 1]."""
        p = self._p
        if state["n"] < p.min_history or not math.isfinite(value):
            return 0.0
        m = float(state["m"])
        var = max(float(state["v"]), 1e-12)
        if state["int"] and value >= 0 and float(value).is_integer():
            alpha = max(0.0, (var - m) / (m * m)) if m > 0 else 0.0
            if m <= 0.0:
                return 1.0 if value > 0 else 0.0
            return surprise(count_sf(value, m, alpha), p.surprise_scale)
        sd = math.sqrt(var)
        return surprise(normal_sf((value - m) / sd), p.surprise_scale)

    def learn(self, state: dict[str, Any], value: float) -> dict[str, Any]:
        """New state after observing `value` (the input state is not modified)."""
        if not math.isfinite(value):
            return dict(state)
        d = self._decay
        n = int(state["n"])
        m = float(state["m"])
        v = float(state["v"])
        if n >= self._p.min_history:
            cap = m + self._p.learn_clip_sd * math.sqrt(max(v, 1e-12)) + 1.0
            x = min(value, cap)
        else:
            x = value
        w = float(state["w"]) * d + 1.0
        a = 1.0 / w
        delta = x - m
        m_new = m + a * delta
        v_new = (1.0 - a) * (v + a * delta * delta)
        is_int = bool(state["int"]) and value >= 0 and float(value).is_integer()
        return {"n": n + 1, "w": w, "m": m_new, "v": v_new, "int": is_int}

    def update(self, state: dict[str, Any], value: float) -> tuple[dict[str, Any], float]:
        """Score `value`, then learn it; returns (new state, score)."""
        s = self.score(state, value)
        return self.learn(state, value), s

    def is_alert(self, score: float) -> bool:
        """True when a score reaches the alert cut-off."""
        return score >= self._p.alert_score
