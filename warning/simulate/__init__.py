"""A synthetic district with ground truth: geography, three input channels, seasons, incidents.

`warning simulate` writes ``grid-reports.jsonl``, ``hotline-calls.jsonl`` and ``petitions.jsonl``
(names from the topic catalogue; every record validates against `warning.core.schemas`), a
``truth.jsonl`` with one line per injected incident, ``geography.json`` and ``manifest.json``; or
it publishes the same records live to Kafka. Modules: `geography` (streets, communities, grids),
`names` (people, ID numbers, phones and their garbled variants), `calendar` (holidays, seasons),
`channels` (record builders per source system), `vocabulary` (group and tension phrases shared
by ordinary records and incidents), `difficulty` (the easy/realistic/hard presets and their
knobs), `background` (ordinary disputes), `incidents` (the four warning types' ground truth)
and `district` (the run, files, live mode). Nothing here imports the detectors, the thresholds
or the pipeline (tests/unit/test_simulate.py checks it): the data must not be built to suit them.
"""

from __future__ import annotations
