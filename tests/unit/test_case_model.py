"""The case artefact: skops round trip, core scorer = sklearn pipeline, clear refusal messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sklearn

from warning.analysis import case_model as cm
from warning.core.detectors.case import FEATURES, CaseDetector, CaseParams, LinearCaseModel
from warning.core.errors import ImproperlyConfigured


@pytest.fixture(scope="module")
def fitted() -> Any:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(600, len(FEATURES)))
    y = (x[:, 0] + 0.5 * x[:, 3] + rng.normal(size=600) > 1.2).astype(int)
    return cm.fit(x[:400], y[:400], x[400:], y[400:]), x


def _meta(**over: Any) -> dict[str, Any]:
    return {"format": cm.MODEL_FORMAT, "version": "t", "features": list(FEATURES),
            "sklearn_version": sklearn.__version__, **over}  # fmt: skip


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_core_scorer_reproduces_predict_proba(method: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, len(FEATURES)))
    y = (x[:, 1] + rng.normal(size=500) > 1).astype(int)
    cal = cm.fit(x[:300], y[:300], x[300:], y[300:], method)
    scorer = cm.scorer_of(cal, "t")
    ours = np.asarray([scorer.score(row)[0] for row in x])
    assert np.allclose(ours, cal.predict_proba(x)[:, 1], atol=1e-9)
    _, parts = scorer.score(x[0])
    assert parts.shape == (len(FEATURES),)


def test_skops_round_trip(tmp_path: Path, fitted: Any) -> None:
    cal, x = fitted
    path = tmp_path / "m.skops"
    cm.save(path, cal, _meta())
    back, meta = cm.load(path)
    assert meta["version"] == "t"
    assert np.allclose(back.predict_proba(x)[:, 1], cal.predict_proba(x)[:, 1])
    assert isinstance(cm.load_scorer(path), LinearCaseModel)
    assert not path.read_bytes().startswith(b"\x80")  # a zip (skops), not a pickle stream


def test_other_sklearn_version_is_refused_naming_both(tmp_path: Path, fitted: Any) -> None:
    path = tmp_path / "old.skops"
    cm.save(path, fitted[0], _meta(sklearn_version="0.24.2"))
    with pytest.raises(ImproperlyConfigured, match=r"scikit-learn 0\.24\.2") as err:
        cm.load(path)
    assert sklearn.__version__ in str(err.value) and "Operator action" in str(err.value)


def test_feature_mismatch_is_refused_naming_both(tmp_path: Path, fitted: Any) -> None:
    path = tmp_path / "f.skops"
    cm.save(path, fitted[0], _meta(features=[*FEATURES[:-1], "shoe_size"]))
    with pytest.raises(ImproperlyConfigured, match="shoe_size") as err:
        cm.load(path)
    assert FEATURES[-1] in str(err.value)


def test_detector_refuses_a_model_for_other_features() -> None:
    n = len(FEATURES) - 1
    model = LinearCaseModel("x", FEATURES[:-1], np.zeros(n), np.ones(n), np.zeros(n), 0.0)
    with pytest.raises(ImproperlyConfigured, match=FEATURES[-1]):
        CaseDetector(CaseParams(), model)


def test_not_an_artefact(tmp_path: Path) -> None:
    bad = tmp_path / "x.skops"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ImproperlyConfigured, match="cannot read case model"):
        cm.load(bad)


def test_metrics_ece_and_time_split() -> None:
    y = np.array([0, 0, 1, 1])
    assert cm.ece(y, np.array([0.0, 0.0, 1.0, 1.0])) == 0.0
    assert cm.ece(y, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.0)
    assert cm.ece(y, np.array([1.0, 1.0, 1.0, 1.0])) == pytest.approx(0.5)
    fit, cal, test = cm.time_split(np.array([5.0, 1, 4, 2, 3]), 0.2, 0.2)
    assert fit.tolist() == [1, 3, 4] and cal.tolist() == [2] and test.tolist() == [0]


def test_shipped_artefact_loads_into_the_detector() -> None:
    """models/case-model.skops (trained on the simulator) matches this engine's sklearn and features."""
    if not cm.DEFAULT_MODEL.exists():
        pytest.skip("no shipped artefact (models/case-model.skops)")
    det = CaseDetector(CaseParams(), cm.load_scorer(cm.DEFAULT_MODEL))
    assert det.model is not None and det.model.features == FEATURES


def test_calibration_is_chosen_by_cv_on_the_calibration_slice_only() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] + rng.normal(size=400) > 1.0).astype(int)
    pipe = LogisticRegression().fit(x[:200], y[:200])
    assert cm.choose_calibration(pipe, x[200:], y[200:]) in {"sigmoid", "isotonic"}
    assert cm.choose_calibration(pipe, x[200:203], np.array([0, 0, 1])) == "sigmoid"  # too few to cross-validate


def test_regularisation_is_chosen_by_time_cv_on_the_fit_slice() -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(size=(500, 30))
    y = (x[:, 0] + rng.normal(size=500) > 1.0).astype(int)
    l2 = [("l2", c) for c in cm.C_GRID]
    penalty, c = cm.choose_regularisation(x, y, l2)
    assert penalty == "l2" and c in cm.C_GRID
    assert cm.choose_regularisation(x, y, l2) == (penalty, c)  # deterministic
    # 29 noise columns and a small sample: the strongest penalty wins over the weakest
    assert c < max(cm.C_GRID)
    # no fold with both outcomes: the default
    assert cm.choose_regularisation(x[:5], np.zeros(5, dtype=int), l2) == ("l2", 0.3)


def test_l1_or_l2_is_chosen_by_time_cv_and_an_l1_model_scores_in_the_core() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(600, len(FEATURES)))
    y = (x[:, 0] + 0.5 * x[:, 4] + rng.normal(size=600) > 1.2).astype(int)
    reg = cm.choose_regularisation(x[:400], y[:400])
    assert reg in cm.REG_GRID and cm.choose_regularisation(x[:400], y[:400]) == reg  # deterministic
    cal = cm.fit(x[:400], y[:400], x[400:], y[400:], "sigmoid", reg=("l1", 0.1))
    scorer = cm.scorer_of(cal, "t")
    assert np.allclose([scorer.score(row)[0] for row in x], cal.predict_proba(x)[:, 1], atol=1e-9)
    assert (scorer.coef == 0).sum() > len(FEATURES) // 2  # L1 drops most of the 80-odd noise columns
