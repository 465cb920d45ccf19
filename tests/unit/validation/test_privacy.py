"""Re-identification: exact copies, DCR, membership inference and the Anonymeter-style attacks.

The acceptance test of the privacy gates: a leaky set (a product-of-marginals sample with 5 % of
its rows copied from training, verbatim or lightly perturbed) fails the default policy's
privacy gates, while the product sample alone (which, like a DP release, knows nothing about any
one person) passes every one of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.validation import evaluate
from app.validation.adversarial import adversarial_auc
from app.validation.attacks import (
    attack_setup,
    attribute_inference,
    linkability,
    membership_inference,
    risk_interval,
    singling_out,
)
from app.validation.privacy import distance_to_closest_record, exact_copies

PRIVACY = ("exact_copies", "dcr", "membership", "singling_out", "linkability", "attribute_inference")


@pytest.fixture(scope="module")
def fresh(adult_all):
    """Real rows outside the 10,000-row split: private with respect to its training rows by construction."""
    return adult_all.drop(adult_all.sample(10_000, random_state=7).index).sample(8000, random_state=1)


def attacks_on(train, holdout, synthetic, meta):
    setup = attack_setup(train, synthetic, holdout=holdout, metadata=meta, targets=1000)
    return {f.__name__: f(setup)["values"] for f in (membership_inference, singling_out, linkability, attribute_inference)}


def test_exact_copies_are_counted_against_the_holdout_rate(adult_split):
    train, holdout, meta = adult_split
    synthetic = train.iloc[:100]
    res = exact_copies(train, synthetic, holdout=holdout, metadata=meta)["values"]
    assert res["share"] == 1.0
    assert 0.0 <= res["holdout_share"] < 0.01  # Adult has a few natural duplicates
    assert res["excess"] == pytest.approx(1.0 - res["holdout_share"])


def test_copied_training_rows_are_caught_by_every_attack(adult_split):
    train, holdout, meta = adult_split
    copy = train.sample(frac=1, random_state=3)
    dcr = distance_to_closest_record(train, copy, holdout=holdout, metadata=meta)["values"]
    assert dcr["synthetic_median"] == 0.0 and dcr["near_copy_excess"] > 0.9
    assert dcr["closer_to_train_share"] > 0.6  # diluted: the train side is subsampled to the holdout's size
    found = attacks_on(train, holdout, copy, meta)
    assert found["membership_inference"]["auc"] > 0.99
    assert found["membership_inference"]["advantage_low_fpr"] > 0.9
    assert found["singling_out"]["risk"] > 0.9 and found["attribute_inference"]["risk"] > 0.9
    assert found["linkability"]["risk"] > 0.3 and found["linkability"]["risk_low"] > 0.2


def test_copies_fail_the_exact_copy_and_membership_gates(adult_split, build):
    train, holdout, meta = adult_split
    verdict = evaluate(
        train,
        holdout,
        train.sample(frac=1, random_state=3),
        metadata=meta,
        policy=build.only("default", *PRIVACY),
    )
    assert {"exact_copies.excess", "membership.auc", "membership.advantage_low_fpr"} <= set(verdict.failed_gates)


def test_fresh_real_data_carries_no_membership_signal(adult_split, fresh):
    train, holdout, meta = adult_split
    found = attacks_on(train, holdout, fresh, meta)
    assert found["membership_inference"]["auc"] == pytest.approx(0.5, abs=0.05)
    assert abs(found["membership_inference"]["advantage_low_fpr"]) < 0.015
    for attack in ("singling_out", "linkability", "attribute_inference"):
        assert found[attack]["risk"] < 0.03 and found[attack]["risk_low"] <= 0.0, attack
    dcr = distance_to_closest_record(train, fresh, holdout=holdout, metadata=meta)["values"]
    assert dcr["closer_to_train_share"] == pytest.approx(0.5, abs=0.04)
    assert abs(dcr["near_copy_excess"]) < 0.01 and dcr["median_ratio"] == pytest.approx(1.0, abs=0.15)


@pytest.mark.parametrize("perturbed", [False, True], ids=["verbatim", "perturbed"])
def test_leaky_set_fails_the_default_privacy_gates(adult_split, build, perturbed):
    train, holdout, meta = adult_split
    synthetic = build.leaky(train, meta, share=0.05, perturbed=perturbed)
    verdict = evaluate(train, holdout, synthetic, metadata=meta, policy=build.only("default", *PRIVACY))
    assert not verdict.passed
    assert "membership.advantage_low_fpr" in verdict.failed_gates
    if not perturbed:
        assert {"exact_copies.excess", "dcr.near_copy_excess"} <= set(verdict.failed_gates)


def test_independent_resample_passes_every_privacy_gate(adult_split, build):
    train, holdout, meta = adult_split
    verdict = evaluate(
        train,
        holdout,
        build.product(train, len(train)),
        metadata=meta,
        policy=build.only("default", *PRIVACY),
    )
    assert verdict.passed, verdict.message
    assert verdict.advisory_failures == []
    assert verdict.skipped_gates == []


def test_dev_only_attack_gates_catch_the_verbatim_leak(adult_split, build):
    train, holdout, meta = adult_split
    synthetic = build.leaky(train, meta, share=0.05)
    attack_gates = build.only("dev-only", "singling_out", "linkability", "attribute_inference")
    leaked = evaluate(train, holdout, synthetic, metadata=meta, policy=attack_gates)
    assert {"singling_out.significant", "singling_out.risk"} & set(leaked.failed_gates)
    clean = evaluate(train, holdout, build.product(train, len(train)), metadata=meta, policy=attack_gates)
    assert clean.passed, clean.message


def test_risk_interval_known_values():
    none = risk_interval(0, 0, 400, 400)
    assert none["risk"] == 0.0 and none["low"] < 0 < none["high"] < 0.02
    half = risk_interval(50, 0, 100, 100)
    assert half["risk"] == pytest.approx(0.5) and 0.35 < half["low"] < 0.5 < half["high"] < 0.62
    scaled = risk_interval(60, 20, 100, 100)  # (0.6 - 0.2) / (1 - 0.2)
    assert scaled["risk"] == pytest.approx(0.5)
    assert risk_interval(10, 30, 100, 100)["risk"] == 0.0  # worse than the control is no risk


def test_adversarial_auc_is_chance_for_real_data_and_high_for_a_product(adult_split, fresh, build):
    train, _, meta = adult_split
    same = adversarial_auc(train, fresh, metadata=meta, max_rows=4000, iterations=50)
    assert same["values"]["auc"] == pytest.approx(0.5, abs=0.04)
    identical = adversarial_auc(train.iloc[:3000], train.iloc[:3000], metadata=meta, iterations=50)
    assert identical["values"]["auc"] == pytest.approx(0.5, abs=0.04)
    product = adversarial_auc(train, build.product(train, 4000), metadata=meta, max_rows=4000, iterations=50)
    assert product["values"]["auc"] > 0.85
    top = [f["column"] for f in product["details"]["top_features"]]
    assert len(top) == 5 and np.all(np.diff([f["importance"] for f in product["details"]["top_features"]]) <= 0)


def test_membership_intervals_bracket_the_estimate(adult_split, fresh):
    train, holdout, meta = adult_split
    setup = attack_setup(train, fresh, holdout=holdout, metadata=meta, targets=1000)
    honest = membership_inference(setup)
    v = honest["values"]
    for key in ("auc", "auc_rare", "advantage_low_fpr"):
        assert v[f"{key}_low"] <= v[key] <= v[f"{key}_high"], key
    # fresh rows: no evidence of membership (this attack even scores them a little below chance)
    assert v["auc_low"] < 0.5 and 0.03 < v["auc_high"] - v["auc_low"] < 0.1  # ~ 2 * 1.96 * 0.013
    assert v["advantage_low_fpr_low"] <= 0.0
    assert honest["details"]["interval"] == {"level": 0.95, "method": "percentile bootstrap", "resamples": 400}
    assert membership_inference(setup)["values"] == v  # seeded
    copied = membership_inference(attack_setup(train, train, holdout=holdout, metadata=meta, targets=1000))["values"]
    assert copied["auc_low"] > 0.95 and copied["advantage_low_fpr_low"] > 0.8
    bare = membership_inference(setup, bootstrap=0)["values"]
    assert bare["auc"] == v["auc"] and bare["auc_low"] is None


def test_closer_to_train_share_interval_widens_with_a_small_holdout(adult_split, fresh):
    train, holdout, meta = adult_split
    big = distance_to_closest_record(train, fresh, holdout=holdout, metadata=meta)["values"]
    small = distance_to_closest_record(train, fresh, holdout=holdout.iloc[:200], metadata=meta)["values"]
    for v in (big, small):
        assert v["closer_to_train_share_low"] < v["closer_to_train_share"] < v["closer_to_train_share_high"]
        assert v["closer_to_train_share_low"] < 0.5 < v["closer_to_train_share_high"]  # fresh data: no signal
    width = {k: v["closer_to_train_share_high"] - v["closer_to_train_share_low"] for k, v in (("big", big), ("small", small))}
    assert width["small"] > 2 * width["big"]
    # 1.96 * sqrt(0.25 * (1/3000 + 1/2000)) on each side
    assert width["big"] == pytest.approx(2 * 1.96 * np.sqrt(0.25 * (1 / 3000 + 1 / 2000)), rel=0.05)


def test_attack_level_sets_the_risk_interval(adult_split, build):
    train, holdout, meta = adult_split
    setup = attack_setup(train, build.leaky(train, meta), holdout=holdout, metadata=meta, targets=1000)
    wide, narrow = singling_out(setup, level=0.99), singling_out(setup, level=0.95)
    assert wide["values"]["risk"] == narrow["values"]["risk"] > 0
    assert wide["values"]["risk_low"] < narrow["values"]["risk_low"] and wide["details"]["level"] == 0.99
