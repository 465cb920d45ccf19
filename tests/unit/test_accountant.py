"""The zCDP accountant: published CKS20/BS16 figures, OpenDP 0.16 cross-checks, the ledger's refusals."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from app.engine import accountant as acc
from app.engine.accountant import (
    Accountant,
    Charge,
    bs16_epsilon,
    bs16_rho,
    cdp_delta,
    epsilon_from_rho,
    exponential_mechanism_epsilon,
    exponential_mechanism_rho,
    gaussian_rho,
    gaussian_sigma,
    pure_dp_rho,
    rho_from_epsilon_delta,
    validate_epsilon_delta,
)
from app.engine.errors import BudgetError

EPSILONS = [0.1, 0.5, 1.0, 3.0, 10.0]
DELTAS = [1e-12, 1e-9, 1e-6, 1e-3]
RHOS = [1e-5, 1e-3, 0.0149731, 0.1, 1.0, 10.0]
INVALID_EPSILON_DELTA = [
    (0.0, 1e-9),
    (-1.0, 1e-9),
    (math.inf, 1e-9),
    (math.nan, 1e-9),
    (1.0, 0.0),
    (1.0, 1.0),
    (1.0, -1e-9),
    (1.0, 1.5),
    (1.0, math.nan),
]


# Published figures (DP-ENGINE.md section 3), compared at the digits they were printed with: a 1e-4
# relative band is tighter than 4-digit rounding allows (0.02436 is 0.0243560, 1.7e-4 away).
@pytest.mark.parametrize(("epsilon", "delta", "cks20", "bs16"), [(1.0, 1e-9, 0.01497, 0.01178), (1.0, 1e-6, 0.02436, 0.01747)])
def test_published_rho_for_epsilon_delta(epsilon, delta, cks20, bs16):
    assert round(rho_from_epsilon_delta(epsilon, delta), 5) == cks20
    assert round(bs16_rho(epsilon, delta), 5) == bs16


def test_published_epsilon_for_rho():
    assert epsilon_from_rho(0.0149731, 1e-9) == pytest.approx(1.000, rel=1e-4)
    assert cdp_delta(0.0149731, 1.0) == pytest.approx(1e-9, rel=1e-4)


@pytest.fixture(scope="module")
def dp():
    dp = pytest.importorskip("opendp.prelude")
    dp.enable_features("contrib")
    return dp


def _opendp_gaussian(dp, scale):
    return dp.m.make_gaussian(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=scale)


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("delta", DELTAS)
def test_epsilon_and_delta_match_opendp(dp, rho, delta):
    meas = _opendp_gaussian(dp, 1 / math.sqrt(2 * rho))
    assert meas.output_measure == dp.zero_concentrated_divergence()
    opendp_rho = meas.map(1.0)  # OpenDP rounds its rho map up, so compare at its own rho
    to_adp = dp.c.make_zCDP_to_approxDP(meas)
    opendp_eps, fixed_delta = dp.c.make_fix_delta(to_adp, delta).map(1.0)
    assert fixed_delta == delta
    assert epsilon_from_rho(opendp_rho, delta) == pytest.approx(opendp_eps, rel=1e-6)
    assert cdp_delta(opendp_rho, opendp_eps) == pytest.approx(to_adp.map(1.0).delta(opendp_eps), rel=1e-6)


# OpenDP has no rho(epsilon, delta): binary-search the Gaussian scale it accepts (about 0.2 s a point).
@pytest.mark.parametrize(("epsilon", "delta"), [(0.1, 1e-12), (1.0, 1e-9), (1.0, 1e-6), (10.0, 1e-3)])
def test_rho_matches_opendp(dp, epsilon, delta):
    def fixed(scale):
        return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(_opendp_gaussian(dp, scale)), delta)

    scale = dp.binary_search_param(fixed, d_in=1.0, d_out=(epsilon, delta), T=float)
    assert rho_from_epsilon_delta(epsilon, delta) == pytest.approx(_opendp_gaussian(dp, scale).map(1.0), rel=1e-6)


@pytest.mark.parametrize("epsilon", EPSILONS)
@pytest.mark.parametrize("delta", DELTAS)
def test_rho_round_trip_is_tight_and_safe(epsilon, delta):
    rho = rho_from_epsilon_delta(epsilon, delta)
    assert cdp_delta(rho, epsilon) <= delta < cdp_delta(rho * (1 + 1e-9), epsilon)
    assert epsilon_from_rho(rho, delta) == pytest.approx(epsilon, rel=1e-9)
    assert bs16_rho(epsilon, delta) <= rho  # CKS20 always allows at least as much
    assert bs16_epsilon(bs16_rho(epsilon, delta), delta) == pytest.approx(epsilon, rel=1e-12)


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("delta", DELTAS)
def test_epsilon_round_trip_is_tight_and_safe(rho, delta):
    epsilon = epsilon_from_rho(rho, delta)
    assert cdp_delta(rho, epsilon) <= delta < cdp_delta(rho, epsilon * (1 - 1e-9))
    assert rho_from_epsilon_delta(epsilon, delta) == pytest.approx(rho, rel=1e-9)
    assert epsilon <= bs16_epsilon(rho, delta)
    assert bs16_rho(bs16_epsilon(rho, delta), delta) == pytest.approx(rho, rel=1e-12)


def test_zero_rho_costs_nothing():
    assert epsilon_from_rho(0.0, 1e-9) == 0.0
    assert cdp_delta(0.0, 0.5) == 0.0
    assert Accountant(1.0).epsilon_spent(1e-9) == 0.0


@pytest.mark.parametrize(("rho", "epsilon"), [(1e6, 1.0), (1e-300, 1e-160), (5e-324, 1.0), (1e-3, 1e300)])
def test_cdp_delta_extremes_stay_in_unit_interval(rho, epsilon):
    assert 0.0 <= cdp_delta(rho, epsilon) <= 1.0


@pytest.mark.parametrize("sensitivity", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("rho", [1e-4, 0.01, 2.0])
def test_mechanism_cost_round_trips(sensitivity, rho):
    assert gaussian_rho(sensitivity, gaussian_sigma(sensitivity, rho)) == pytest.approx(rho, rel=1e-12)
    assert gaussian_rho(sensitivity, 1.0) == sensitivity**2 / 2
    assert exponential_mechanism_rho(exponential_mechanism_epsilon(rho)) == pytest.approx(rho, rel=1e-12)
    assert pure_dp_rho(1.0) == 4 * exponential_mechanism_rho(1.0)  # bounded range is 4x cheaper


@pytest.mark.parametrize("fn", [rho_from_epsilon_delta, bs16_rho, validate_epsilon_delta])
@pytest.mark.parametrize(("epsilon", "delta"), INVALID_EPSILON_DELTA)
def test_invalid_epsilon_delta_raises(fn, epsilon, delta):
    with pytest.raises(BudgetError) as err:
        fn(epsilon, delta)
    assert "\n" not in str(err.value) and ("epsilon" in str(err.value) or "delta" in str(err.value))


@pytest.mark.parametrize(("epsilon", "delta"), INVALID_EPSILON_DELTA)
def test_accountant_from_invalid_epsilon_delta_raises(epsilon, delta):
    with pytest.raises(BudgetError):
        Accountant.from_epsilon_delta(epsilon, delta)


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        (gaussian_sigma, (1.0, 0.0)),
        (gaussian_rho, (1.0, 0.0)),
        (gaussian_rho, (-1.0, 1.0)),
        (epsilon_from_rho, (-0.1, 1e-9)),
        (epsilon_from_rho, (0.1, 0.0)),
        (cdp_delta, (math.nan, 1.0)),
        (exponential_mechanism_epsilon, (-1.0,)),
        (Accountant, (-1.0,)),
        (Accountant, (math.inf,)),
    ],
)
def test_invalid_mechanism_arguments_raise(fn, args):
    with pytest.raises(BudgetError):
        fn(*args)


def test_composition_of_gaussians_adds_rhos():
    sigmas = [12.0, 20.0, 35.0, 80.0]
    acct = Accountant.from_epsilon_delta(1.0, 1e-9)
    for i, sigma in enumerate(sigmas):
        acct.spend(f"marginal-{i}", gaussian_rho(1.0, sigma), sigma=sigma)
    total = sum(1.0 / (2 * s**2) for s in sigmas)
    assert acct.spent == pytest.approx(total, rel=1e-12)
    assert acct.remaining == pytest.approx(acct.rho_budget - total, rel=1e-12)
    assert acct.epsilon_spent(1e-9) == pytest.approx(epsilon_from_rho(total, 1e-9), rel=1e-12)
    assert (acct.epsilon, acct.delta) == (1.0, 1e-9)
    assert [c.name for c in acct.charges] == [f"marginal-{i}" for i in range(len(sigmas))]


def test_overspend_is_refused_and_records_nothing():
    acct = Accountant(0.1)
    acct.spend("first", 0.06)
    before = (acct.spent, acct.remaining, acct.charges, acct.to_list())
    for rho in [0.05, 1.0, -0.01, math.nan, math.inf]:
        with pytest.raises(BudgetError) as err:
            acct.spend("too much", rho)
        assert "\n" not in str(err.value)
    assert (acct.spent, acct.remaining, acct.charges, acct.to_list()) == before
    acct.spend("the rest", 0.04)
    assert acct.remaining == 0.0


@pytest.mark.parametrize("n_shares", [2, 3, 7, 10, 97])
@pytest.mark.parametrize("budget", [1e-3, rho_from_epsilon_delta(1.0, 1e-9), 0.3])
def test_shares_summing_to_the_budget_all_fit(n_shares, budget):
    weights = np.random.default_rng(n_shares).uniform(0.1, 1.0, n_shares)
    shares = [budget / n_shares] * n_shares + list(budget * weights / weights.sum())
    for batch in (shares[:n_shares], shares[n_shares:]):
        acct = Accountant(budget)
        for i, share in enumerate(batch):
            acct.spend(f"share-{i}", share)
        assert acct.remaining >= 0.0
        assert acct.spent == pytest.approx(budget, rel=1e-12)
        with pytest.raises(BudgetError):
            acct.spend("one more", budget * 1e-6)


def test_rounding_tolerance_is_relative_and_tiny():
    acct = Accountant(1.0)
    acct.spend("almost all", 1.0 + 5e-10)
    with pytest.raises(BudgetError):
        Accountant(1.0).spend("too much", 1.0 + 1e-8)


def test_ledger_is_json_ready_and_charges_are_frozen():
    acct = Accountant(1.0)
    charge = acct.spend("two-way", np.float64(0.25), sigma=np.float64(1.4), clique=("age", "sex"), k=np.int64(3))
    assert charge == Charge("two-way", 0.25, {"sigma": 1.4, "clique": ("age", "sex"), "k": 3})
    with pytest.raises(dataclasses.FrozenInstanceError):
        charge.rho = 0.0  # type: ignore[misc]
    rows = acct.to_list()
    assert rows == [{"name": "two-way", "rho": 0.25, "sigma": 1.4, "clique": ["age", "sex"], "k": 3}]
    assert json.loads(json.dumps(rows)) == rows
    assert isinstance(acct.charges, tuple)


def test_module_imports_only_numeric_libraries_and_the_engine():
    tree = ast.parse(Path(acc.__file__).read_text())
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    allowed = {"__future__", "math", "collections", "dataclasses", "typing", "numpy", "scipy", "app"}
    for module in modules:
        root = module.split(".")[0]
        assert root in allowed and (root != "app" or module.startswith("app.engine.")), module
