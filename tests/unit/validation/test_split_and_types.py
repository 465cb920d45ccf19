"""The holdout split, and evaluate() on mixed types: dates, booleans, missing values, many classes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from app.validation import builtin_policy, evaluate, holdout_split, infer_metadata
from app.validation.utility import ml_utility


def test_split_is_reproducible_stratified_and_recorded_by_index_only(adult_all):
    data = adult_all.iloc[:5000]
    a = holdout_split(data, fraction=0.2, seed=1, stratify="income")
    b = holdout_split(data, fraction=0.2, seed=1, stratify="income")
    c = holdout_split(data, fraction=0.2, seed=2, stratify="income")
    assert a.lineage == b.lineage and a.lineage["holdout_index_sha256"] != c.lineage["holdout_index_sha256"]
    assert a.lineage["rows"] == {"train": len(a.train), "holdout": len(a.holdout)} and len(a.holdout) == 1000
    assert set(a.train.index).isdisjoint(a.holdout.index)
    share = (a.holdout.income == ">50K").mean()
    assert share == pytest.approx((data.income == ">50K").mean(), abs=0.002)
    shuffled = data.sample(frac=1, random_state=0)  # same content, other positions: other hash
    assert holdout_split(shuffled, seed=1, stratify="income").lineage["holdout_index_sha256"] != a.lineage["holdout_index_sha256"]
    with pytest.raises(ValueError):
        holdout_split(data, fraction=1.0)


def mixed(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "signup": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
            "amount": np.where(rng.random(n) < 0.1, np.nan, np.exp(x)),
            "vip": rng.random(n) < 0.2,
            "region": rng.choice(["n", "s", "e", None], n),
            "visits": rng.poisson(3, n),
            "churn": np.where(rng.random(n) < 1 / (1 + np.exp(-x)), "yes", "no"),
        }
    )


def test_evaluate_runs_every_default_family_on_mixed_types():
    train, holdout, synthetic = mixed(3000, 0), mixed(1000, 1), mixed(3000, 2)
    meta = infer_metadata(
        pd.concat([train, holdout]),
        target="churn",
        positive_label="yes",
        treatment="vip",
        outcome="churn",
        subgroups=["region"],
    )
    policy = {
        "name": "mixed",
        "version": 1,
        "extends": "default",
        "params": {
            "attacks": {"targets": 400},
            "adversarial": {"max_rows": 2000, "iterations": 30},
            "models": {"iterations": 30},
        },
    }
    verdict = evaluate(train, holdout, synthetic, metadata=meta, policy=policy)
    errors = {f: m["details"]["error"] for f, m in verdict.metrics.items() if "error" in m.get("details", {})}
    assert errors == {}
    assert verdict.skipped_gates == [] and verdict.passed, verdict.message  # same generator: a release
    assert set(verdict.metrics) == set(builtin_policy("default").families)
    assert verdict.metrics["columns"]["values"]["missing_rate_diff_max"] < 0.03


def test_multiclass_target_with_a_class_missing_from_the_holdout(adult_split):
    train, holdout, meta = adult_split
    values = ml_utility(
        train,
        train,
        holdout=holdout,
        metadata=replace(meta, target="marital-status", positive_label=None),
        iterations=30,
    )["values"]
    assert values["tstr_degradation"] == 0.0 and 0.6 < values["trtr_auc"] <= 1.0
