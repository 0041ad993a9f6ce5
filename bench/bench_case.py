"""Case model quality (3 simulator seeds, 3 independent seeds), transfer, and scoring latency.

For each seed: 3 simulated years (``warning simulate --days 1095 --scale 0.02``: the background
volume does not touch case features, which are keyed by case reference, so it is kept small to
fit the 2-minute bench budget), ``train`` on the oldest 60% of cases by decided_at, calibrate on
the next 20%, ``evaluate`` on the newest 20% (AUC, Brier, ECE, the 3-feature baseline, recall at
a 1%-of-open-cases weekly budget). The same on the independent generator (bench/case_histories.py),
plus the simulator-trained model scored on independent data (transfer). Latency: the case
detector's ``update`` per event with the model, through the engine's store. Figures: calibration
and score distributions on the independent data. Writes bench/results/case.json and case_*.png.

Printed per seed: AUC, Brier, ECE, baseline AUC, recall at the 1%-of-open-cases weekly budget and
median lead time, FPR/FNR by petitioner group, the model chosen; then latency per event.

Run: ``.venv/bin/python bench/bench_case.py [--seeds 7 8 9] [--ind-seeds 11 12 13]``; on a shared
machine, disjoint seeds in parallel: ``--seeds 7 --ind-seeds 11 --part a.json --extras`` (the
first sim model is the transfer model), ``--seeds 8 --ind-seeds 12 --transfer-model M --part
b.json`` ..., then ``--merge a.json b.json ...`` writes case.json.
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
    out["category_groups"] = res["groups"]["category"]
    out["method"] = meta["method"]
    return out


def shown(r: dict[str, Any]) -> str:
    """One printed line: the headline keys, budget recall and lead, FPR/FNR by petitioner group."""
    b = r["budget"]
    groups = "; ".join(
        f"{g['group']} FPR {g['fpr'] if g['fpr'] is None else round(g['fpr'], 3)} "
        f"FNR {g['fnr'] if g['fnr'] is None else round(g['fnr'], 3)}"
        for g in r["petitioner_groups"]
    )
    head = " ".join(f"{k} {r[k]:.3f}" if isinstance(r[k], float) else f"{k} {r[k]}" for k in HEAD)
    return (
        f"{head} | recall@1%/week {b['recall']:.2f} median lead {b['median_lead_days']:.1f} d | {groups} | "
        f"{r['method']}"
    )


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


def summarise(out: dict[str, Any]) -> dict[str, Any]:
    """Means over seeds for each part (simulator, independent, transfer)."""
    for part in ("simulator", "independent", "transfer"):
        rows = [r for k, r in out[part].items() if k != "mean"]
        out[part]["mean"] = {k: float(np.nanmean([r[k] for r in rows])) for k in ("auc", "ece", "baseline_auc")}
        if part != "transfer":
            out[part]["mean"]["budget_recall"] = float(np.nanmean([r["budget"]["recall"] for r in rows]))
            out[part]["mean"]["median_lead_days"] = float(np.nanmean([r["budget"]["median_lead_days"] for r in rows]))
    return out


def merge(parts: list[Path]) -> dict[str, Any]:
    """Combine the JSON of runs over disjoint seeds (``--part``) into one result."""
    out: dict[str, Any] = {"platform": platform.platform(), "simulator": {}, "independent": {}, "transfer": {}}
    for path in parts:
        part = json.loads(path.read_text(encoding="utf-8"))
        for key in ("simulator", "independent", "transfer"):
            out[key].update({k: v for k, v in part[key].items() if k != "mean"})
        out.update({k: v for k, v in part.items() if k not in ("simulator", "independent", "transfer", "platform")})
    out["runs"] = [str(p.name) for p in parts]
    return summarise(out)


def main() -> None:
    """Run every configuration and write bench/results/case.json (or one part of it, or merge parts)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="*", default=[7, 8, 9])
    ap.add_argument("--ind-seeds", type=int, nargs="*", default=[11, 12, 13])
    ap.add_argument("--keep", type=Path, help="keep the first simulation and its model here")
    ap.add_argument("--transfer-model", type=Path, help="simulator model scored on independent data "
                    "(default: the first seed's)")  # fmt: skip
    ap.add_argument("--part", type=Path, help="write this run's JSON here, no latency or figures unless --extras "
                    "(runs over disjoint seeds in parallel on a shared machine)")  # fmt: skip
    ap.add_argument("--extras", action="store_true", help="with --part: latency and figures too")
    ap.add_argument("--merge", type=Path, nargs="*", help="combine --part files into case.json and exit")
    a = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if a.merge:
        merged = merge(a.merge)
        (RESULTS / "case.json").write_text(json.dumps(merged, indent=1, ensure_ascii=False, default=str) + "\n")
        print(json.dumps({p: merged[p]["mean"] for p in ("simulator", "independent", "transfer")}, indent=1))
        return
    out: dict[str, Any] = {"platform": platform.platform(), "simulator": {}, "independent": {}, "transfer": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sim_dirs: list[Path] = []
        for seed in a.seeds:
            d = a.keep if a.keep and not sim_dirs else root / f"sim{seed}"
            cmd = [str(Path(sys.executable).parent / "warning"), "simulate", "--days", "1095", "--scale", "0.02",
                   "--difficulty", "realistic", "--seed", str(seed), "--out", str(d)]  # fmt: skip
            subprocess.run(cmd, check=True, capture_output=True)
            sim_dirs.append(d)
            out["simulator"][seed] = run_one(d, d / "case-model.skops")
            print("simulator", seed, shown(out["simulator"][seed]), flush=True)
        transfer = a.transfer_model or (sim_dirs[0] / "case-model.skops" if sim_dirs else None)
        for seed in a.ind_seeds:
            d = root / f"ind{seed}"
            case_histories.generate(d, seed)
            out["independent"][seed] = run_one(d, d / "case-model.skops")
            print("independent", seed, shown(out["independent"][seed]), flush=True)
            if transfer is not None:
                res = cm.evaluate(transfer, d, d / "case-labels.csv", PARAMS, KEY, LIMITS)
                out["transfer"][seed] = {k: res[k] for k in HEAD}
                print("transfer sim->ind", seed, out["transfer"][seed], flush=True)
        if a.part is None or a.extras:
            if sim_dirs:
                out["latency"] = latency(sim_dirs[0] / "case-model.skops", sim_dirs[0])
                print("latency", out["latency"], flush=True)
                figures(sim_dirs[0] / "case-model.skops", sim_dirs[0], "simulator")
            if a.ind_seeds:
                ind0 = root / f"ind{a.ind_seeds[0]}"
                figures(ind0 / "case-model.skops", ind0, "independent")
    if a.part is not None:
        a.part.write_text(json.dumps(out, indent=1, ensure_ascii=False, default=str) + "\n")
        return
    out = summarise(out)
    (RESULTS / "case.json").write_text(json.dumps(out, indent=1, ensure_ascii=False, default=str) + "\n")
    print(json.dumps({p: out[p]["mean"] for p in ("simulator", "independent", "transfer")}, indent=1))


if __name__ == "__main__":
    main()
