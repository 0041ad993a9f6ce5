"""The case model as the core sees it: a calibrated linear score, cheap and explainable.

The trained scikit-learn pipeline (standardise → logistic regression → probability calibration
on a later slice) lives in the artefact the shell loads (`warning.analysis.case_model`); what
the detector needs from it is this handful of arrays. Scoring is a dot product and a sigmoid
(about 9 µs a call, measured in bench/bench_case.py), so it never blocks the event
loop, and each feature's share of the score is exactly ``coef × standardised value`` — the
explanation comes from the model itself. A test checks the arrays reproduce the pipeline's
``predict_proba``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from warning.core.errors import ImproperlyConfigured


@dataclass(frozen=True)
class LinearCaseModel:
    """Standardise, weigh, calibrate: ``p = 1 / (1 + exp(a·(w·z + b) + c))`` (Platt) or isotonic."""

    version: str
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    platt: tuple[float, float] | None = None
    iso_x: np.ndarray | None = None
    iso_y: np.ndarray | None = None

    def check(self, expected: Sequence[str]) -> None:
        """Refuse a model trained on another feature list, naming both."""
        check_features(self.version, self.features, expected)

    def margin(self, x: Sequence[float]) -> tuple[float, np.ndarray]:
        """Raw logit and the per-feature contributions (coef × standardised value)."""
        z = (np.asarray(x, dtype=float) - self.mean) / self.scale
        parts = self.coef * z
        return float(parts.sum() + self.intercept), parts

    def calibrate(self, margin: float) -> float:
        """Calibrated probability of the raw logit."""
        if self.platt is not None:
            a, b = self.platt
            return 1.0 / (1.0 + math.exp(min(700.0, a * margin + b)))
        if self.iso_x is not None and self.iso_y is not None:
            return float(np.interp(margin, self.iso_x, self.iso_y))
        return 1.0 / (1.0 + math.exp(-max(-700.0, margin)))

    def score(self, x: Sequence[float]) -> tuple[float, np.ndarray]:
        """Calibrated risk in [0, 1] and the contributions behind it."""
        m, parts = self.margin(x)
        return min(1.0, max(0.0, self.calibrate(m))), parts


def check_features(version: str, trained: Sequence[str], expected: Sequence[str]) -> None:
    """Raise `ImproperlyConfigured` naming both lists' differences when they are not identical."""
    if tuple(expected) == tuple(trained):
        return
    missing = [f for f in expected if f not in trained]
    extra = [f for f in trained if f not in expected]
    raise ImproperlyConfigured(
        f"case model {version} was trained on {len(trained)} features, this engine computes "
        f"{len(expected)} (missing from the model: {missing or 'none'}; unknown to the engine: "
        f"{extra or 'none'}{'' if missing or extra else '; the order differs'}).\nOperator action: retrain "
        "with `warning case-model train DATA_DIR` or install the artefact matching this engine."
    )
