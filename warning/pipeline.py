"""What every shell runs: the detectors built from the thresholds in force, grouped by key space.

The stream shell (Faust), replay, forecast, evaluate and the benchmarks all call
`build_detectors` and drive the result through `warning.core.engine.Engine`, the one
"get state, update, put back" loop; that is why they emit the same alerts for the same input.
Detectors are registered here, in one list, in the order they run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from warning.core.detectors.relational.fs import MatchWeights
from warning.core.engine import Engine
from warning.core.ports import Detector, KeySpace
from warning.thresholds import Thresholds

KEY_SPACES: tuple[KeySpace, ...] = ("street", "district", "case")


@dataclass(frozen=True)
class Artefacts:
    """What detectors need besides thresholds and that survives a thresholds reload (a model)."""

    items: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        """The artefact, or None when not loaded."""
        return self.items.get(name)


def build_detectors(thresholds: Thresholds, artefacts: Artefacts | None = None) -> list[Detector]:
    """Instantiate every enabled detector with its typed parameters from `thresholds`."""
    artefacts = artefacts or Artefacts()
    detectors: list[Detector] = []
    # registered detectors (keep one block each; see DESIGN.md §6)
    calendar = thresholds.calendar.params()
    if thresholds.dynamic.enabled:
        from warning.core.detectors.dynamic import DynamicDetector

        detectors.append(DynamicDetector(thresholds.dynamic.params(calendar)))
    if thresholds.pattern.enabled:
        from warning.core.detectors.pattern import PatternDetector

        profile = artefacts.get("pattern_profile") or {}
        detectors.append(PatternDetector(thresholds.pattern.params("street", calendar), profile.get("pattern")))
        if thresholds.pattern.district_enabled:
            detectors.append(
                PatternDetector(thresholds.pattern.params("district", calendar), profile.get("pattern_district"))
            )
    if thresholds.case.enabled:
        from warning.core.detectors.case import CaseDetector

        detectors.append(CaseDetector(thresholds.case.params(), artefacts.get("case_model")))
    if thresholds.relational.enabled:
        from warning.core.detectors.relational.detector import RelationalDetector

        weights = artefacts.get("match_weights") or default_match_weights()
        detectors.append(RelationalDetector(thresholds.relational.params(), weights))
    return detectors


MATCH_WEIGHTS = Path(__file__).resolve().parent.parent / "models" / "match-weights.json"


@cache
def default_match_weights() -> MatchWeights:
    """The shipped entity-resolution weights: EM on an unlabelled registry (`bench/bench_link.py --fit-default`)."""
    import json

    return MatchWeights.from_dict(json.loads(MATCH_WEIGHTS.read_text(encoding="utf-8")))


def load_artefacts(case_model: Path | None = None, pattern_profile: Path | None = None) -> Artefacts:
    """Load what detectors take besides thresholds (shell side: this reads files).

    `pattern_profile` (``WARNING_PATTERN_PROFILE``): the pattern states learned from the
    district's archive (`warning.analysis.pattern_profile`); without it new keys start empty.

    `case_model` defaults to the shipped ``models/case-model.skops``; when that file is absent
    the case detector runs its rules without a score. A present but unusable artefact (another
    scikit-learn version, another feature list) raises `ImproperlyConfigured`.
    """
    from warning.analysis.case_model import DEFAULT_MODEL, load_scorer

    path = case_model or DEFAULT_MODEL
    items: dict[str, Any] = {}
    if case_model is not None or path.exists():
        items["case_model"] = load_scorer(path)
    if pattern_profile is not None:
        from warning.analysis.pattern_profile import load_profile

        items["pattern_profile"] = load_profile(pattern_profile)
    return Artefacts(items)


def lateness(thresholds: Thresholds) -> timedelta:
    """The reorder bound of the engine (thresholds [engine] section)."""
    return timedelta(seconds=thresholds.engine.lateness_seconds)


def build_engines(detectors: Sequence[Detector], thresholds: Thresholds) -> dict[KeySpace, Engine]:
    """One engine per key space that has at least one detector."""
    bound = lateness(thresholds)
    horizon = timedelta(hours=thresholds.engine.dedupe_hours)
    engines = {ks: Engine(ks, detectors, bound, horizon) for ks in KEY_SPACES}
    return {ks: e for ks, e in engines.items() if e.detectors}
