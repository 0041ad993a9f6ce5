"""`warning config check|show`, the reload diff line, and the README's generated metric table."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from warning import config_cli, thresholds
from warning.cli import app
from warning.metrics import Metrics
from warning.settings import REPO_ROOT


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _file(tmp_path: Path, text: str, name: str = "candidate.toml") -> Path:
    """A small thresholds file (defaults for the rest), independent of the shipped file's text."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_accepts_the_shipped_file_in_one_line() -> None:
    code, out, _ = _run("config", "check", str(thresholds.DEFAULT_FILE))
    assert code == 0
    assert out.startswith("OK ") and out.count("\n") == 1
    assert "default-" in out and " keys" in out


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("[dynamic]\nmin_count = 0", "[dynamic] min_count: Input should be greater than or equal to 1"),
        ("[dynamic]\nmin_cuont = 3", "[dynamic] min_cuont: Extra inputs are not permitted"),
        ("[pattern]\npeak_ratio = 5", "peak_max_score_ratio must be greater than peak_ratio"),
        ("[lifecycle.ack_deadline_seconds]\nred = -1", "ack_deadline_seconds] values must be >= 0"),
        ("[dynamic]\nmin_count =", "not valid TOML"),
    ],
    ids=["range", "unknown-key", "cross-field", "deadline", "syntax"],
)
def test_check_rejects_with_key_and_reason(tmp_path: Path, edit: str, expected: str) -> None:
    code, out, err = _run("config", "check", str(_file(tmp_path, f'version = "t"\ninherit = "defaults"\n{edit}\n')))
    assert code == 1
    assert not out.startswith("OK")
    assert expected in err
    assert "Operator action:" in err


def test_check_missing_file_exits_1(tmp_path: Path) -> None:
    code, _, err = _run("config", "check", str(tmp_path / "absent.toml"))
    assert code == 1
    assert "cannot read thresholds file" in err


def test_show_prints_a_file_that_validates_to_the_thresholds_in_force(tmp_path: Path) -> None:
    # the shipped file sets a few keys and leaves the rest to defaults; show must fill them all in
    minimal = _file(tmp_path, 'version = "ops-7"\ninherit = "defaults"\n[dynamic]\nmin_count = 5\n')
    code, out, _ = _run("config", "show", env={"WARNING_THRESHOLDS_FILE": str(minimal)})
    assert code == 0
    shown = thresholds.parse(out, Path("<show>")).thresholds
    assert shown == thresholds.load(minimal).thresholds
    assert "max_series = 600" in out  # a default the minimal file does not mention
    assert "min_count = 5" in out


def test_show_diff_lists_each_changed_key(tmp_path: Path) -> None:
    base = _file(tmp_path, 'version = "ops-7"\ninherit = "defaults"\n[dynamic.keywords]\n"聚集" = 0.65\n', "base.toml")
    cand = _file(
        tmp_path,
        'version = "ops-8"\ninherit = "defaults"\n[dynamic]\nmin_count = 4\n'
        '[dynamic.keywords]\n"聚集" = 0.7\n"冲击" = 0.8\n',
    )
    code, out, _ = _run("config", "show", "--diff", str(cand), env={"WARNING_THRESHOLDS_FILE": str(base)})
    assert code == 0, out
    lines = [ln.split() for ln in out.splitlines()[2:-1]]
    assert lines == [
        ["version", "ops-7", "→", "ops-8"],
        ["dynamic.min_count", "3", "→", "4"],
        ["dynamic.keywords.聚集", "0.65", "→", "0.7"],
        ["dynamic.keywords.冲击", "unset", "→", "0.8"],
    ]
    assert out.splitlines()[-1] == "4 keys differ"


def test_show_diff_with_an_invalid_candidate_exits_1(tmp_path: Path) -> None:
    code, _, err = _run(
        "config",
        "show",
        "--diff",
        str(_file(tmp_path, 'version = "t"\ninherit = "defaults"\n[dynamic]\nmin_count = -2\n')),
    )
    assert code == 1
    assert "[dynamic] min_count" in err


def _with(base: thresholds.Thresholds, **dynamic: object) -> thresholds.Thresholds:
    return base.model_copy(update={"dynamic": base.dynamic.model_copy(update=dynamic)})


BASE = thresholds.Thresholds(version="v1")  # schema defaults, not the shipped file's text


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (BASE, "no keys changed"),
        (_with(BASE, min_count=4), "1 key changed: dynamic.min_count 3→4"),
        (
            _with(BASE, min_count=4, score_bands=(0.5, 0.7, 0.8, 0.95)),
            "2 keys changed: dynamic.min_count 3→4, dynamic.score_bands [0.5, 0.65, 0.8, 0.95]→[0.5, 0.7, 0.8, 0.95]",
        ),
        (
            _with(BASE, keywords={k: v for k, v in BASE.dynamic.keywords.items() if k != "跳楼"}),
            "1 key changed: dynamic.keywords.跳楼 0.95→unset",
        ),
    ],
    ids=["same", "one", "two", "removed-entry"],
)
def test_diff_summary(new: thresholds.Thresholds, expected: str) -> None:
    assert thresholds.diff_summary(BASE, new) == expected


def test_diff_summary_stays_one_line_when_many_keys_change() -> None:
    new = _with(BASE, min_count=4, min_excess=4.0, window_hours=3, shape_prior=2.0)
    line = thresholds.diff_summary(BASE, new.model_copy(update={"version": "v2"}), limit=2)
    assert line == "5 keys changed: version v1→v2, dynamic.window_hours 6→3, and 3 more"


def test_metric_table_has_one_row_per_registered_family() -> None:
    m = Metrics.create(CollectorRegistry())
    table = config_cli.metric_table(m)
    rows = table.splitlines()[2:]
    assert len(rows) == len(list(m.registry.collect()))
    assert "| `warning_events_received_total` | counter | `channel` |" in table
    assert "| `warning_consumer_lag_messages` | gauge | `topic` |" in table  # label without pre-created children


def test_readme_metric_table_matches_the_registry() -> None:
    section = config_cli.readme_section((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    assert section == config_cli.current_table(), "README metric table drifted: run `warning metrics readme`"
