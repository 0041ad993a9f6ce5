"""``warning case-model train | evaluate | card`` on a small simulated district (and its labels)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warning.cli import app

RUN = CliRunner()


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("casesim")
    res = RUN.invoke(app, ["simulate", "--days", "240", "--scale", "0.02", "--seed", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_simulate_writes_case_labels(sim: Path) -> None:
    with (sim / "case-labels.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) == {"case_ref", "label", "decided_at"}
    assert {r["label"] for r in rows} == {"0", "1"}
    lines = (sim / "grid-reports.jsonl").read_text(encoding="utf-8").splitlines()
    refs = {json.loads(line).get("case_ref") for line in lines}
    assert {r["case_ref"] for r in rows} <= refs


def test_train_evaluate_card(sim: Path, tmp_path: Path) -> None:
    model = tmp_path / "m" / "case-model.skops"
    res = RUN.invoke(app, ["case-model", "train", str(sim), "--out", str(model)])
    assert res.exit_code == 0, res.output
    assert model.exists()
    res = RUN.invoke(app, ["case-model", "evaluate", str(model), str(sim), "--horizon", "24"])
    assert res.exit_code == 0, res.output
    last = json.loads(res.output.strip().splitlines()[-1])
    assert set(last) == {"auc", "brier", "ece", "baseline_auc", "cases", "positives"}
    assert last["cases"] > 0 and 0 <= last["brier"] <= 1
    assert "weekly budget" in res.output and "petitioner" in res.output
    res = RUN.invoke(app, ["case-model", "card", str(model)])
    assert res.exit_code == 0, res.output
    card = (model.parent / "CARD.md").read_text(encoding="utf-8")
    assert "A human decides every action on a person" in card and "Calibration curve" in card


def test_bad_labels_file_is_a_clear_error(sim: Path, tmp_path: Path) -> None:
    bad = tmp_path / "labels.csv"
    bad.write_text("case_ref,label,decided_at\nTJ1,maybe,2026-01-01T00:00:00+08:00\n", encoding="utf-8")
    res = RUN.invoke(app, ["case-model", "train", str(sim), "--labels", str(bad), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "labels.csv:2" in res.output
