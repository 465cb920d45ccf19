"""The small-table rule: with a target, a table too small for the tree plan's joint groups is
modeled as a target star (no feature tree; its selection and tree budget go to the target pairs).

The digests pin the tree behaviour: they were computed at c751d0e, before the rule existed, so a
large table, a disabled rule or a table without a target still gives byte-identical output.
"""

import hashlib
import json

import numpy as np
import pytest

from app.engine.allocation import PWSIMConfig, make_plan
from app.engine.api import chunk_source, synthesize
from app.engine.schema import TableSchema
from app.engine.synthesizer import PWSIMSynthesizer
from tests.unit.conftest import ROOT


def fit_sample(frame, schema, config=None):
    synth = PWSIMSynthesizer(config)
    synth.fit(chunk_source(frame, schema), schema, epsilon=1.0, delta=1e-9, rng=np.random.default_rng(0))
    out = synth.sample(1000, np.random.default_rng(1))
    return synth, hashlib.sha256(out.to_csv(index=False).encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def no_target_schema(adult_schema):
    doc = adult_schema.to_dict()
    for c in doc["columns"]:
        c["roles"] = [r for r in c.get("roles", []) if r != "target"]
    return TableSchema.from_dict(doc)


def test_small_table_with_target_is_a_target_star_that_spends_the_whole_budget(adult, adult_schema):
    res = synthesize(adult.head(2000), adult_schema, epsilon=1.0, delta=1e-9, seed=0)
    tree, star = (make_plan(adult_schema, epsilon=1.0, delta=1e-9, structure=s) for s in ("tree", "target-star"))
    assert res.rho == pytest.approx(tree.rho, rel=1e-9) and res.rho <= tree.rho * (1 + 1e-9)
    assert {p["name"] for p in res.phases} == {"one_way", "forced"}
    forced = next(p for p in res.phases if p["name"] == "forced")
    assert forced["releases"] == len(star.forced) == 14
    assert forced["rho"] == pytest.approx(tree.phases["forced"] + tree.phases["select"] + tree.phases["tree"])
    alloc = res.allocation
    assert alloc["structure"] == "target-star" and alloc["selected_edges"] == [] and alloc["tree"] is None
    assert alloc["phases"]["select"] == alloc["phases"]["tree"] == 0.0
    assert {m["phase"] for m in alloc["measurements"]} == {"one_way", "forced"}
    choice = alloc["structure_choice"]
    assert choice["structure"] == "target-star" and choice["star_max_groups"] == 5
    assert choice["tree_joint_groups"] <= 5 and "<= star_max_groups 5" in choice["reason"]


def test_target_star_models_every_feature_given_the_target_only(adult, adult_schema):
    synth, _ = fit_sample(adult.head(2000), adult_schema)
    target = [c.name for c in synth.codecs_].index("income")
    assert synth.edges_ == [] and synth.plan_.structure == "target-star"
    assert synth.nodes_[0].index == target and synth.nodes_[0].given == ()
    assert all(node.given == (target,) for node in synth.nodes_[1:])
    assert not any(m.phase in ("select", "tree") for m in synth.measurements_)
    assert [c["name"] for c in synth.accountant_.to_list()].count("select") == 0


def test_large_table_keeps_the_tree_byte_identical(adult, adult_schema):
    synth, digest = fit_sample(adult, adult_schema)
    assert synth.plan_ == make_plan(adult_schema, epsilon=1.0, delta=1e-9)
    assert synth.structure_["structure"] == "tree" and synth.structure_["tree_joint_groups"] > 5
    assert len(synth.edges_) == 13
    assert digest == "7ef59c976967df85"


def test_star_max_groups_0_disables_the_rule(adult, adult_schema):
    synth, digest = fit_sample(adult.head(2000), adult_schema, PWSIMConfig(star_max_groups=0))
    assert synth.plan_.structure == "tree" and len(synth.edges_) == 13
    assert "disabled" in synth.structure_["reason"]
    assert digest == "75823c7fb928e512"


def test_without_a_target_nothing_changes(adult, no_target_schema):
    synth, digest = fit_sample(adult.head(2000), no_target_schema)
    assert synth.plan_.structure == "tree" and len(synth.edges_) == 14
    assert "does not apply" in synth.structure_["reason"]
    assert digest == "8029691a3be7de43"


@pytest.mark.parametrize("epsilon", [0.3, 1.0, 3.0])
def test_star_plan_moves_the_tree_budget_to_the_target_pairs(adult_schema, epsilon):
    tree = make_plan(adult_schema, epsilon=epsilon, delta=1e-9)
    star = make_plan(adult_schema, epsilon=epsilon, delta=1e-9, structure="target-star")
    assert star.structure == "target-star" and tree.structure == "tree" and tree.star_eligible
    assert star.one_way == tree.one_way  # what the fit measured before choosing, to the bit
    assert sum(star.phases.values()) == pytest.approx(star.rho, rel=1e-12)
    assert star.tree_slots == 0 and star.phases["select"] == star.phases["tree"] == 0.0
    assert star.select_epsilon_per_step == 0.0 and not star.star_eligible
    assert sum(m.rho for m in star.forced) == pytest.approx(star.phases["forced"])
    scale = star.phases["forced"] / tree.phases["forced"]
    for s, t in zip(star.forced, tree.forced):
        assert s.clique == t.clique and s.rho == pytest.approx(t.rho * scale)
        assert s.sigma < t.sigma


def test_star_threshold_is_where_the_group_rule_reaches_star_max_groups(adult_schema):
    cfg = PWSIMConfig()
    plan = make_plan(adult_schema, epsilon=1.0, delta=1e-9)
    below = plan.star_below_rows(cfg)
    assert 3700 < below < 3900  # Adult's schema at epsilon 1
    assert plan.joint_groups(below * 0.999, cfg) == 5 and plan.joint_groups(below * 1.001, cfg) == 6
    assert make_plan(adult_schema, epsilon=1.0, delta=1e-9).joint_groups(39073, cfg) == 19  # full Adult: tree
    assert plan.star_below_rows(PWSIMConfig(star_max_groups=0)) is None


def test_target_star_needs_a_target_and_a_sane_config(no_target_schema, adult_schema):
    assert not make_plan(no_target_schema, epsilon=1.0, delta=1e-9).star_eligible
    with pytest.raises(ValueError):
        make_plan(no_target_schema, epsilon=1.0, delta=1e-9, structure="target-star")
    with pytest.raises(ValueError):
        make_plan(adult_schema, epsilon=1.0, delta=1e-9, structure="star")
    from app.engine.errors import BudgetError

    with pytest.raises(BudgetError):
        PWSIMConfig(star_max_groups=-1)


def test_plan_command_states_the_small_table_rule():
    from click.testing import CliRunner

    from app.cli import main

    schema = str(ROOT / "bench" / "adult_schema.json")
    res = CliRunner().invoke(main, ["plan", "--schema", schema, "--epsilon", "1", "--rows-estimate", "2000"])
    assert res.exit_code == 0, res.output
    assert "below about 3,800 estimated rows" in res.output and "at --rows-estimate 2000 it applies" in res.output
    assert "target-star phases: one_way 0.003743, forced 0.01123; no tree" in res.output
    doc = json.loads(CliRunner().invoke(main, ["plan", "--schema", schema, "--epsilon", "1", "--json"]).output)
    assert doc["structure"] == "tree" and doc["tree"] is not None
    rule = doc["small_table_rule"]
    assert rule["star_max_groups"] == 5 and 3700 < rule["below_rows"] < 3900
    assert sum(rule["target_star"]["phases"].values()) == pytest.approx(doc["rho"])
