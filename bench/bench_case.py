"""Case model quality (3 simulator seeds, 3 independent seeds), transfer, and scoring latency.

For each seed: 3 simulated years (``warning simulate --days 1095 --scale 0.02``: the background
volume does not touch case features, which are keyed by case reference, so it is kept small to
fit the 2-minute bench budget), ``train`` on the oldest 60% of cases by decided_at, calibrate on
the next 20%, ``evaluate`` on the newest 20% (AUC, Brier, ECE, the 3-feature baseline, recall at
a 1%-of-open-cases weekly budget). The same on the independent generator (bench/case_histories.py),
plus the simulator-trained model scored on independent data (transfer). Latency: the case
detector's ``update`` per event with the model, through the engine's store. Figures: calibration
and score distributions on the independent data. Writes bench/results/case.json and case_*.png.

Run: ``.venv/bin/python bench/bench_case.py [--seeds 7 8 9] [--ind-seeds 11 12 13]``
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import case_histories  # the independent generator beside this file

from warning.analysis import case_model as cm
from warning.core.detectors.case import CaseDetector
from warning.core.engine import DictKV, Engine
from warning.core.ingest import Pseudonymiser
from warning.thresholds import Thresholds

RESULTS = Path(__file__).resolve().parent / "results"
KEY = Pseudonymiser(b"bench-case-pseudonym-key")
TH = Thresholds(version="bench")
PARAMS, LIMITS = TH.case.params(), TH.ingest.limits()
HEAD = ("auc", "brier", "ece", "baseline_auc", "cases", "positives")


def run_one(data: Path, model_out: Path) -> dict[str, Any]:
    """Train on the time split of `data` and evaluate on its newest slice."""
    cal, meta = cm.train(data, data / "case-labels.csv", PARAMS, KEY, LIMITS)
    cm.save(model_out, cal, meta)
    res = cm.evaluate(model_out, data, data / "case-labels.csv", PARAMS, KEY, LIMITS)
    res7 = cm.evaluate(model_out, data, data / "case-labels.csv", PARAMS, KEY, LIMITS, horizon=timedelta(days=7))
    out = {k: res[k] for k in HEAD}
    out["budget"] = res["budget"]
    out["auc_7d_before"] = res7["auc"]
    out["petitioner_groups"] = res["groups"]["petitioner"]
    return out


def latency(model_path: Path, data: Path) -> dict[str, float]:
    """Per-event cost of the case detector (with the model) through the engine, on real case events."""
    labels = cm.read_labels(data / "case-labels.csv")
    loaded = cm.load_events(data, {la.case_ref for la in labels}, KEY, LIMITS)
    events = sorted((e for v in loaded.events.values() for e in v), key=lambda e: e.occurred_at)[:20_000]
    det = CaseDetector(PARAMS, cm.load_scorer(model_path))
    engine, kv = Engine("case", [det]), DictKV()
    t0 = time.perf_counter()
    for e in events:
        engine.offer(kv, e)
    engine.drain(kv)
    total = time.perf_counter() - t0
    model = det.model
    assert model is not None
    x = [0.5] * len(model.features)
    t1 = time.perf_counter()
    for _ in range(20_000):
        model.score(x)
    score_us = (time.perf_counter() - t1) / 20_000 * 1e6
    return {"events": len(events), "us_per_event_engine": total / len(events) * 1e6, "us_per_score": score_us}


def figures(model_path: Path, data: Path, tag: str) -> None:
    """Calibration curve and score histograms by outcome on `data`'s newest slice."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = cm.evaluate(model_path, data, data / "case-labels.csv", PARAMS, KEY, LIMITS)
    cal = res["calibration"]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot([0, 1], [0, 1], "k:", lw=1)
    ax[0].plot([c["predicted"] for c in cal], [c["observed"] for c in cal], "o-")
    ax[0].set(xlabel="mean predicted risk", ylabel="observed rate", title=f"calibration ({tag})")
    labels = cm.read_labels(data / "case-labels.csv")
    loaded = cm.load_events(data, {la.case_ref for la in labels}, KEY, LIMITS)
    ex = cm.examples(labels, loaded, PARAMS)
    test = cm.time_split(ex.t, 0.2, 0.2)[2]
    scorer = cm.load_scorer(model_path)
    p = np.asarray([scorer.score(x)[0] for x in ex.x[test]])
    y = ex.y[test]
    ax[1].hist([p[y == 0], p[y == 1]], bins=20, label=["settled (0)", "extreme (1)"], density=True)
    ax[1].set(xlabel="risk score", title=f"scores by outcome, AUC {res['auc']:.3f}")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(RESULTS / f"case_{tag}.png", dpi=90)
    plt.close(fig)


def main() -> None:
    """Run every configuration and write bench/results/case.json."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="*", default=[7, 8, 9])
    ap.add_argument("--ind-seeds", type=int, nargs="*", default=[11, 12, 13])
    ap.add_argument("--keep", type=Path, help="keep the seed-7 simulation and model here")
    a = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    out: dict[str, Any] = {"platform": platform.platform(), "simulator": {}, "independent": {}, "transfer": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sim_models = {}
        for seed in a.seeds:
            d = a.keep if a.keep and seed == a.seeds[0] else root / f"sim{seed}"
            cmd = [str(Path(sys.executable).parent / "warning"), "simulate", "--days", "1095", "--scale", "0.02",
                   "--seed", str(seed), "--out", str(d)]  # fmt: skip
            subprocess.run(cmd, check=True, capture_output=True)
            sim_models[seed] = d / "case-model.skops"
            out["simulator"][seed] = run_one(d, sim_models[seed])
            print("simulator", seed, {k: out["simulator"][seed][k] for k in HEAD}, flush=True)
        for seed in a.ind_seeds:
            d = root / f"ind{seed}"
            case_histories.generate(d, seed)
            out["independent"][seed] = run_one(d, d / "case-model.skops")
            print("independent", seed, {k: out["independent"][seed][k] for k in HEAD}, flush=True)
            first = sim_models[a.seeds[0]]
            res = cm.evaluate(first, d, d / "case-labels.csv", PARAMS, KEY, LIMITS)
            out["transfer"][seed] = {k: res[k] for k in HEAD}
            print("transfer sim->ind", seed, out["transfer"][seed], flush=True)
        first_sim = root / f"sim{a.seeds[0]}" if not a.keep else a.keep
        out["latency"] = latency(sim_models[a.seeds[0]], first_sim)
        print("latency", out["latency"], flush=True)
        ind0 = root / f"ind{a.ind_seeds[0]}"
        figures(ind0 / "case-model.skops", ind0, "independent")
        figures(sim_models[a.seeds[0]], first_sim, "simulator")
    for part in ("simulator", "independent", "transfer"):
        rows = list(out[part].values())
        out[part]["mean"] = {k: float(np.nanmean([r[k] for r in rows])) for k in ("auc", "ece", "baseline_auc")}
        if part != "transfer":
            out[part]["mean"]["budget_recall"] = float(np.nanmean([r["budget"]["recall"] for r in rows]))
            out[part]["mean"]["median_lead_days"] = float(np.nanmean([r["budget"]["median_lead_days"] for r in rows]))
    (RESULTS / "case.json").write_text(json.dumps(out, indent=1, ensure_ascii=False, default=str) + "\n")
    print(json.dumps({p: out[p]["mean"] for p in ("simulator", "independent", "transfer")}, indent=1))


if __name__ == "__main__":
    main()
