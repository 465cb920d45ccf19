"""evaluate() and the Verdict: statuses, JSON form, missing metrics, business terms, the report."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from app.validation import Metadata, MetadataError, evaluate, render_html

GATES = [
    {"metric": "columns.out_of_domain_share_max", "comparison": "<=", "threshold": 0.0},
    {"metric": "columns.ks_max", "comparison": "<=", "threshold": 0.0001, "blocking": False},
    {"metric": "causal.sign_agreement", "comparison": ">=", "threshold": 1},
    {
        "id": "must-have-treatment",
        "metric": "causal.ci_overlap",
        "comparison": ">=",
        "threshold": 0.5,
        "on_missing": "fail",
    },
    {"metric": "exact_copies.excess", "comparison": "<=", "threshold": 0.005},
]


POLICY = {
    "name": "unit",
    "version": 2,
    "gates": GATES,
    "business": {
        "baseline": "exact_copies.holdout_share",
        "metric": "exact_copies.share",
        "value_per_point": 1000,
        "point": 0.01,
        "unit": "USD",
    },
}


@pytest.fixture(scope="module")
def verdict(adult_split, build):
    train, holdout, meta = adult_split
    return evaluate(train, holdout, build.product(train, 3000), metadata=meta, policy=POLICY, seed=3)


def test_statuses_and_names(verdict):
    status = {g.id: g.status for g in verdict.gates}
    assert status == {
        "columns.out_of_domain_share_max": "pass",
        "columns.ks_max": "fail",  # advisory: reported, does not reject
        "causal.sign_agreement": "skipped",  # no treatment declared, on_missing: skip
        "must-have-treatment": "fail",  # ... but this gate insists
        "exact_copies.excess": "pass",
    }
    assert not verdict.passed and verdict.decision == "reject"
    assert verdict.failed_gates == ["must-have-treatment"]
    assert verdict.advisory_failures == ["columns.ks_max"]
    assert verdict.skipped_gates == ["causal.sign_agreement"]
    assert "no treatment" in verdict.gate("must-have-treatment").reason
    assert verdict.message == "rejected by unit@2: failed must-have-treatment"


def test_to_dict_is_json_ready_and_complete(verdict):
    doc = json.loads(json.dumps(verdict.to_dict(), allow_nan=False))
    assert doc["policy"]["name"] == "unit" and len(doc["policy"]["digest"]) == 64
    assert doc["rows"] == {"train": 8000, "holdout": 2000, "synthetic": 3000}
    gate = doc["gates"][0]
    assert set(gate) >= {"id", "metric", "value", "threshold", "comparison", "blocking", "status", "passed"}
    assert set(doc["timings"]) >= {"columns", "causal", "exact_copies", "total"}
    assert doc["metadata"]["target"] == "income"
    assert any("read off the training data" in w for w in doc["warnings"])
    assert doc["business"]["points_lost"] == pytest.approx(
        (doc["metrics"]["exact_copies"]["values"]["holdout_share"] - doc["metrics"]["exact_copies"]["values"]["share"]) / 0.01
    )


def test_only_the_needed_families_run(verdict):
    assert set(verdict.metrics) == {"columns", "causal", "exact_copies"}


def test_same_seed_same_verdict(adult_split, build, verdict):
    train, holdout, meta = adult_split
    again = evaluate(train, holdout, build.product(train, 3000), metadata=meta, policy=POLICY, seed=3)
    first, second = verdict.to_dict(), again.to_dict()
    del first["timings"], second["timings"]
    assert first == second


def test_a_crashing_metric_fails_its_gate_even_when_skippable(adult_split):
    train, holdout, meta = adult_split
    broken = Metadata.from_any(meta, treatment="sex", outcome="income", treated_value="Nobody")
    policy = {
        "name": "c",
        "version": 1,
        "gates": [{"metric": "causal.sign_agreement", "comparison": ">=", "threshold": 1}],
    }
    verdict = evaluate(train, holdout, train, metadata=broken, policy=policy)
    gate = verdict.gate("causal.sign_agreement")
    assert gate.status == "fail" and "ValueError" in gate.reason and verdict.warnings


def test_missing_columns_are_refused(adult_split):
    train, holdout, meta = adult_split
    with pytest.raises(MetadataError, match="synthetic data lacks columns: age"):
        evaluate(train, holdout, train.drop(columns="age"), metadata=meta, policy="default")


def test_report_is_self_contained_html(adult_split, build):
    train, holdout, meta = adult_split
    meta = Metadata.from_any(meta, treatment="education-num", treated_value=12, outcome="income", confounders=["age", "sex"])
    policy = {
        "name": "report",
        "version": 1,
        "extends": "default",
        "params": {
            "models": {"iterations": 30},
            "adversarial": {"max_rows": 2000, "iterations": 30},
            "attacks": {"targets": 500},
        },
    }
    verdict = evaluate(
        train,
        holdout,
        build.product(train, 4000),
        metadata=meta,
        policy=policy,
        release={"dp": True, "allocation": {"columns": [{"name": "age", "weight": 2.0}]}},
    )
    for page in (render_html(verdict), render_html(json.loads(json.dumps(verdict.to_dict())))):
        assert page.startswith("<!DOCTYPE html>") and "REJECTED" in page
        assert not re.search(r"""(src|href)\s*=|<link|<script|url\(""", page)  # no external asset
        svgs = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
        for svg in svgs:
            ET.fromstring(svg)  # well-formed
        HTMLParser().feed(page)
        for heading in (
            "Gates",
            "ML utility",
            "Treatment effect",
            "Distance to closest training record",
            "Correlation difference",
            "Adversarial validation",
            "Privacy-weight allocation",
            "Columns: real vs synthetic",
        ):
            assert heading in page, heading
        assert len(svgs) > len(meta.columns)  # a histogram per column and the summary plots
        assert "utility.tstr_degradation" in page and "failed" in page.lower()


def test_attacks_on_a_tiny_holdout_are_not_measurable(adult_split, build):
    """12 holdout rows cannot calibrate an attack: its gates skip (or fail with on_missing: fail)."""
    train, holdout, meta = adult_split
    tiny_train, tiny_holdout = train.iloc[:48], holdout.iloc[:12]
    policy = {
        "name": "tiny",
        "version": 1,
        "gates": [
            {"metric": "membership.auc", "comparison": "<=", "threshold": 0.6},
            {"metric": "dcr.near_copy_excess", "comparison": "<=", "threshold": 0.02, "on_missing": "fail"},
            {"metric": "exact_copies.excess", "comparison": "<=", "threshold": 0.5},
        ],
    }
    verdict = evaluate(tiny_train, tiny_holdout, build.product(tiny_train, 40), metadata=meta, policy=policy)
    assert verdict.gate("membership.auc").status == "skipped"
    assert "at least 50 holdout rows" in verdict.gate("membership.auc").reason
    assert verdict.gate("dcr.near_copy_excess").status == "fail"
    assert verdict.gate("exact_copies.excess").status == "pass"  # counting copies needs no calibration
    assert verdict.failed_gates == ["dcr.near_copy_excess"]


def test_report_notes_are_shown_under_the_verdict():
    verdict = {"passed": True, "message": "released", "policy": {"name": "p", "version": 1}, "gates": []}
    page = render_html(verdict, notes=["Computed on the real data & not DP."])
    assert "Computed on the real data &amp; not DP." in page
    assert page.index("Computed on the real") > page.index("RELEASED")


def test_a_ci_bound_gate_fails_only_when_the_bound_is_beyond_the_threshold(adult_split, build):
    train, holdout, meta = adult_split
    synthetic = build.leaky(train, meta, share=0.05)

    def gate(threshold: float, basis: str) -> dict:
        doc = {
            "name": "bound",
            "version": 1,
            "params": {"attacks": {"targets": 1000}},
            "gates": [{"metric": "membership.advantage_low_fpr", "comparison": "<=", "threshold": threshold, "basis": basis}],
        }
        verdict = evaluate(train, holdout, synthetic, metadata=meta, policy=doc, seed=1)
        return verdict.to_dict()["gates"][0]

    probe = gate(0.0, "ci_bound")
    low, high = probe["interval"]
    assert probe["value"] == low < probe["estimate"] < high and probe["basis"] == "ci_bound"
    between = (low + probe["estimate"]) / 2  # above the lower bound, below the estimate
    plain = gate(between, "estimate")
    assert plain["status"] == "fail"  # the estimate is over the threshold...
    assert gate(between, "ci_bound")["status"] == "pass"  # ...but the risk is not shown to be
    assert gate(low - 0.005, "ci_bound")["status"] == "fail"  # shown to be: the whole interval is above
    assert plain["value"] == plain["estimate"] and plain["interval"] is None and plain["basis"] == "estimate"


def test_a_ci_bound_gate_without_its_interval_fails(adult_split, build):
    train, holdout, meta = adult_split
    doc = {
        "name": "no-resamples",
        "version": 1,
        "params": {"membership": {"bootstrap": 0}, "attacks": {"targets": 500}},
        "gates": [{"metric": "membership.auc", "comparison": "<=", "threshold": 0.9, "basis": "ci_bound", "on_missing": "skip"}],
    }
    verdict = evaluate(train, holdout, build.product(train, 2000), metadata=meta, policy=doc)
    result = verdict.gate("membership.auc")
    assert result.status == "fail" and result.reason == "membership.auc_low not computed" and result.estimate is not None
