"""A synthetic district with ground truth: geography, three input channels, seasons, incidents.

`warning simulate` writes ``grid-reports.jsonl``, ``hotline-calls.jsonl`` and ``petitions.jsonl``
(names from the topic catalogue; every record validates against `warning.core.schemas`), a
``truth.jsonl`` with one line per injected incident, ``geography.json`` and ``manifest.json``; or
it publishes the same records live to Kafka. Modules: `geography` (streets, communities, grids),
`names` (people, ID numbers, phones and their garbled variants), `calendar` (holidays, seasons),
`channels` (record builders per source system), `background` (ordinary disputes), `incidents`
(the four warning types' ground truth) and `district` (the run, files, live mode).
"""

from __future__ import annotations
