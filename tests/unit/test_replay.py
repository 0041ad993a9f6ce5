"""The replay shell: ingest + event-time merge + the detector loop, no Kafka, no Redis."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from warning import thresholds as thresholds_mod
from warning.analysis.replay import EPOCH, iter_events, replay, run
from warning.core.detectors.base import DetectorState, WholeStateDetector
from warning.core.events import Alert, Event, Indicator, stable_id
from warning.core.ingest import DeadLetter
from warning.core.ports import Detector, KeySpace
from warning.settings import Settings
from warning.simulate.district import District, SimConfig, write

SETTINGS = Settings()
THRESHOLDS = thresholds_mod.load().thresholds


class GridCounter(WholeStateDetector):
    """A toy detector: one alert every `every`-th event of a grid."""

    name = "toy"
    version = "1"
    key_space: KeySpace = "street"

    def __init__(self, every: int = 2) -> None:
        self.every = every

    def init_state(self) -> DetectorState:
        return {"n": 0, "nows": []}

    def key(self, event: Event) -> str:
        return event.location.grid_id

    def step(self, state: DetectorState, event: Event, now: datetime) -> tuple[DetectorState, list[Alert]]:
        n = state["n"] + 1
        new = {"n": n, "nows": [*state["nows"], now.isoformat()]}
        if n % self.every:
            return new, []
        grid = self.key(event)
        alert = Alert(
            alert_id=stable_id("toy", grid, str(n)),
            type="dynamic",
            level="blue",
            unit=grid,
            subject=grid,
            title=f"{grid} 第{n}条",
            indicators=(Indicator("count", float(n), float(self.every)),),
            detector="toy@1",
            created_at=now,
            evidence=(event.event_id,),
            category=event.category,
        )
        return new, [alert]


def _loc(grid: str = "S01-C01-G01") -> dict[str, str]:
    street, comm = grid.split("-")[0], grid.rsplit("-", 1)[0]
    return {"street": street, "community": comm, "grid_id": grid}


def grid_rec(ref: str, at: str, grid: str = "S01-C01-G01", category: str = "neighbour") -> dict[str, Any]:
    return {
        "schema_version": 1,
        "report_id": ref,
        "worker_id": "W1",
        "occurred_at": at,
        "location": _loc(grid),
        "category": category,
    }


def hotline_rec(ref: str, at: str, grid: str = "S01-C01-G01") -> dict[str, Any]:
    return {
        "schema_version": 1,
        "ticket_no": ref,
        "occurred_at": at,
        "location": _loc(grid),
        "category": "property",
        "parties": [{"role": "complainant", "name": "王女士", "phone": "13812345678"}],
    }


def petition_rec(ref: str, at: str, grid: str = "S01-C01-G02") -> dict[str, Any]:
    return {
        "schema_version": 1,
        "case_no": ref,
        "occurred_at": at,
        "location": _loc(grid),
        "category": "land",
        "form": "visit",
        "parties": [{"role": "complainant", "name": "李四", "id_number": "11010519491231002X"}],
    }


def _write(dir_: Path, name: str, lines: list[dict[str, Any] | str]) -> None:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
    (dir_ / name).write_text(text + "\n", encoding="utf-8")


@pytest.fixture
def input_dir(tmp_path: Path) -> Path:
    _write(
        tmp_path,
        "grid-reports.jsonl",
        [
            grid_rec("G1", "2026-03-01T08:00:00+08:00"),
            grid_rec("G3", "2026-03-01T09:00:00+08:00"),
            grid_rec("G2", "2026-03-01T09:00:00+08:00"),  # same time, out of ref order
            grid_rec("G4", "2026-03-01T11:00:00+08:00"),
        ],
    )
    _write(
        tmp_path,
        "hotline-calls.jsonl",
        [
            hotline_rec("H1", "2026-03-01T01:00:00+00:00"),  # 09:00 +08:00: same instant as G2/G3
            hotline_rec("H2", "2026-03-01T10:30:00+08:00"),
        ],
    )
    _write(tmp_path, "petitions.jsonl", [petition_rec("P1", "2026-03-01T09:00:00+08:00")])
    return tmp_path


def test_events_merge_in_event_time_with_stable_tie_break(input_dir: Path) -> None:
    refs = [e.source_ref for e in iter_events(input_dir, SETTINGS, THRESHOLDS)]
    assert refs == ["G1", "G2", "G3", "H1", "P1", "H2", "G4"]


def test_unsorted_files_are_sorted_before_the_merge(input_dir: Path) -> None:
    _write(
        input_dir,
        "grid-reports.jsonl",
        [
            grid_rec("G4", "2026-03-01T11:00:00+08:00"),
            grid_rec("G1", "2026-03-01T08:00:00+08:00"),
            grid_rec("G3", "2026-03-01T09:00:00+08:00"),
            grid_rec("G2", "2026-03-01T09:00:00+08:00"),
        ],
    )
    refs = [e.source_ref for e in iter_events(input_dir, SETTINGS, THRESHOLDS)]
    assert refs == ["G1", "G2", "G3", "H1", "P1", "H2", "G4"]


def test_bad_lines_become_dead_letters_with_line_numbers(input_dir: Path) -> None:
    _write(
        input_dir,
        "grid-reports.jsonl",
        [
            grid_rec("G1", "2026-03-01T08:00:00+08:00"),
            "{not json",
            grid_rec("G2", "2026-03-01T09:00:00+08:00", category="aliens"),
            grid_rec("G3", "2026-03-01T10:00:00+08:00"),
        ],
    )
    letters: list[DeadLetter] = []
    events = list(iter_events(input_dir, SETTINGS, THRESHOLDS, letters.append))
    assert [e.source_ref for e in events if e.channel == "grid"] == ["G1", "G3"]
    assert [(d.reason, d.source_topic, d.partition, d.offset) for d in letters] == [
        ("bad_json", "grid-reports", 0, 2),
        ("unknown_category", "grid-reports", 0, 3),
    ]
    assert letters[0].received_at == EPOCH  # unparseable: the documented fixed epoch
    assert letters[1].received_at == datetime.fromisoformat("2026-03-01T09:00:00+08:00")
    assert letters[0].original == b"{not json"
    assert DeadLetter.from_dict(letters[1].to_dict()) == letters[1]


def test_identifiers_are_pseudonymised(input_dir: Path) -> None:
    events = list(iter_events(input_dir, SETTINGS, THRESHOLDS))
    dumped = json.dumps([e.to_dict() for e in events], ensure_ascii=False)
    assert "11010519491231002X" not in dumped and "13812345678" not in dumped
    assert any(p.person_ref for e in events for p in e.parties)


def test_run_keeps_state_per_detector_and_key_with_event_time(input_dir: Path) -> None:
    detector = GridCounter(every=2)
    alerts = run(iter_events(input_dir, SETTINGS, THRESHOLDS), [detector])
    # grid S01-C01-G01 sees G1, G2, G3, H1, H2, G4 -> alerts at its 2nd, 4th and 6th event
    assert [a.subject for a in alerts] == ["S01-C01-G01"] * 3
    assert [a.created_at.astimezone(EPOCH.tzinfo).isoformat() for a in alerts] == [
        "2026-03-01T01:00:00+00:00",
        "2026-03-01T01:00:00+00:00",
        "2026-03-01T03:00:00+00:00",
    ]


def test_run_works_with_no_detectors_and_with_several(input_dir: Path) -> None:
    events = list(iter_events(input_dir, SETTINGS, THRESHOLDS))
    assert run(events, []) == []

    class Every3(GridCounter):
        name = "toy3"  # a second state table under another name

    detectors: list[Detector] = [GridCounter(every=1), Every3(every=3)]
    assert len(run(events, detectors)) == 7 + 2


def test_replay_writes_alerts_and_dead_letters(input_dir: Path) -> None:
    (input_dir / "petitions.jsonl").write_text("[]\n", encoding="utf-8")
    alerts_out, dl_out = io.StringIO(), io.StringIO()
    summary = replay(input_dir, SETTINGS, THRESHOLDS, [GridCounter(every=2)], alerts_out, dl_out)
    lines = alerts_out.getvalue().splitlines()
    assert len(lines) == summary.alerts == 3
    assert Alert.from_dict(json.loads(lines[0])).detector == "toy@1"
    assert summary.events == 6 and summary.dead_letters == {"schema": 1}
    assert json.loads(dl_out.getvalue())["source_topic"] == "petitions"
    d = summary.to_dict()
    assert d["alerts_by_type"] == {"dynamic": 3} and d["alerts_by_level"] == {"blue": 3}


def test_cli_replay_uses_the_pipeline_detectors(input_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from warning import pipeline
    from warning.cli import app

    monkeypatch.setattr(pipeline, "build_detectors", lambda thresholds, artefacts=None: [GridCounter(every=2)])
    out, dl = input_dir / "out" / "alerts.jsonl", input_dir / "out" / "dl.jsonl"
    res = CliRunner().invoke(app, ["replay", str(input_dir), "--out", str(out), "--dead-letters", str(dl)])
    assert res.exit_code == 0, res.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
    assert dl.read_text(encoding="utf-8") == ""


def test_cli_replay_rejects_a_directory_without_inputs(tmp_path: Path) -> None:
    from warning.cli import app

    res = CliRunner().invoke(app, ["replay", str(tmp_path), "--out", str(tmp_path / "a.jsonl")])
    assert res.exit_code == 2


def test_replay_of_simulated_data_ingests_every_record(tmp_path: Path) -> None:
    manifest = write(
        District(SimConfig(seed=9, start=date(2026, 5, 1), days=3, streets=9, grids=40, scale=0.05)),
        tmp_path,
        SETTINGS.topics_dir,
    )
    letters: list[DeadLetter] = []
    events = list(iter_events(tmp_path, SETTINGS, THRESHOLDS, letters.append))
    assert letters == []
    assert len(events) == sum(manifest["counts"].values())
    keys = [(e.occurred_at, e.channel, e.source_ref) for e in events]
    assert keys == sorted(keys, key=lambda k: (k[0], ("grid", "hotline", "petition").index(k[1]), k[2]))
    alerts = run(events, [GridCounter(every=5)])
    assert alerts and all(a.created_at >= events[0].occurred_at for a in alerts)


def test_replay_dead_letters_a_future_record_as_the_stream_would(input_dir: Path) -> None:
    # the stream's received_at is the publish time: replaying now must judge records against now
    _write(input_dir, "petitions.jsonl", [petition_rec("P9", "2099-01-01T09:00:00+08:00")])
    letters: list[DeadLetter] = []
    received = datetime(2026, 3, 2, tzinfo=EPOCH.tzinfo)
    events = list(iter_events(input_dir, SETTINGS, THRESHOLDS, letters.append, received_at=received))
    assert [d.reason for d in letters] == ["future_timestamp"]
    assert all(e.source_ref != "P9" for e in events)
    as_recorded = list(iter_events(input_dir, SETTINGS, THRESHOLDS))
    assert len(as_recorded) == len(events) + 1


class Exploding(GridCounter):
    """A detector that raises on one grid: the engine must isolate it."""

    name = "boom"

    def step(self, state: DetectorState, event: Event, now: datetime) -> tuple[DetectorState, list[Alert]]:
        if event.source_ref == "G2":
            raise ValueError("poison")
        return super().step(state, event, now)


def test_a_detector_that_raises_dead_letters_the_event_and_carries_on(input_dir: Path) -> None:
    dl_out = io.StringIO()
    summary = replay(input_dir, SETTINGS, THRESHOLDS, [Exploding(every=1), GridCounter(every=1)], None, dl_out)
    letters = [json.loads(line) for line in dl_out.getvalue().splitlines()]
    assert [d["reason"] for d in letters] == ["detector_error"]
    assert "poison" in letters[0]["detail"] and "boom" in letters[0]["detail"]
    # the other detector saw every event; the exploding one every event but G2
    assert summary.raw_alerts == 7 + 6
