"""Where the dynamic detector's false alerts come from, and what dropping each source would cost.

Runs the dynamic detector alone (no pipeline, no other detectors) over already simulated
directories, matches its alerts to the dynamic truth with the strict evaluator, and prints the
alert counts of a few post-hoc filters: all alerts; without alerts raised by the mass-incident
rules alone (keyword / headcount / multi-channel with no window or CUSUM indicator); also without
street-scope alerts; also without CUSUM alerts. A filter is a diagnosis, not a detector: it shows
how much precision each alert source costs and how much recall it buys (issue 10).

    .venv/bin/warning simulate --days 45 --seed 11 --difficulty realistic --out /tmp/r11
    .venv/bin/python bench/dynamic_alert_sources.py /tmp/r11 /tmp/r12 /tmp/r13
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from warning import settings as settings_mod
from warning import thresholds as thresholds_mod
from warning.analysis.evaluate import assign, collapse, occurrences, read_truth
from warning.analysis.replay import iter_events
from warning.core.detectors.base import DetectorState
from warning.core.detectors.dynamic import DynamicDetector
from warning.core.events import Alert

RULES = frozenset({"keyword", "headcount", "multi_channel"})


def _names(a: Alert) -> set[str]:
    return {i.name for i in a.indicators}


FILTERS: dict[str, Callable[[Alert], bool]] = {
    "all": lambda a: True,
    "no_rule_only": lambda a: not _names(a) <= RULES,
    "no_rule_only_no_street": lambda a: not _names(a) <= RULES and a.details.get("scope") != "street",
    "no_rule_only_no_cusum": lambda a: not _names(a) <= RULES and "cusum" not in _names(a),
}


def alerts_of(data: Path) -> tuple[list[Alert], float]:
    """The dynamic detector's alerts over `data` (collapsed by id) and the street-weeks covered."""
    cfg = settings_mod.load()
    th = thresholds_mod.load(cfg.thresholds_file).thresholds
    det = DynamicDetector(th.dynamic.params(th.calendar.params()))
    states: dict[str, DetectorState] = {}
    out: list[Alert] = []
    streets: set[str] = set()
    first = last = None
    for ev in iter_events(data, cfg, th):
        key = det.key(ev)
        states[key], got = det.step(states.get(key) or det.init_state(), ev, ev.occurred_at)
        out.extend(got)
        streets.add(ev.location.street)
        first, last = first or ev.occurred_at, ev.occurred_at
    weeks = (last - first).total_seconds() / 604800 if first and last else 0.0
    return collapse(out), len(streets) * weeks


def main(dirs: Sequence[str]) -> None:
    """Print per directory and filter: alerts, matched, incidents; then the pooled rates."""
    tot = {name: [0, 0, 0, 0] for name in FILTERS}
    street_weeks = 0.0
    for d in map(Path, dirs):
        alerts, sw = alerts_of(d)
        street_weeks += sw
        truths = [t for t in occurrences(read_truth(d / "truth.jsonl")) if t.type == "dynamic"]
        slow = sum(1 for t in truths if t.kind == "slow_rise")
        for name, keep in FILTERS.items():
            al = [a for a in alerts if keep(a)]
            matched = len(assign(al, truths).claimed)
            print(f"{d.name} {name}: {len(al)} alerts, {matched} matched, {len(truths)} incidents ({slow} slow rises)")
            for i, v in enumerate((len(al), matched, len(truths), slow)):
                tot[name][i] += v
    for name, (n, m, inc, slow) in tot.items():
        print(
            f"ALL {name}: precision {m / max(n, 1):.3f} recall {m / max(inc, 1):.3f} "
            f"(ceiling without slow rises {(inc - slow) / max(inc, 1):.3f}) "
            f"false/street-week {(n - m) / max(street_weeks, 1e-9):.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
