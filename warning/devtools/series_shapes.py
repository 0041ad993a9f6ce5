"""Synthetic ``timestamp,value`` series of many shapes, with anomalies of known place and size.

Why: `warning score-series` claims to score counts, rates, percentages, latencies and
temperatures without per-file tuning. The unit tests and ``bench/bench_scorer.py`` check that
claim on these shapes: each generator returns a clean series plus the noise scale at every
row, so an anomaly can be injected as "k noise scales" whatever the units. Generators are
seeded numpy and share nothing with the scorer (so the scorer cannot be tuned to them by
construction; its constants were set before these shapes were written down as tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Kind = Literal["spike", "dip", "shift", "variance", "ramp"]
KINDS: Final[tuple[Kind, ...]] = ("spike", "dip", "shift", "variance", "ramp")
_T0: Final = 1_780_000_000.0
_DAY: Final = 86_400.0


@dataclass(frozen=True)
class Series:
    """A generated series: epoch seconds, values, the noise scale per row, and its type."""

    name: str
    t: Array
    y: Array
    scale: Array
    counts: bool = False
    lower: float | None = None
    upper: float | None = None
    log_scale: float | None = None  # set for multiplicative noise: anomalies scale log(y)


def _daily(t: Array) -> Array:
    return np.asarray(np.sin(2.0 * np.pi * (t % _DAY) / _DAY), dtype=np.float64)


def _grid(n: int, step: float) -> Array:
    return _T0 + step * np.arange(n, dtype=np.float64)


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> Array:
    e = rng.normal(0.0, sd * np.sqrt(1.0 - phi * phi), n)
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc = phi * acc + e[i]
        out[i] = acc
    return out


def poisson_seasonal(rng: np.random.Generator, n: int = 2000) -> Series:
    """Hourly counts with a daily cycle (mean 2 at night, 10 by day)."""
    t = _grid(n, 3600.0)
    lam = 6.0 + 4.0 * _daily(t)
    return Series("poisson_seasonal", t, rng.poisson(lam).astype(np.float64), np.sqrt(lam), counts=True)


def counts_sparse(rng: np.random.Generator, n: int = 2000) -> Series:
    """Zero-heavy, over-dispersed daily-ish counts (a quiet grid's disputes)."""
    t = _grid(n, 6 * 3600.0)
    lam = rng.gamma(2.0, 0.4, n)
    return Series("counts_sparse", t, rng.poisson(lam).astype(np.float64), np.full(n, 1.0), counts=True)


def temperature(rng: np.random.Generator, n: int = 2000) -> Series:
    """Hourly temperatures, daily cycle of +-6 degrees, autocorrelated noise (sd 0.8)."""
    t = _grid(n, 3600.0)
    y = 12.0 + 6.0 * _daily(t) + _ar1(rng, n, 0.6, 0.8)
    return Series("temperature", t, y, np.full(n, 0.8))


def latency_lognormal(rng: np.random.Generator, n: int = 3000) -> Series:
    """Per-minute latencies in ms, lognormal (median 120 ms, sigma 0.5)."""
    t = _grid(n, 60.0)
    y = 120.0 * np.exp(rng.normal(0.0, 0.5, n))
    return Series("latency_lognormal", t, y, 0.5 * y, lower=0.0, log_scale=0.5)


def latency_pareto(rng: np.random.Generator, n: int = 3000) -> Series:
    """Per-minute latencies with a Pareto tail (index 2.5, minimum 40 ms)."""
    t = _grid(n, 60.0)
    y = 40.0 * (1.0 + rng.pareto(2.5, n))
    return Series("latency_pareto", t, y, 0.4 * y, lower=0.0, log_scale=0.4)


def percent(rng: np.random.Generator, n: int = 2500) -> Series:
    """CPU busy % every 5 minutes, bounded in [0, 100], daily cycle, rounded to 0.1."""
    t = _grid(n, 300.0)
    y = np.clip(np.round(45.0 + 20.0 * _daily(t) + rng.normal(0.0, 4.0, n), 1), 0.0, 100.0)
    return Series("percent", t, y, np.full(n, 4.0), lower=0.0, upper=100.0)


def irregular_gaps(rng: np.random.Generator, n: int = 2000) -> Series:
    """Pressure readings (bar) at random intervals (mean 20 min) with gaps of 1-3 days."""
    dt = rng.exponential(1200.0, n)
    for i in rng.choice(n, 6, replace=False):
        dt[i] = rng.uniform(1.0, 3.0) * _DAY
    t = _T0 + np.cumsum(dt)
    y = 3.2 + 0.05 * _daily(t) + rng.normal(0.0, 0.03, n)
    return Series("irregular_gaps", t, y, np.full(n, 0.03))


def constant_stretches(rng: np.random.Generator, n: int = 2000) -> Series:
    """A flow meter (m3/h, sd 2) that sticks at its last value for 30-120 rows now and then."""
    t = _grid(n, 600.0)
    y = 50.0 + rng.normal(0.0, 2.0, n)
    i = 100
    while i < n - 200:
        length = int(rng.integers(30, 120))
        y[i : i + length] = y[i - 1]
        i += length + int(rng.integers(150, 400))
    return Series("constant_stretches", t, y, np.full(n, 2.0))


def flat(rng: np.random.Generator, n: int = 600) -> Series:
    """A set-point that never moves (exactly 100.0) - the scale is the floor."""
    t = _grid(n, 3600.0)
    return Series("flat", t, np.full(n, 100.0), np.full(n, 100.0))


def long_sensor(rng: np.random.Generator, n: int = 22_000) -> Series:
    """22k rows of 10-minute temperatures over five months: daily cycle, drift, AR noise."""
    t = _grid(n, 600.0)
    drift = 8.0 * np.sin(2.0 * np.pi * np.arange(n) / n)
    y = np.round(15.0 + drift + 5.0 * _daily(t) + _ar1(rng, n, 0.9, 0.6), 2)
    return Series("long_sensor", t, y, np.full(n, 0.6))


SHAPES: Final[dict[str, Callable[[np.random.Generator], Series]]] = {
    "poisson_seasonal": poisson_seasonal,
    "counts_sparse": counts_sparse,
    "temperature": temperature,
    "latency_lognormal": latency_lognormal,
    "latency_pareto": latency_pareto,
    "percent": percent,
    "irregular_gaps": irregular_gaps,
    "constant_stretches": constant_stretches,
    "flat": flat,
    "long_sensor": long_sensor,
}


@dataclass(frozen=True)
class Injected:
    """A series with one anomaly: where it starts and ends (rows), its kind and strength."""

    series: Series
    kind: Kind
    start: int
    end: int
    strength: float


def _bound(s: Series, y: Array) -> Array:
    lo = -np.inf if s.lower is None else s.lower
    hi = np.inf if s.upper is None else s.upper
    y = np.clip(y, lo, hi)
    return np.round(y) if s.counts else y


def inject(s: Series, kind: Kind, at: int, strength: float, length: int = 48) -> Injected:
    """`s` with one anomaly of `strength` noise scales at row `at` (lasting `length` for shifts).

    On a multiplicative series (latencies) the anomaly is added to ``log(y)`` in units of
    its log-scale, so a dip stays positive; counts stay integer and bounded series in bounds.
    """
    end = at + 1 if kind in ("spike", "dip") else min(len(s.y), at + length)
    if s.log_scale is not None:
        y = np.exp(_shape(np.log(s.y), np.full(len(s.y), s.log_scale), kind, at, end, strength, length))
    else:
        sc = np.maximum(s.scale, 1.0) if s.counts else s.scale
        y = _shape(s.y.copy(), sc, kind, at, end, strength, length)
    return Injected(replace(s, y=_bound(s, y)), kind, at, end, strength)


def _shape(y: Array, sc: Array, kind: Kind, at: int, end: int, strength: float, length: int) -> Array:
    if kind == "spike":
        y[at] += strength * sc[at]
    elif kind == "dip":
        y[at] -= strength * sc[at]
    elif kind == "shift":
        y[at:] += strength * sc[at:]
    elif kind == "variance":
        mid = np.convolve(y, np.ones(9) / 9.0, mode="same")
        y[at:end] = mid[at:end] + (y[at:end] - mid[at:end]) * strength
    else:  # ramp: a slow rise reaching `strength` scales after `length` rows, then staying
        ramp = np.minimum(np.arange(len(y) - at), length) / length
        y[at:] += strength * sc[at:] * ramp
    return y
