"""What both shells run: the detectors built from the thresholds in force.

The stream shell (Faust) and the replay shell call `build_detectors` with the same
thresholds and feed the same events in the same per-key order, which is why they emit the
same alerts. Detectors are registered here, in one list, in the order they run.
"""

from __future__ import annotations

from warning.core.ports import Detector
from warning.thresholds import Thresholds


def build_detectors(thresholds: Thresholds) -> list[Detector]:
    """Instantiate every enabled detector with its typed parameters from `thresholds`."""
    detectors: list[Detector] = []
    # registered detectors (keep one block each; see DESIGN.md §6)
    calendar = thresholds.calendar.params()
    if thresholds.dynamic.enabled:
        from warning.core.detectors.dynamic import DynamicDetector

        detectors.append(DynamicDetector(thresholds.dynamic.params(calendar)))
    if thresholds.pattern.enabled:
        from warning.core.detectors.pattern import PatternDetector

        detectors.append(PatternDetector(thresholds.pattern.params("street", calendar)))
        if thresholds.pattern.district_enabled:
            detectors.append(PatternDetector(thresholds.pattern.params("district", calendar)))
    return detectors
