"""The paired-bootstrap interval of the TSTR degradation (``utility.tstr_degradation_low``/``_high``).

Known answers: identical training data degrade by exactly nothing on every resample; a shuffled
target loses most of the AUC with confidence; the interval narrows as the holdout grows (about as
1/sqrt(rows)); and on a population whose true degradation is known it covers that value about
95 % of the time. A ``basis: ci_bound`` gate on it validates and compares the documented bound.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score, roc_auc_score

from app.validation import evaluate, infer_metadata, load_policy, render_html
from app.validation.models import Labels
from app.validation.policy import validate_document
from app.validation.utility import (
    UtilityRun,
    _classification_scores,
    _WeightedClassification,
    _WeightedRegression,
    degradation_intervals,
    ml_utility,
)

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
CI_GATE = {"metric": "utility.tstr_degradation", "comparison": "<", "threshold": 0.08, "basis": "ci_bound"}
POLICY = {"name": "utility-ci", "version": 1, "gates": [CI_GATE]}


def bounds(values: dict, key: str = "tstr_degradation") -> tuple[float, float]:
    return values[f"{key}_low"], values[f"{key}_high"]


def noisy_labels(train: pd.DataFrame, share: float, seed: int = 0) -> pd.DataFrame:
    """``train`` with ``share`` of its income labels replaced by shuffled ones: a moderate loss."""
    rng = np.random.default_rng(seed)
    redraw = rng.random(len(train)) < share
    return train.assign(income=np.where(redraw, rng.permutation(train.income.to_numpy()), train.income))


def binary_run(y: np.ndarray, real: np.ndarray, synthetic: np.ndarray) -> UtilityRun:
    labels = Labels(y=y.astype(float), classes=("no", "yes"), positive=1)
    return UtilityRun("classification", "t", labels, np.arange(len(y)), np.c_[1 - real, real], np.c_[1 - synthetic, synthetic])


def test_resampled_scores_are_the_scores_of_the_resampled_rows():
    """The weighted AUC, accuracy, R² and MAE of a resample equal sklearn's on the repeated rows."""
    rng = np.random.default_rng(0)
    n = 600
    idx = rng.integers(0, n, n)
    w = np.vstack([np.ones(n), np.bincount(idx, minlength=n)])
    # binary, with many ties (scores rounded to 0.05)
    y = rng.integers(0, 2, n)
    p = np.round(np.clip(rng.random(n) * 0.7 + 0.3 * y, 0, 1) / 0.05) * 0.05
    auc, acc = _WeightedClassification(y, np.c_[1 - p, p], 1).scores(w)
    assert auc == pytest.approx([roc_auc_score(y, p), roc_auc_score(y[idx], p[idx])], abs=1e-12)
    assert acc == pytest.approx([accuracy_score(y, p > 0.5), accuracy_score(y[idx], p[idx] > 0.5)], abs=1e-12)
    # multiclass, one declared class absent from the holdout: one-vs-rest macro AUC as the point estimate
    y3 = np.minimum(rng.integers(0, 4, n), 2)
    proba = rng.dirichlet(np.ones(4), n)
    proba[np.arange(n), y3] += 0.4
    proba /= proba.sum(axis=1, keepdims=True)
    auc3, _ = _WeightedClassification(y3, proba, None).scores(w)
    expected = [_classification_scores(y3, proba, None)["auc"], _classification_scores(y3[idx], proba[idx], None)["auc"]]
    assert auc3 == pytest.approx(expected, abs=1e-12)
    # regression, large values (R² from weighted sums of squares must not cancel)
    yr = rng.normal(1e5, 2e4, n)
    pr = yr + rng.normal(0, 1e4, n)
    r2, mae = _WeightedRegression(yr, pr).scores(w)
    assert r2 == pytest.approx([r2_score(yr, pr), r2_score(yr[idx], pr[idx])], rel=1e-9)
    assert mae == pytest.approx([mean_absolute_error(yr, pr), mean_absolute_error(yr[idx], pr[idx])], rel=1e-9)


def test_identical_training_data_give_a_zero_interval(adult_split):
    train, holdout, meta = adult_split
    res = ml_utility(train, train, holdout=holdout, metadata=meta, iterations=50)
    v = res["values"]
    # same rows, same seed: the same model, so every paired resample degrades by exactly 0
    assert bounds(v) == (0.0, 0.0) and bounds(v, "accuracy_degradation") == (0.0, 0.0)
    assert res["details"]["interval"] == {
        "level": 0.95,
        "method": "paired percentile bootstrap of holdout rows",
        "resamples": 400,
    }


def test_fresh_real_rows_give_an_interval_around_zero(adult_all, adult_split):
    """Another real sample of the same size: no true loss; the interval holds 0 and is a few points wide."""
    train, holdout, meta = adult_split
    taken = adult_all.sample(10_000, random_state=7).index  # the rows of adult_split
    fresh = adult_all.drop(taken).sample(len(train), random_state=1).reset_index(drop=True)
    v = ml_utility(train, fresh, holdout=holdout, metadata=meta, iterations=50)["values"]
    low, high = bounds(v)
    assert low < 0 < high and high - low < 0.03
    assert low <= v["tstr_degradation"] <= high


def test_shuffled_target_is_above_the_contract_with_confidence(adult_split):
    train, holdout, meta = adult_split
    shuffled = train.assign(income=np.random.default_rng(0).permutation(train.income.to_numpy()))
    v = ml_utility(train, shuffled, holdout=holdout, metadata=meta, iterations=50)["values"]
    low, high = bounds(v)
    assert 0.08 < low < v["tstr_degradation"] < high
    assert v["auc_degradation_low"] == low and v["accuracy_degradation_low"] > 0


def test_interval_narrows_with_a_larger_holdout(adult_split):
    train, holdout, meta = adult_split
    noisy = noisy_labels(train, 0.3)
    width = {}
    for rows in (250, 2000):
        v = ml_utility(train, noisy, holdout=holdout.iloc[:rows], metadata=meta, iterations=50)["values"]
        low, high = bounds(v)
        assert low <= v["tstr_degradation"] <= high
        width[rows] = high - low
    assert width[250] > 2 * width[2000]  # sqrt(8) = 2.8 expected


def test_interval_covers_a_known_degradation_at_about_its_level():
    """Population of 200,000 scored rows, two fixed 'models': the true degradation is known exactly."""
    rng = np.random.default_rng(0)
    big = 200_000
    y = (rng.random(big) < 0.25).astype(int)
    signal = 1.5 * y + rng.normal(size=big)
    real = 1 / (1 + np.exp(-(signal + rng.normal(0, 0.5, big))))
    synthetic = 1 / (1 + np.exp(-(signal + rng.normal(0, 1.0, big))))
    true = 1 - roc_auc_score(y, synthetic) / roc_auc_score(y, real)
    assert 0.05 < true < 0.09  # near the contract: a 400-row holdout cannot tell
    hits = 0
    for rep in range(200):
        idx = rng.integers(0, big, 400)
        low, high = bounds(degradation_intervals(binary_run(y[idx], real[idx], synthetic[idx]), seed=rep))
        hits += low <= true <= high
    assert 0.9 <= hits / 200 <= 0.99


def test_seeded_levels_and_no_resamples(adult_split):
    train, holdout, meta = adult_split
    noisy = noisy_labels(train, 0.3)
    kw = {"holdout": holdout.iloc[:500], "metadata": meta, "iterations": 30}
    base = ml_utility(train, noisy, **kw)["values"]
    assert ml_utility(train, noisy, **kw)["values"] == base  # deterministic given the seed
    other = ml_utility(train, noisy, seed=1, **kw)["values"]
    assert bounds(other) != bounds(base)
    narrow = ml_utility(train, noisy, level=0.8, **kw)["values"]
    assert base["tstr_degradation_low"] < narrow["tstr_degradation_low"] < narrow["tstr_degradation_high"]
    assert narrow["tstr_degradation_high"] < base["tstr_degradation_high"]
    bare = ml_utility(train, noisy, bootstrap=0, **kw)["values"]
    assert bare["tstr_degradation"] == base["tstr_degradation"] and bounds(bare) == (None, None)


def test_regression_targets_get_r2_and_mae_intervals():
    data = pd.read_csv(DATA / "insurance.csv")
    meta = infer_metadata(data, target="charges")
    train, holdout = data.iloc[:1000], data.iloc[1000:]
    same = ml_utility(train, train, holdout=holdout, metadata=meta, iterations=50)["values"]
    assert bounds(same) == (0.0, 0.0) and bounds(same, "mae_degradation") == (0.0, 0.0)
    assert bounds(same, "r2_degradation") == bounds(same)
    noise = train.assign(charges=np.random.default_rng(0).permutation(train.charges.to_numpy()))
    worse = ml_utility(train, noise, holdout=holdout, metadata=meta, iterations=50)["values"]
    assert 0.08 < worse["tstr_degradation_low"] < worse["tstr_degradation"] < worse["tstr_degradation_high"]
    assert worse["mae_degradation_low"] > 0.1
    assert "accuracy_degradation_low" not in worse


def test_ci_bound_gate_validates_and_compares_the_lower_bound(adult_split):
    train, holdout, meta = adult_split
    validate_document(POLICY)  # the catalogue has tstr_degradation_low and _high
    assert load_policy(POLICY).gates[0].compared_metric == "utility.tstr_degradation_low"
    verdicts = {
        "shuffled": evaluate(train, holdout, noisy_labels(train, 1.0), metadata=meta, policy=POLICY, seed=2),
        "noisy": evaluate(train, holdout, noisy_labels(train, 0.3), metadata=meta, policy=POLICY, seed=2),
    }
    for name, verdict in verdicts.items():
        v = verdict.metrics["utility"]["values"]
        gate = verdict.gate("utility.tstr_degradation")
        assert gate.basis == "ci_bound" and gate.value == v["tstr_degradation_low"]
        assert gate.estimate == v["tstr_degradation"] and gate.interval == bounds(v)
        assert gate.to_dict()["interval"] == list(bounds(v))
        assert gate.status == ("fail" if v["tstr_degradation_low"] >= 0.08 else "pass"), name
    assert verdicts["shuffled"].failed_gates == ["utility.tstr_degradation"]
    assert verdicts["noisy"].passed
    # the report shows the interval in the utility section and the bound in the gate table
    page = render_html(verdicts["noisy"].to_dict())
    low, high = bounds(verdicts["noisy"].metrics["utility"]["values"])
    assert f"[{low:.4g}, {high:.4g}] (95 % paired bootstrap of the holdout rows)" in page
    assert "lower bound &lt; 0.08<br><span class='muted'>estimate" in page and "ROC AUC (headline)" in page


def test_policy_params_reach_the_interval_and_upper_bounds_serve_greater_than(adult_split):
    train, holdout, meta = adult_split
    policy = {
        "name": "utility-ci-params",
        "version": 1,
        "params": {"utility": {"level": 0.9, "bootstrap": 200}},
        "gates": [
            CI_GATE,
            # "shown to lose at least 1 %": a > gate compares the upper bound
            {"id": "lost", "metric": "utility.tstr_degradation", "comparison": ">", "threshold": 0.01, "basis": "ci_bound"},
        ],
    }
    verdict = evaluate(train, holdout, noisy_labels(train, 0.3), metadata=meta, policy=policy, seed=2)
    util = verdict.metrics["utility"]
    assert util["details"]["interval"]["level"] == 0.9 and util["details"]["interval"]["resamples"] == 200
    assert verdict.gate("lost").value == util["values"]["tstr_degradation_high"]
    no_resamples = {**policy, "params": {"utility": {"bootstrap": 0}}}
    bare = evaluate(train, holdout, noisy_labels(train, 0.3), metadata=meta, policy=no_resamples, seed=2)
    gate = bare.gate("utility.tstr_degradation")
    assert gate.status == "fail" and "not computed" in gate.reason  # an estimate without its bound is not judged
