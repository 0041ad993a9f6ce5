"""Fellegi-Sunter match weights, estimated by EM on unlabelled comparison vectors.

For each field f and level l, ``m[f][l]`` = P(level | same person) and ``u[f][l]`` =
P(level | different people); a pair's evidence is the sum of ``log2(m/u)`` over the fields
that are present (missing fields add nothing), and with the prior ``lam`` (the share of
matches among the pairs the model was fitted on - blocked candidate pairs) it becomes a
posterior match probability. Nothing here is hand-set: `fit` runs the classic two-class EM
(Winkler 1988; splink's documentation explains it well) on the candidate pairs of whatever
data it is given. ``u`` starts from pairs drawn at random (as splink estimates it), ``m``
from a generic "agreement is likely" guess, then both move.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from warning.core.detectors.relational.compare import FIELDS, LEVELS, MISSING, Vector

_FLOOR = 1e-6  # no level is impossible: a zero would veto a pair on one field alone


@dataclass(frozen=True, slots=True)
class MatchWeights:
    """m/u probabilities per field and level, and the prior share of matches."""

    m: Mapping[str, tuple[float, ...]]
    u: Mapping[str, tuple[float, ...]]
    lam: float
    fitted_on: str = ""

    def log2_bayes(self, vector: Vector) -> float:
        """Evidence of one comparison vector, in bits (positive = for a match)."""
        total = 0.0
        for field, level in zip(FIELDS, vector, strict=True):
            if level != MISSING:
                total += math.log2(self.m[field][level] / self.u[field][level])
        return total

    def probability(self, vector: Vector) -> float:
        """Posterior probability that the pair is one person."""
        bits = self.log2_bayes(vector) + math.log2(self.lam / (1 - self.lam))
        return 1.0 / (1.0 + float(2.0 ** -max(min(bits, 60.0), -60.0)))

    def to_dict(self) -> dict[str, Any]:
        """JSON form (artefact file, bench results)."""
        return {
            "m": {f: list(v) for f, v in self.m.items()},
            "u": {f: list(v) for f, v in self.u.items()},
            "lam": self.lam,
            "fitted_on": self.fitted_on,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MatchWeights:
        """Inverse of `to_dict`; checks every field has one probability per level."""
        m = {f: tuple(float(x) for x in data["m"][f]) for f in FIELDS}
        u = {f: tuple(float(x) for x in data["u"][f]) for f in FIELDS}
        for f in FIELDS:
            if len(m[f]) != LEVELS[f] or len(u[f]) != LEVELS[f]:
                raise ValueError(f"match weights: field {f!r} needs {LEVELS[f]} levels")
        return cls(m, u, float(data["lam"]), str(data.get("fitted_on", "")))


def _normalise(counts: list[float]) -> tuple[float, ...]:
    total = sum(counts)
    if total <= 0:
        return tuple(1.0 / len(counts) for _ in counts)
    probs = [max(c / total, _FLOOR) for c in counts]
    s = sum(probs)
    return tuple(p / s for p in probs)


def level_shares(vectors: Mapping[Vector, int]) -> dict[str, tuple[float, ...]]:
    """Per field, the share of each level among the vectors where the field is present."""
    out: dict[str, tuple[float, ...]] = {}
    for i, f in enumerate(FIELDS):
        counts = [0.0] * LEVELS[f]
        for vec, n in vectors.items():
            if vec[i] != MISSING:
                counts[vec[i]] += n
        out[f] = _normalise([c + 1.0 for c in counts])  # add-one: an unseen level stays possible
    return out


def _initial_m() -> dict[str, tuple[float, ...]]:
    # "agreement is likely for one person": geometric over the ordered levels
    return {f: _normalise([0.5**level for level in range(LEVELS[f])]) for f in FIELDS}


def fit(
    candidates: Iterable[Vector],
    random_pairs: Iterable[Vector] = (),
    iterations: int = 200,
    tolerance: float = 1e-6,
    fitted_on: str = "",
) -> MatchWeights:
    """Two-class EM on the candidate pairs together with random pairs; prior from candidates.

    Candidate pairs alone are mostly pairs that already agree on the key they were blocked on,
    so EM on them alone under-estimates how often different people disagree on everything
    else (u of "name differs" comes out small, and a shared birth date then links strangers);
    random pairs, nearly all different people, supply that side. The prior ``lam`` of the
    returned weights is the mean posterior over the *candidate* pairs, the pairs the resolver
    scores.
    """
    cand = Counter(candidates)
    if not cand:
        raise ValueError("EM needs at least one candidate pair")
    counts = cand + Counter(random_pairs)
    weights = MatchWeights(_initial_m(), level_shares(counts), 0.1, fitted_on)
    for _ in range(iterations):
        m_counts = {f: [0.0] * LEVELS[f] for f in FIELDS}
        u_counts = {f: [0.0] * LEVELS[f] for f in FIELDS}
        matched = total = 0.0
        for vec, n in counts.items():
            p = weights.probability(vec)
            matched += p * n
            total += n
            for i, f in enumerate(FIELDS):
                if vec[i] != MISSING:
                    m_counts[f][vec[i]] += p * n
                    u_counts[f][vec[i]] += (1 - p) * n
        new = MatchWeights(
            {f: _normalise(m_counts[f]) for f in FIELDS},
            {f: _normalise(u_counts[f]) for f in FIELDS},
            min(max(matched / total, 1e-4), 1 - 1e-4),
            fitted_on,
        )
        delta = abs(new.lam - weights.lam) + max(
            abs(a - b) for f in FIELDS for a, b in zip(new.m[f], weights.m[f], strict=True)
        )
        weights = new
        if delta < tolerance:
            break
    # the prior among candidates: solve lam = mean posterior over candidate pairs
    lam = weights.lam
    n_cand = sum(cand.values())
    for _ in range(50):
        lam = min(max(sum(_posterior(weights, lam, v) * n for v, n in cand.items()) / n_cand, 1e-4), 1 - 1e-4)
    return MatchWeights(weights.m, weights.u, lam, fitted_on)


def _posterior(w: MatchWeights, lam: float, vec: Vector) -> float:
    return MatchWeights(w.m, w.u, lam).probability(vec)
