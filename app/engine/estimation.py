"""Post-processing of noisy marginals into one consistent model (no privacy cost).

The noisy measurements disagree with each other and hold negative counts. These functions turn
them into non-negative tables that share their margins: a Euclidean projection onto the
simplex (the least-squares non-negative table with a given total), inverse-variance pooling of
every estimate of the same 1-way marginal, and iterative proportional fitting (IPF) of 2- and
3-way tables to agreed margins. IPF from a uniform start to a set of 2-way margins gives the
maximum-entropy table with those margins, the same model Private-PGM fits for a junction tree.
"""

from __future__ import annotations

import numpy as np


def project_simplex(y: np.ndarray, total: float) -> np.ndarray:
    """Closest (L2) non-negative array to ``y`` whose entries sum to ``total``.

    >>> project_simplex(np.array([5.0, -1.0, 2.0]), 6.0).tolist()
    [4.5, 0.0, 1.5]
    """
    flat = np.asarray(y, dtype=float).ravel()
    if total <= 0:
        return np.zeros_like(y, dtype=float)
    u = np.sort(flat)[::-1]
    css = np.cumsum(u) - total
    idx = np.arange(1, flat.size + 1)
    k = np.nonzero(u - css / idx > 0)[0][-1]
    tau = css[k] / (k + 1)
    return np.maximum(np.asarray(y, dtype=float) - tau, 0.0)


def pool(estimates: list[np.ndarray], variances: list[float]) -> tuple[np.ndarray, float]:
    """Inverse-variance weighted mean of unbiased estimates with per-cell variances.

    >>> est, var = pool([np.array([10.0]), np.array([20.0])], [1.0, 1.0])
    >>> est.tolist(), var
    ([15.0], 0.5)
    """
    w = np.array([1.0 / v for v in variances])
    stacked = np.stack(estimates)
    est = np.tensordot(w, stacked, axes=1) / w.sum()
    return est, float(1.0 / w.sum())


def ipf(
    table: np.ndarray, margins: list[tuple[tuple[int, ...], np.ndarray]], iterations: int = 50, tol: float = 1e-7
) -> np.ndarray:
    """Scale ``table`` until its sums over the given axes match each target margin.

    Args:
        table: positive start (uniform for maximum entropy).
        margins: ``(kept_axes, target)`` pairs, axes ascending; ``target`` has the shape of those axes.
        iterations: most sweeps over all margins.
        tol: stop once every margin is within ``tol`` (relative to the total).

    >>> t = ipf(np.ones((2, 2)), [((0,), np.array([3.0, 1.0])), ((1,), np.array([2.0, 2.0]))])
    >>> t.round(3).tolist()
    [[1.5, 1.5], [0.5, 0.5]]
    """
    t = np.array(table, dtype=float)
    total = max(float(sum(m.sum() for _, m in margins)) / max(len(margins), 1), 1e-12)
    for _ in range(iterations):
        worst = 0.0
        for axes, target in margins:
            drop = tuple(a for a in range(t.ndim) if a not in axes)
            current = t.sum(axis=drop, keepdims=True)
            goal = np.asarray(target, dtype=float).reshape(current.shape)
            worst = max(worst, float(np.abs(current - goal).max()) / total)
            t *= np.divide(goal, current, out=np.zeros_like(goal), where=current > 0)
        if worst < tol:
            break
    return t


def consistent_pair(
    noisy: np.ndarray, row_margin: np.ndarray, col_margin: np.ndarray, floor: float, iterations: int = 50
) -> np.ndarray:
    """A non-negative 2-way table close to ``noisy`` with the given margins.

    The noisy table is projected onto the simplex (total = the margins' total), floored at
    ``floor`` so that IPF can reach margins the projection zeroed, then fitted by IPF.
    """
    total = float(row_margin.sum())
    start = project_simplex(noisy, total) + floor
    return ipf(start, [((0,), row_margin), ((1,), col_margin)], iterations)
