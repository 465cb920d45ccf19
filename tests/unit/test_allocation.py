"""The public budget allocation: weights, shares and the plan preview."""

import math

import pytest

from app.engine.accountant import rho_from_epsilon_delta
from app.engine.allocation import PWSIMConfig, make_plan
from app.engine.errors import BudgetError
from app.engine.schema import TableSchema


def schema(**overrides):
    cols = [
        {"name": "y", "type": "categorical", "domain": {"categories": ["0", "1"]}, "roles": ["target"]},
        {"name": "key", "type": "integer", "domain": {"lower": 0, "upper": 9}, "roles": ["key_predictor"]},
        {"name": "plain", "type": "categorical", "domain": {"categories": list("abc")}},
        {"name": "zip", "type": "categorical", "domain": {"categories": list("pqrs")}, "sensitivity": "quasi_identifier"},
        {
            "name": "health",
            "type": "categorical",
            "domain": {"categories": ["no", "yes"]},
            "sensitivity": "special_category",
            "special_category": "health",
        },
        {"name": "email", "type": "identifier", "sensitivity": "direct_identifier", "pii": "email"},
    ]
    for c in cols:
        c.update(overrides.get(c["name"], {}))
    return TableSchema.from_dict({"columns": cols})


@pytest.mark.parametrize("epsilon,delta", [(0.3, 1e-9), (1.0, 1e-9), (3.0, 1e-6)])
def test_phases_sum_to_the_budget(epsilon, delta):
    plan = make_plan(schema(), epsilon=epsilon, delta=delta)
    assert plan.rho == pytest.approx(rho_from_epsilon_delta(epsilon, delta))
    assert sum(plan.phases.values()) == pytest.approx(plan.rho, rel=1e-12)
    assert sum(m.rho for m in plan.one_way) == pytest.approx(plan.phases["one_way"])
    assert sum(m.rho for m in plan.forced) == pytest.approx(plan.phases["forced"])


def test_noise_follows_weights_utility_up_sensitivity_down():
    plan = make_plan(schema(), epsilon=1.0, delta=1e-9)
    sigma = {m.clique[0]: m.sigma for m in plan.one_way}
    assert sigma["y"] < sigma["key"] < sigma["plain"] < sigma["zip"] < sigma["health"]
    for m in plan.one_way:
        assert m.sigma == pytest.approx(1 / math.sqrt(2 * m.rho))


def test_rows_per_person_scales_noise():
    one = make_plan(schema(), epsilon=1.0, delta=1e-9)
    doc = schema().to_dict()
    doc["max_rows_per_person"] = 3
    three = make_plan(TableSchema.from_dict(doc), epsilon=1.0, delta=1e-9)
    assert three.one_way[0].sigma == pytest.approx(3 * one.one_way[0].sigma)


def test_identifiers_are_never_measured_and_sensitive_columns_stay_away_from_quasi_identifiers():
    plan = make_plan(schema(), epsilon=1.0, delta=1e-9)
    status = {c.name: c.status for c in plan.columns}
    assert status == {
        "y": "modeled",
        "key": "modeled",
        "plain": "modeled",
        "zip": "modeled",
        "health": "isolated",
        "email": "faked",
    }
    measured = {n for m in plan.one_way + plan.forced for n in m.clique}
    assert "email" not in measured
    assert ("zip", "health") in plan.excluded_pairs
    assert ("zip", "health") not in plan.candidates and ("health", "zip") not in plan.candidates
    assert {m.clique for m in plan.forced} == {("y", "key"), ("y", "plain"), ("y", "zip"), ("y", "health")}


def test_suppressed_columns_get_no_budget():
    plan = make_plan(schema(health={"sensitivity_score": 0.95}), epsilon=1.0, delta=1e-9)
    assert {c.name: c.status for c in plan.columns}["health"] == "suppressed"
    assert all("health" not in m.clique for m in plan.one_way + plan.forced)
    assert all("health" not in p for p in plan.candidates)


def test_tree_budget_splits_by_pair_weight():
    plan = make_plan(schema(), epsilon=1.0, delta=1e-9)
    ms = plan.tree_measurements([("key", "plain"), ("plain", "zip")])
    assert sum(m.rho for m in ms) == pytest.approx(plan.phases["tree"])
    assert ms[0].sigma < ms[1].sigma


def test_plan_without_target_is_a_plain_tree():
    plan = make_plan(schema(y={"roles": []}), epsilon=1.0, delta=1e-9)
    assert plan.anchor is None and plan.forced == ()
    assert plan.tree_slots == 4  # five modeled columns, a spanning tree has four edges


def test_invalid_budget_and_config_are_refused():
    with pytest.raises(BudgetError):
        make_plan(schema(), epsilon=0, delta=1e-9)
    with pytest.raises(BudgetError):
        make_plan(schema(), epsilon=1, delta=1.5)
    with pytest.raises(BudgetError):
        PWSIMConfig(one_way_share=0.5, select_share=0.5, joint_share=0.5)


def test_plan_document_lists_every_measurement():
    doc = make_plan(schema(), epsilon=1.0, delta=1e-9).to_dict(rows_estimate=10_000)
    assert len(doc["one_way"]) == 5 and len(doc["forced"]) == 4
    assert all(m["relative_error_per_cell"] > 0 for m in doc["one_way"])
    assert doc["selection"]["steps"] == 3
