"""Joint fidelity: are the relationships between columns kept, not just each column alone?

All metrics work on the public binning of :mod:`app.validation.encoding` (numbers on their
declared edges or equal-width bins over the public range, categories as declared), except the
correlation difference, which uses the numbers themselves.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from app.validation.columns import tvd
from app.validation.encoding import FrameView, view
from app.validation.metadata import Metadata


def correlation_difference(
    real: pd.DataFrame | FrameView,
    synthetic: pd.DataFrame | FrameView,
    *,
    metadata: Metadata,
    method: str = "pearson",
) -> dict[str, Any]:
    """Pairwise correlation difference of the numeric (and date) columns.

    Definition: ``|corr_real(i, j) - corr_synthetic(i, j)|`` for every pair of numeric columns
    (Pearson or Spearman, pairwise-complete rows; a constant column correlates 0).
    Direction: lower is better. Range: [0, 2] per pair; 0 when every correlation is kept.

    Returns:
        ``{"max", "mean", "columns", "real", "synthetic", "difference"}`` (matrices as lists);
        ``max`` and ``mean`` are 0 with fewer than two numeric columns.
    """
    r, s = view(real, metadata), view(synthetic, metadata)
    names = [c.name for c in metadata.columns if c.numeric]
    if len(names) < 2:
        return {"max": 0.0, "mean": 0.0, "columns": names, "real": [], "synthetic": [], "difference": []}
    cr, cs = _corr(r, names, method), _corr(s, names, method)
    diff = np.abs(cr - cs)
    upper = diff[np.triu_indices(len(names), 1)]
    return {
        "max": float(upper.max()),
        "mean": float(upper.mean()),
        "columns": names,
        "real": _rounded(cr),
        "synthetic": _rounded(cs),
        "difference": _rounded(diff),
    }


def cramers_v(counts: np.ndarray) -> float:
    """Cramér's V of a two-way contingency table (no bias correction; empty rows/columns dropped).

    Range: [0, 1]; 0 for independence, 1 for a deterministic association.
    """
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    n = counts.sum()
    k = min(counts.shape) - 1
    if n == 0 or k < 1:
        return 0.0
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    return float(np.sqrt(min(chi2 / (n * k), 1.0)))


def pairwise_association(
    real: pd.DataFrame | FrameView,
    synthetic: pd.DataFrame | FrameView,
    *,
    metadata: Metadata,
) -> dict[str, Any]:
    """Cramér's V difference and contingency-table TVD for every pair of columns, after binning.

    Definitions: for each pair, ``|V_real - V_synthetic|`` and the total variation distance
    between the two 2-way tables of bin frequencies. Direction: lower is better.
    Range: [0, 1] for both; 0 when every pairwise table is reproduced.

    Returns:
        ``{"cramers_v_diff_max", "cramers_v_diff_mean", "contingency_tvd_max",
        "contingency_tvd_mean", "columns", "cramers_v_diff"}`` (the last a symmetric matrix).
    """
    r, s = view(real, metadata), view(synthetic, metadata)
    names = metadata.names
    v_diff = np.zeros((len(names), len(names)))
    tvds, vds = [], []
    for (i, a), (j, b) in combinations(enumerate(names), 2):
        tr, ts = _table(r, (a, b)), _table(s, (a, b))
        tvds.append(tvd(tr, ts))
        vd = abs(cramers_v(tr.reshape(tr.shape[0], -1)) - cramers_v(ts.reshape(ts.shape[0], -1)))
        v_diff[i, j] = v_diff[j, i] = vd
        vds.append(vd)
    empty = not vds
    return {
        "cramers_v_diff_max": 0.0 if empty else float(np.max(vds)),
        "cramers_v_diff_mean": 0.0 if empty else float(np.mean(vds)),
        "contingency_tvd_max": 0.0 if empty else float(np.max(tvds)),
        "contingency_tvd_mean": 0.0 if empty else float(np.mean(tvds)),
        "columns": names,
        "cramers_v_diff": _rounded(v_diff),
    }


def three_way_tvd(
    real: pd.DataFrame | FrameView,
    synthetic: pd.DataFrame | FrameView,
    *,
    metadata: Metadata,
    target: str | None = None,
) -> dict[str, Any]:
    """Total variation distance over all 3-way marginals that include the target, after binning.

    Definition: for every pair of other columns ``(a, b)``, the TVD between the real and the
    synthetic frequency tables of ``(a, b, target)``; reported as mean and max over the pairs.
    Direction: lower is better. Range: [0, 1]. Without a target (or with fewer than three
    columns) both are ``None``.
    """
    r, s = view(real, metadata), view(synthetic, metadata)
    target = target or metadata.target
    others = [n for n in metadata.names if n != target]
    if target is None or len(others) < 2:
        return {"mean": None, "max": None, "worst": None, "triples": 0}
    scores = {(a, b): tvd(_table(r, (a, b, target)), _table(s, (a, b, target))) for a, b in combinations(others, 2)}
    worst = max(scores, key=scores.__getitem__)
    return {
        "mean": float(np.mean(list(scores.values()))),
        "max": float(scores[worst]),
        "worst": [*worst, target],
        "triples": len(scores),
    }


def joint_metrics(
    real: pd.DataFrame | FrameView,
    synthetic: pd.DataFrame | FrameView,
    *,
    metadata: Metadata,
    correlation: str = "pearson",
) -> dict[str, Any]:
    """Every joint metric, as ``{"values": {...}, "details": {...}}`` for the gates.

    Values: ``correlation_diff_max``/``_mean``, ``cramers_v_diff_max``/``_mean``,
    ``contingency_tvd_max``/``_mean`` and ``three_way_tvd_mean``/``_max`` (None without a target).
    """
    r, s = view(real, metadata), view(synthetic, metadata)
    corr = correlation_difference(r, s, metadata=metadata, method=correlation)
    assoc = pairwise_association(r, s, metadata=metadata)
    triple = three_way_tvd(r, s, metadata=metadata)
    values = {
        "correlation_diff_max": corr["max"],
        "correlation_diff_mean": corr["mean"],
        **{
            k: assoc[k]
            for k in (
                "cramers_v_diff_max",
                "cramers_v_diff_mean",
                "contingency_tvd_max",
                "contingency_tvd_mean",
            )
        },
        "three_way_tvd_mean": triple["mean"],
        "three_way_tvd_max": triple["max"],
    }
    details = {
        "correlation": corr,
        "cramers_v": {"columns": assoc["columns"], "difference": assoc["cramers_v_diff"]},
        "three_way": triple,
    }
    return {"values": values, "details": details}


def _table(v: FrameView, names: tuple[str, ...]) -> np.ndarray:
    """Counts of the bin combinations of ``names`` as an array of shape (k1, k2, ...)."""
    flat = np.zeros(len(v), dtype=np.int64)
    shape = []
    for name in names:
        codes, k = v.bins(name)
        flat = flat * k + codes
        shape.append(k)
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(float)


def _corr(v: FrameView, names: list[str], method: str) -> np.ndarray:
    frame = pd.DataFrame({n: v.numeric(n) for n in names})
    out = frame.corr(method=method).to_numpy()
    return np.nan_to_num(out, nan=0.0)


def _rounded(m: np.ndarray) -> list[list[float]]:
    return np.round(m, 4).tolist()
