"""Policies as code: schema, built-ins, inheritance, digests and failure messages."""

from __future__ import annotations

import json

import jsonschema
import pytest

from app.validation import PolicyError, builtin_names, builtin_policy, json_schema, load_policy, metric_names

MINIMAL = {
    "name": "team-a",
    "version": 3,
    "gates": [{"metric": "utility.tstr_degradation", "comparison": "<", "threshold": 0.1}],
}


def test_builtins_cover_the_modes_and_use_cases():
    assert set(builtin_names()) == {
        "default",
        "dev-only",
        "hybrid-split",
        "production-substitute",
        "personalization",
        "churn",
    }
    modes = {builtin_policy(n).mode for n in builtin_names()}
    assert {"dev-only", "hybrid-split", "production-substitute"} <= modes
    assert builtin_policy("churn").use_case == "churn"


@pytest.mark.parametrize("name", ["default", "dev-only", "hybrid-split", "production-substitute", "personalization", "churn"])
def test_builtins_are_valid_and_resolve_to_valid_documents(name):
    policy = builtin_policy(name)
    jsonschema.validate(policy.to_dict(), json_schema())
    assert all(g.metric in metric_names() for g in policy.gates)
    assert len({g.id for g in policy.gates}) == len(policy.gates)
    assert load_policy(policy.to_dict()).digest == policy.digest  # the flat form is self-contained


def test_default_is_the_fidelity_contract():
    gate = {g.id: g for g in builtin_policy("default").gates}["utility.tstr_degradation"]
    assert (gate.comparison, gate.threshold, gate.blocking) == ("<", 0.08, True)


def test_mode_semantics():
    prod = builtin_policy("production-substitute")
    assert all(g.blocking for g in prod.gates)
    assert {"release.dp", "membership.auc"} <= {g.id for g in prod.gates}
    default, dev = builtin_policy("default"), builtin_policy("dev-only")
    d_gates, v_gates = {g.id: g for g in default.gates}, {g.id: g for g in dev.gates}
    assert not v_gates["utility.tstr_degradation"].blocking  # lenient utility
    for gid in ("membership.auc", "singling_out.risk", "dcr.near_copy_excess"):  # strict privacy
        assert v_gates[gid].blocking and v_gates[gid].threshold < d_gates[gid].threshold
    hybrid = {g.id: g for g in builtin_policy("hybrid-split").gates}
    assert hybrid["hybrid.recall_lift"].blocking and hybrid["hybrid.recall_lift"].comparison == ">="
    churn = {g.id: g for g in builtin_policy("churn").gates}
    assert churn["causal.sign_agreement"].blocking and churn["causal.sign_agreement"].on_missing == "fail"
    perso = {g.id: g for g in builtin_policy("personalization").gates}
    assert perso["joint.three_way_tvd_mean"].blocking
    assert perso["joint.three_way_tvd_mean"].threshold < d_gates["joint.three_way_tvd_mean"].threshold


def test_extends_overrides_in_place_adds_and_removes():
    doc = {
        "name": "strict-churn",
        "version": 1,
        "extends": "churn@2",
        "remove_gates": ["adversarial.auc"],
        "params": {"attacks": {"targets": 500}},
        "gates": [
            {"metric": "utility.tstr_degradation", "comparison": "<", "threshold": 0.05},
            {
                "id": "extra",
                "metric": "columns.ks_mean",
                "comparison": "<=",
                "threshold": 0.05,
                "blocking": False,
            },
        ],
    }
    policy = load_policy(doc)
    ids = [g.id for g in policy.gates]
    assert "adversarial.auc" not in ids and ids[-1] == "extra"
    assert ids.index("utility.tstr_degradation") == 0  # the override keeps the inherited place
    assert {g.id: g for g in policy.gates}["utility.tstr_degradation"].threshold == 0.05
    assert policy.params["attacks"] == {"targets": 500, "rare_share": 0.2}
    assert policy.lineage == ("strict-churn@1", "churn@2", "default@2") and policy.use_case == "churn"


def test_digest_changes_with_content_not_with_formatting():
    a = load_policy(MINIMAL)
    b = load_policy(json.dumps(MINIMAL, indent=4))
    c = load_policy({**MINIMAL, "gates": [{**MINIMAL["gates"][0], "threshold": 0.2}]})
    assert a.digest == b.digest != c.digest


def test_yaml_text_and_files(tmp_path):
    text = "name: team-b\nversion: 1\ngates:\n  - {metric: adversarial.auc, comparison: '<=', threshold: 0.7}\n"
    path = tmp_path / "team-b.yaml"
    path.write_text(text)
    assert load_policy(text) == load_policy(path) == load_policy(str(path))
    assert load_policy("default@2") == builtin_policy("default") != load_policy("default@1")


def test_resolver_supplies_stored_bases():
    stored = {("team-a", 3): MINIMAL}
    child = {
        "name": "team-a-plus",
        "version": 1,
        "extends": "team-a@3",
        "gates": [{"metric": "adversarial.auc", "comparison": "<=", "threshold": 0.7}],
    }
    policy = load_policy(child, resolver=lambda name, version: stored.get((name, version)))
    assert [g.id for g in policy.gates] == ["utility.tstr_degradation", "adversarial.auc"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {**MINIMAL, "gates": [{"metric": "utility.nope", "comparison": "<", "threshold": 1}]},
            "unknown metric",
        ),
        (
            {**MINIMAL, "gates": [{"metric": "utility.tstr_degradation", "comparison": "~", "threshold": 1}]},
            "invalid policy at gates/0/comparison",
        ),
        ({**MINIMAL, "gates": MINIMAL["gates"] * 2}, "duplicate gate ids"),
        ({**MINIMAL, "extends": "nothing-here"}, "unknown policy"),
        ({**MINIMAL, "extends": "default", "remove_gates": ["nope"]}, "does not have"),
        ({**MINIMAL, "remove_gates": ["x"]}, "needs extends"),
        ({**MINIMAL, "params": {"bogus": {}}}, "unknown metric families"),
        ({**MINIMAL, "version": 0}, "invalid policy at version"),
        ({"version": 1}, "'name' is a required property"),
        (
            {**MINIMAL, "gates": [{"metric": "membership.auc", "comparison": "==", "threshold": 0.5, "basis": "ci_bound"}]},
            "one-sided comparison",
        ),
        (
            {**MINIMAL, "gates": [{"metric": "exact_copies.excess", "comparison": "<=", "threshold": 0, "basis": "ci_bound"}]},
            "reports no confidence interval",
        ),
        (
            {**MINIMAL, "gates": [{"metric": "membership.auc", "comparison": "<=", "threshold": 0.6, "basis": "upper"}]},
            "invalid policy at gates/0/basis",
        ),
    ],
)
def test_invalid_policies_are_refused(doc, message):
    with pytest.raises(PolicyError, match=message):
        load_policy(doc)


def test_ci_bound_compares_the_bound_nearest_to_passing_and_keeps_old_digests():
    doc = {
        "name": "bounds",
        "version": 1,
        "gates": [
            {"metric": "membership.auc", "comparison": "<=", "threshold": 0.6, "basis": "ci_bound"},
            {"id": "auc-floor", "metric": "membership.auc", "comparison": ">", "threshold": 0.4, "basis": "ci_bound"},
            {"id": "plain", "metric": "membership.auc", "comparison": "<=", "threshold": 0.6},
        ],
    }
    upper, lower, plain = load_policy(doc).gates
    assert (upper.compared_metric, lower.compared_metric, plain.compared_metric) == (
        "membership.auc_low",
        "membership.auc_high",
        "membership.auc",
    )
    assert "basis" not in plain.to_dict() and upper.to_dict()["basis"] == "ci_bound"
    # a document without basis means what it meant before the field existed: same digest
    explicit = {**doc, "gates": [doc["gates"][2] | {"basis": "estimate"}]}
    assert load_policy(explicit).digest == load_policy({**doc, "gates": [doc["gates"][2]]}).digest


def test_builtin_privacy_gates_judge_confidence_bounds():
    """The statistical attack gates of every built-in policy compare a bound, not the estimate."""
    statistical = {"dcr.closer_to_train_share", "membership.auc", "membership.auc_rare", "membership.advantage_low_fpr"}
    statistical |= {f"{a}.risk" for a in ("singling_out", "linkability", "attribute_inference")}
    for name in builtin_names():
        for gate in builtin_policy(name).gates:
            if gate.id in statistical:
                assert gate.basis == "ci_bound", (name, gate.id)


def test_cycles_are_refused():
    docs = {
        "a": {"name": "a", "version": 1, "extends": "b"},
        "b": {"name": "b", "version": 1, "extends": "a"},
    }
    with pytest.raises(PolicyError, match="cycle"):
        load_policy(docs["a"], resolver=lambda name, version: docs.get(name))


def test_not_yaml_is_refused():
    with pytest.raises(PolicyError, match="mapping"):
        load_policy("- just\n- a list\n")
