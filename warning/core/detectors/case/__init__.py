"""Individual-case warning (个案预警): state and features, rules, the model's core view, the detector."""

from __future__ import annotations

from warning.core.detectors.case.detector import CaseDetector
from warning.core.detectors.case.features import BASELINE_FEATURES, FEATURES, CaseParams
from warning.core.detectors.case.model import LinearCaseModel

__all__ = ["BASELINE_FEATURES", "FEATURES", "CaseDetector", "CaseParams", "LinearCaseModel"]
