"""Causal-effect preservation on data with a known, confounded treatment effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.validation import builtin_policy, evaluate
from app.validation.causal import average_treatment_effect, causal_preservation, interval_overlap
from app.validation.metadata import Metadata

META = Metadata.from_any(
    {
        "columns": {
            "x": {"type": "numerical", "lower": -6, "upper": 6},
            "g": {"type": "categorical", "categories": ["a", "b"]},
            "t": {"type": "categorical", "categories": ["control", "offer"]},
            "y": {"type": "numerical", "lower": -30, "upper": 30},
        },
        "treatment": "t",
        "treated_value": "offer",
        "outcome": "y",
        "confounders": ["x", "g"],
    }
)


def world(n: int, effect: float, seed: int) -> pd.DataFrame:
    """Treatment more likely when x is high; y rises with x and by ``effect`` under treatment."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.choice(["a", "b"], n)
    treated = rng.random(n) < 1 / (1 + np.exp(-1.5 * x))
    y = effect * treated + 2.0 * x + (g == "b") + rng.normal(size=n)
    return pd.DataFrame({"x": x, "g": g, "t": np.where(treated, "offer", "control"), "y": y})


def test_estimators_recover_a_confounded_effect():
    est = average_treatment_effect(world(4000, 2.0, 0), metadata=META, bootstrap=200)
    naive = world(4000, 2.0, 0).groupby("t").y.mean()
    assert naive["offer"] - naive["control"] > 3.5  # confounding inflates the raw difference
    for name in ("regression", "ipw"):
        assert est[name]["ate"] == pytest.approx(2.0, abs=0.25)
        assert est[name]["low"] < 2.0 < est[name]["high"]


def test_same_world_is_preserved_and_a_flipped_effect_is_not():
    real = world(3000, 2.0, 1)
    kept = causal_preservation(real, world(3000, 2.0, 2), metadata=META)["values"]
    assert kept["sign_agreement"] == 1.0 and kept["ci_overlap"] > 0.3 and kept["relative_difference"] < 0.2
    flipped = causal_preservation(real, world(3000, -2.0, 2), metadata=META)["values"]
    assert flipped == {
        "sign_agreement": 0.0,
        "ci_overlap": 0.0,
        "relative_difference": pytest.approx(2.0, abs=0.3),
    }


def test_identical_data_overlaps_fully():
    real = world(2000, 1.0, 3)
    values = causal_preservation(real, real, metadata=META)["values"]
    assert values["relative_difference"] == pytest.approx(0.0, abs=1e-9)
    assert values["sign_agreement"] == 1.0 and values["ci_overlap"] > 0.7  # bootstrap draws differ


def test_flipped_effect_fails_the_churn_gates():
    train, holdout = world(3000, 2.0, 4), world(1500, 2.0, 5)
    causal_only = {
        "name": "causal-only",
        "version": 1,
        "extends": "churn",
        "remove_gates": [g for g in _gate_ids("churn") if not g.startswith("causal.")],
    }
    ok = evaluate(train, holdout, world(3000, 2.0, 6), metadata=META, policy=causal_only)
    assert ok.passed, ok.message
    bad = evaluate(train, holdout, world(3000, -2.0, 6), metadata=META, policy=causal_only)
    assert not bad.passed
    assert set(bad.failed_gates) == {
        "causal.sign_agreement",
        "causal.ci_overlap",
        "causal.relative_difference",
    }


def test_missing_declarations_make_the_metric_not_applicable():
    meta = Metadata.from_any({"columns": {"x": {"type": "numerical"}}})
    res = causal_preservation(pd.DataFrame({"x": [1.0]}), pd.DataFrame({"x": [1.0]}), metadata=meta)
    assert res["values"]["sign_agreement"] is None and "no treatment" in res["details"]["reason"]


def test_interval_overlap():
    assert interval_overlap((0, 2), (0, 2)) == 1.0
    assert interval_overlap((0, 2), (1, 3)) == 0.5
    assert interval_overlap((0, 1), (2, 3)) == 0.0


def _gate_ids(name: str) -> list[str]:
    return [g.id for g in builtin_policy(name).gates]
