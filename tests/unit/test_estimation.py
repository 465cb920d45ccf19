"""Post-processing estimators, cross-checked against Private-PGM (mbi) on the same measurements."""

import numpy as np
import pytest

from app.engine.estimation import consistent_pair, ipf, pool, project_simplex


def test_projection_is_nonnegative_with_the_requested_total():
    rng = np.random.default_rng(0)
    for _ in range(50):
        y = rng.normal(0, 10, size=rng.integers(2, 40))
        total = float(rng.uniform(1, 100))
        x = project_simplex(y, total)
        assert (x >= 0).all() and x.sum() == pytest.approx(total)


def test_ipf_reaches_maximum_entropy_for_independent_margins():
    rows, cols = np.array([0.2, 0.8]), np.array([0.5, 0.3, 0.2])
    t = ipf(np.ones((2, 3)), [((0,), rows), ((1,), cols)])
    assert np.allclose(t, np.outer(rows, cols))


def test_three_way_ipf_matches_all_pair_margins():
    rng = np.random.default_rng(1)
    truth = rng.dirichlet(np.ones(24)).reshape(2, 3, 4)
    fits = [((0, 1), truth.sum(2)), ((0, 2), truth.sum(1)), ((1, 2), truth.sum(0))]
    t = ipf(np.full(truth.shape, 1 / 24), fits, iterations=500, tol=1e-10)
    for axes, target in fits:
        drop = tuple(a for a in range(3) if a not in axes)
        assert np.allclose(t.sum(drop), target, atol=1e-8)


def test_pooling_weights_by_inverse_variance():
    est, var = pool([np.array([0.0]), np.array([3.0])], [1.0, 2.0])
    assert est[0] == pytest.approx(1.0) and var == pytest.approx(2 / 3)


@pytest.mark.slow
def test_pair_estimates_agree_with_private_pgm():
    """Our closed-form post-processing and mbi's MirrorDescent fit the same noisy chain A-B-C."""
    mbi = pytest.importorskip("mbi")
    import jax

    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(0)
    n = 20_000
    a = rng.integers(0, 3, n)
    b = (a + rng.integers(0, 2, n)) % 4
    c = (b + (rng.random(n) < 0.2)) % 2
    sizes = {"A": 3, "B": 4, "C": 2}
    data = {"A": a, "B": b, "C": c}
    sigma = 40.0

    def noisy(*names):
        idx = np.ravel_multi_index([data[k] for k in names], [sizes[k] for k in names])
        counts = np.bincount(idx, minlength=int(np.prod([sizes[k] for k in names]))).astype(float)
        return counts + rng.normal(0, sigma, counts.size)

    one = {k: noisy(k) for k in sizes}
    pairs = {("A", "B"): noisy("A", "B"), ("B", "C"): noisy("B", "C")}
    ms = [mbi.LinearMeasurement(y, (k,), stddev=sigma) for k, y in one.items()]
    ms += [mbi.LinearMeasurement(y, p, stddev=sigma) for p, y in pairs.items()]
    model = mbi.estimation.MirrorDescent().estimate(mbi.Domain(list(sizes), list(sizes.values())), ms, iters=2000)

    total, _ = pool([np.array([y.sum()]) for y in one.values()], [sigma**2 * y.size for y in one.values()])
    n_hat = float(total[0])
    margins = {}
    for k in sizes:
        ests, vars_ = [one[k]], [sigma**2]
        for (p, q), y in pairs.items():
            table = y.reshape(sizes[p], sizes[q])
            if k == p:
                ests.append(table.sum(1)), vars_.append(sigma**2 * sizes[q])
            if k == q:
                ests.append(table.sum(0)), vars_.append(sigma**2 * sizes[p])
        margins[k] = project_simplex(pool(ests, vars_)[0], n_hat)
    for (p, q), y in pairs.items():
        ours = consistent_pair(y.reshape(sizes[p], sizes[q]), margins[p], margins[q], 1e-3)
        theirs = np.asarray(model.project((p, q)).datavector()).reshape(sizes[p], sizes[q])
        truth = np.bincount(
            np.ravel_multi_index([data[p], data[q]], [sizes[p], sizes[q]]), minlength=sizes[p] * sizes[q]
        ).reshape(sizes[p], sizes[q])
        ours_tvd = 0.5 * np.abs(ours / ours.sum() - truth / n).sum()
        theirs_tvd = 0.5 * np.abs(theirs / theirs.sum() - truth / n).sum()
        agree = 0.5 * np.abs(ours / ours.sum() - theirs / theirs.sum()).sum()
        assert agree < 0.01, (p, q, agree)
        assert ours_tvd < theirs_tvd + 0.005, (p, q, ours_tvd, theirs_tvd)
