"""ML utility (TSTR vs TRTR), subgroup fairness and the hybrid rare-class lift."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.validation import evaluate, infer_metadata
from app.validation.fairness import subgroup_fairness
from app.validation.hybrid import rare_class_recall_lift
from app.validation.utility import ml_utility, run_models

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def test_identical_training_data_loses_nothing(adult_split):
    train, holdout, meta = adult_split
    values = ml_utility(train, train, holdout=holdout, metadata=meta, iterations=50)["values"]
    assert values["tstr_degradation"] == 0.0 and values["accuracy_degradation"] == 0.0
    assert values["trtr_auc"] > 0.85


def test_shuffled_target_fails_the_utility_gate(adult_split, build):
    train, holdout, meta = adult_split
    shuffled = train.assign(income=np.random.default_rng(0).permutation(train.income.to_numpy()))
    policy = build.only("default", "utility")
    verdict = evaluate(train, holdout, shuffled, metadata=meta, policy=policy)
    gate = verdict.gate("utility.tstr_degradation")
    assert gate.status == "fail" and gate.value > 0.3 and verdict.failed_gates == ["utility.tstr_degradation"]
    passing = evaluate(train, holdout, train.sample(frac=1, random_state=1), metadata=meta, policy=policy)
    assert passing.passed, passing.message


def test_regression_target_reports_r2_and_mae():
    data = pd.read_csv(DATA / "insurance.csv")
    meta = infer_metadata(data, target="charges")
    train, holdout = data.iloc[:1000], data.iloc[1000:]
    values = ml_utility(train, train, holdout=holdout, metadata=meta, iterations=50)["values"]
    assert values["trtr_r2"] > 0.7 and values["r2_degradation"] == 0.0 and values["mae_degradation"] == 0.0
    noise = train.assign(charges=np.random.default_rng(0).permutation(train.charges.to_numpy()))
    worse = ml_utility(train, noise, holdout=holdout, metadata=meta, iterations=50)["values"]
    assert worse["tstr_degradation"] > 0.5 and worse["mae_degradation"] > 0.3


def test_fairness_is_zero_for_identical_data_and_reports_groups(adult_split):
    train, holdout, meta = adult_split
    run = run_models(train, train, holdout=holdout, metadata=meta, iterations=50)
    res = subgroup_fairness(train, train, holdout=holdout, metadata=meta, run=run)
    assert res["values"] == {
        "max_group_utility_gap": 0.0,
        "dp_difference_shift": 0.0,
        "eo_difference_shift": 0.0,
    }
    sex = res["details"]["sex"]
    assert set(sex["groups"]) == {"Female", "Male"} and sex["dp_real"] > 0.05  # the real model is not neutral


def test_fairness_flags_a_synthetic_set_that_erases_a_group_signal(adult_split, build):
    train, holdout, meta = adult_split
    product = build.product(train, len(train))
    run = run_models(train, product, holdout=holdout, metadata=meta, iterations=50)
    values = subgroup_fairness(train, product, holdout=holdout, metadata=meta, run=run)["values"]
    assert values["max_group_utility_gap"] > 0.2 and values["dp_difference_shift"] > 0.05


def test_hybrid_replicates_lift_rare_class_recall(adult_split, build):
    train, holdout, meta = adult_split
    replicas = train[train.income == ">50K"].sample(frac=1.0, random_state=0)  # stand-in for conditional samples
    res = rare_class_recall_lift(train, replicas, holdout=holdout, metadata=meta, iterations=50)
    assert res["details"]["rare_class"] == ">50K"
    assert res["values"]["recall_lift"] > 0.05 and res["values"]["auc_change"] > -0.01
    none = rare_class_recall_lift(train, train[train.income == "<=50K"], holdout=holdout, metadata=meta)
    assert none["values"]["recall_lift"] is None


@pytest.mark.parametrize("target", [None, "age"])
def test_rare_class_lift_needs_a_classification_target(adult_split, target):
    train, holdout, meta = adult_split
    res = rare_class_recall_lift(train, train, holdout=holdout, metadata=replace(meta, target=target))
    assert res["values"]["recall_lift"] is None
