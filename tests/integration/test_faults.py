"""Chaos scenarios of bench/bench_faults.py as tests (issue 13), each on a private stack of its own.

The private broker and Redis (`warning.devtools.private_stack`) are the only services faults
touch, and every scenario starts a fresh one (`bench_faults.run_fresh`): a SIGKILLed broker or
Redis of one scenario cannot leave the next one a half-recovered stack (the poison scenario once
failed after worker_sigkill on a shared private stack). Each scenario publishes a small
simulated district; every record is accounted for as an event or a dead letter, no alert that
replay raises is lost, no feed entry is duplicated, no partition is left behind (lag 0) and
processing resumed after the fault. Recovery time is measured, not asserted (a loaded CI
machine is slower; bench/bench_faults.py reports it).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from warning.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import bench_faults  # the bench script is the scenarios' one definition

pytestmark = pytest.mark.integration

# the most telling scenarios, kept short for `make test` (~1 min each on an idle 2-core machine):
# a worker and a broker SIGKILL, and the poison records of hole 1 beside 600 fuzzed ones (one
# run for both: the bench runs them apart, and the outages, rebalance and the soak)
SPECS = bench_faults.scenarios(fuzz_n=600)
SPECS["poison_and_fuzz"] = replace(SPECS["fuzz"], sim=bench_faults.SMALL, rate=300, poison=True)
NAMES = ["worker_sigkill", "broker_sigkill", "poison_and_fuzz"]


@pytest.mark.timeout(900)  # a scenario is ~1 min on an idle machine, several on a loaded one
@pytest.mark.parametrize("name", NAMES)
def test_fault_loses_nothing_and_duplicates_nothing(stack: Settings, tmp_path: Path, name: str) -> None:
    r = bench_faults.run_fresh(name, SPECS[name], tmp_path)
    assert r["unaccounted"] == 0, r
    assert r["dead_letters"] == r["dead_letters_expected"], r
    assert r["events"] == r["events_expected"], r
    assert r["alerts_expected"] > 0 and r["lost"] == 0, r
    assert r["duplicates"] == 0, r
    assert r["lag_end"] == 0, r
    if SPECS[name].fault is not None:
        assert r["recovery_s"] is not None, r
