"""Causal-effect preservation: does the synthetic data tell the same treatment-effect story?

For a declared treatment, outcome and confounders, the average treatment effect (ATE) is
estimated on the real holdout and on the synthetic data by two estimators, each with a
bootstrap confidence interval:

* regression adjustment: separate linear outcome models for treated and control rows (ridge,
  standardised confounders), ATE = mean over all rows of ``mu1(x) - mu0(x)``;
* inverse-propensity weighting: a logistic propensity model (Newton steps, ridge), propensities
  clipped to [0.01, 0.99], normalised (Hajek) weighted mean difference.

The bootstrap resamples rows in blocks: rows are shuffled into ``blocks`` random blocks whose
sufficient statistics (``X'X``, ``X'y`` per arm; weighted sums for IPW) are computed once, and
each replicate draws blocks with replacement. For iid rows this has the row bootstrap's
variance for these smooth statistics, at the cost of a few small matrix sums per replicate.
The propensity model is not refitted per replicate, which (Hirano, Imbens and Ridder 2003)
can only widen the IPW interval.

The treatment is made binary by ``treated_value`` (a label, or for numbers a threshold: treated
when the value is above it); a categorical outcome by ``outcome_positive``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from app.validation.encoding import FrameView, view
from app.validation.metadata import Metadata

ESTIMATORS = ("regression", "ipw")
_RIDGE = 1e-3
_CLIP = 0.01


def average_treatment_effect(
    data: pd.DataFrame | FrameView,
    *,
    metadata: Metadata,
    treatment: str | None = None,
    outcome: str | None = None,
    confounders: list[str] | None = None,
    bootstrap: int = 200,
    blocks: int = 100,
    max_rows: int = 20_000,
    seed: int = 0,
    level: float = 0.95,
    reference: pd.DataFrame | FrameView | None = None,
) -> dict[str, Any]:
    """ATE of the treatment on the outcome in ``data``, by both estimators, with bootstrap CIs.

    Args:
        data: the rows to estimate on (at most ``max_rows`` are sampled).
        reference: rows that fix the confounder encoding (means, scales, category levels);
            defaults to ``data``. Pass the real data so both sides use one design.

    Returns:
        ``{"regression": {"ate", "low", "high"}, "ipw": {...}, "rows": n}``; None values when
        one arm is empty.
    """
    v = view(data, metadata)
    ref = view(reference, metadata) if reference is not None else v
    spec = _spec(metadata, treatment, outcome, confounders)
    rng = np.random.default_rng(seed)
    if len(v) > max_rows:
        v = v.take(np.sort(rng.choice(len(v), max_rows, replace=False)))
    design = _Design(ref, metadata, spec["confounders"])
    x = design.matrix(v)
    t = _binary_treatment(v, metadata, spec["treatment"], ref)
    y = _outcome(v, metadata, spec["outcome"])
    ok = np.isfinite(y) & (t >= 0)
    x, t, y = x[ok], t[ok].astype(bool), y[ok]
    out: dict[str, Any] = {"rows": len(y), "treated_share": float(t.mean()) if len(t) else None}
    if t.sum() < 2 or (~t).sum() < 2:
        for est in ESTIMATORS:
            out[est] = {"ate": None, "low": None, "high": None}
        return out
    beta = _logistic(x, t.astype(float), np.zeros(x.shape[1]), iterations=15)
    e = np.clip(1 / (1 + np.exp(-np.clip(x @ beta, -30, 30))), _CLIP, 1 - _CLIP)
    whole, one_block = np.ones((1, 1)), np.zeros(len(y), dtype=int)
    point = {
        "regression": _ate_regression(*(a[0] for a in _regression_stats(x, t, y, whole, one_block))),
        "ipw": _ate_ipw(*(a[0] for a in _ipw_stats(t, y, e, whole, one_block))),
    }
    m = int(min(blocks, max(len(y) // 5, 2)))
    block = rng.permutation(len(y)) % m
    counts = rng.multinomial(m, np.full(m, 1.0 / m), size=bootstrap)
    reg = _regression_stats(x, t, y, counts, block)
    ipw = _ipw_stats(t, y, e, counts, block)
    draws = {
        "regression": [_ate_regression(*(a[b] for a in reg)) for b in range(bootstrap)],
        "ipw": [_ate_ipw(*(a[b] for a in ipw)) for b in range(bootstrap)],
    }
    draws = {k: [d for d in v if np.isfinite(d)] for k, v in draws.items()}
    alpha = (1 - level) / 2
    for est in ESTIMATORS:
        d = np.asarray(draws[est])
        low, high = np.quantile(d, [alpha, 1 - alpha]) if d.size else (point[est], point[est])
        out[est] = {"ate": float(point[est]), "low": float(low), "high": float(high)}
    return out


def causal_preservation(
    real: pd.DataFrame | FrameView,
    synthetic: pd.DataFrame | FrameView,
    *,
    metadata: Metadata,
    treatment: str | None = None,
    outcome: str | None = None,
    confounders: list[str] | None = None,
    bootstrap: int = 200,
    blocks: int = 100,
    max_rows: int = 20_000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Compare the ATE on real data (pass the holdout) with the ATE on synthetic data.

    Definitions, each the worst over the two estimators:

    * ``sign_agreement``: 1 if the real and synthetic point estimates have the same sign
      (both exactly 0 agrees), else 0. Higher is better; range {0, 1}.
    * ``ci_overlap``: interval overlap of the two bootstrap CIs, the mean of the overlap length
      divided by each interval's length (Karr et al. 2006); 1 for identical intervals, 0 when
      disjoint. Higher is better; range [0, 1].
    * ``relative_difference``: ``|ATE_syn - ATE_real| / |ATE_real|``. Lower is better;
      range [0, inf).

    Returns:
        ``{"values": {...}, "details": {"real": {...}, "synthetic": {...}, "spec": {...}}}``;
        values are None when no treatment/outcome is declared or an arm is empty.
    """
    try:
        spec = _spec(metadata, treatment, outcome, confounders)
    except ValueError as exc:
        return {"values": _none(), "details": {"reason": str(exc)}}
    r = view(real, metadata)
    kw = dict(
        metadata=metadata,
        bootstrap=bootstrap,
        blocks=blocks,
        max_rows=max_rows,
        level=level,
        reference=r,
        **spec,
    )
    est_r = average_treatment_effect(r, seed=seed, **kw)
    est_s = average_treatment_effect(view(synthetic, metadata), seed=seed + 1, **kw)
    details = {"real": est_r, "synthetic": est_s, "spec": spec}
    if any(est_r[e]["ate"] is None or est_s[e]["ate"] is None for e in ESTIMATORS):
        return {"values": _none(), "details": {**details, "reason": "an arm is empty"}}
    signs, overlaps, rels = [], [], []
    for e in ESTIMATORS:
        a, b = est_r[e], est_s[e]
        signs.append(float(np.sign(a["ate"]) == np.sign(b["ate"])))
        overlaps.append(interval_overlap((a["low"], a["high"]), (b["low"], b["high"])))
        rels.append(abs(b["ate"] - a["ate"]) / abs(a["ate"]) if a["ate"] != 0 else float(b["ate"] != 0) * np.inf)
    values = {
        "sign_agreement": min(signs),
        "ci_overlap": min(overlaps),
        "relative_difference": float(max(rels)),
    }
    return {"values": values, "details": details}


def interval_overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Karr's interval overlap: mean over both intervals of (overlap length / own length), in [0, 1]."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter < 0:
        return 0.0
    parts = [inter / (hi - lo) if hi > lo else 1.0 for lo, hi in (a, b)]
    return float(np.clip(np.mean(parts), 0.0, 1.0))


def _none() -> dict[str, None]:
    return {"sign_agreement": None, "ci_overlap": None, "relative_difference": None}


def _spec(metadata: Metadata, treatment: str | None, outcome: str | None, confounders: list[str] | None) -> dict[str, Any]:
    treatment = treatment or metadata.treatment
    outcome = outcome or metadata.outcome
    if treatment is None or outcome is None:
        raise ValueError("no treatment and outcome declared")
    if confounders is None:
        confounders = list(metadata.confounders) or [n for n in metadata.names if n not in (treatment, outcome)]
    return {"treatment": treatment, "outcome": outcome, "confounders": list(confounders)}


class _Design:
    """Confounder design matrix: intercept, standardised numbers (missing -> mean + flag), one-hot labels."""

    def __init__(self, ref: FrameView, metadata: Metadata, names: list[str]) -> None:
        self.metadata, self.names, self.stats = metadata, names, {}
        for n in names:
            col = metadata.column(n)
            if col.numeric:
                x = ref.numeric(n)
                mu, sd = float(np.nanmean(x)) if np.isfinite(x).any() else 0.0, float(np.nanstd(x))
                self.stats[n] = (mu, sd if sd > 0 else 1.0, bool(np.isnan(x).any()))
            else:
                counts = np.bincount(ref.codes(n) + 1, minlength=len(col.categories or ()) + 2)
                levels = [c - 1 for c in np.flatnonzero(counts) if c > 0]  # observed codes
                self.stats[n] = levels[1:]  # first level is the baseline

    def matrix(self, v: FrameView) -> np.ndarray:
        blocks = [np.ones((len(v), 1))]
        for n in self.names:
            st = self.stats[n]
            if isinstance(st, tuple):
                mu, sd, flag = st
                x = v.numeric(n)
                miss = np.isnan(x)
                blocks.append(((np.where(miss, mu, x) - mu) / sd)[:, None])
                if flag:
                    blocks.append(miss[:, None].astype(float))
            elif st:
                codes = v.codes(n)
                blocks.append((codes[:, None] == np.asarray(st)[None, :]).astype(float))
        return np.hstack(blocks)


def _binary_treatment(v: FrameView, metadata: Metadata, name: str, ref: FrameView) -> np.ndarray:
    """1 treated, 0 control, -1 missing."""
    col = metadata.column(name)
    value = metadata.treated_value
    if col.numeric:
        x = v.numeric(name)
        threshold = float(value) if value is not None else float(np.nanmedian(ref.numeric(name)))
        return np.where(np.isnan(x), -1, (x > threshold).astype(int))
    label = metadata.positive_label_of(name, value)
    if label is None:
        raise ValueError(f"treatment {name!r} needs a treated_value")
    codes = v.codes(name)
    idx = list(col.categories or ()).index(str(label))
    return np.where(codes < 0, -1, (codes == idx).astype(int))


def _outcome(v: FrameView, metadata: Metadata, name: str) -> np.ndarray:
    col = metadata.column(name)
    if col.numeric:
        return v.numeric(name)
    positive = metadata.outcome_positive
    if positive is None and name == metadata.target:
        positive = metadata.positive_label
    label = metadata.positive_label_of(name, positive)
    if label is None:
        raise ValueError(f"outcome {name!r} needs an outcome_positive label")
    codes = v.codes(name)
    idx = list(col.categories or ()).index(str(label))
    return np.where(codes < 0, np.nan, (codes == idx).astype(float))


def _block_sums(values: np.ndarray, counts: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Per replicate, the sum of ``values`` (one row per data row) over the drawn blocks."""
    member = (block[None, :] == np.arange(counts.shape[1])[:, None]).astype(float)
    return counts @ (member @ values.reshape(len(values), -1))


def _regression_stats(
    x: np.ndarray, t: np.ndarray, y: np.ndarray, counts: np.ndarray, block: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Replicate sums: X'X and X'y of each arm, the sum of x and the row count."""
    m, p = counts.shape[1], x.shape[1]
    gram = np.zeros((2, m, p, p))
    for k in range(m):
        rows = block == k
        for arm in (0, 1):
            xa = x[rows & (t == bool(arm))]
            gram[arm, k] = xa.T @ xa
    flat = gram.reshape(2, m, p * p)
    xtx0, xtx1 = ((counts @ flat[a]).reshape(-1, p, p) for a in (0, 1))
    t1 = t[:, None].astype(float)
    xty1 = _block_sums(x * (y[:, None] * t1), counts, block)
    xty0 = _block_sums(x * (y[:, None] * (1 - t1)), counts, block)
    return (
        xtx1,
        xty1,
        xtx0,
        xty0,
        _block_sums(x, counts, block),
        _block_sums(np.ones((len(x), 1)), counts, block),
    )


def _ate_regression(
    xtx1: np.ndarray, xty1: np.ndarray, xtx0: np.ndarray, xty0: np.ndarray, sx: np.ndarray, n: np.ndarray
) -> float:
    """Ridge outcome model per arm from its sums; ATE = mean x times the coefficient difference."""
    rows = float(np.ravel(n)[0])
    if rows <= 0:
        return float("nan")
    penalty = _RIDGE * rows * np.eye(len(sx))
    penalty[0, 0] = 0.0
    try:
        b1 = np.linalg.solve(xtx1 + penalty, xty1)
        b0 = np.linalg.solve(xtx0 + penalty, xty0)
    except np.linalg.LinAlgError:
        return float("nan")
    return float(sx @ (b1 - b0) / rows)


def _ipw_stats(t: np.ndarray, y: np.ndarray, e: np.ndarray, counts: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, ...]:
    w1, w0 = t / e, (~t) / (1 - e)
    sums = _block_sums(np.column_stack([w1 * y, w1, w0 * y, w0]), counts, block)
    return tuple(sums[:, k] for k in range(4))


def _ate_ipw(s1y: float, s1: float, s0y: float, s0: float) -> float:
    """Hajek IPW difference from the weighted sums."""
    if s1 <= 0 or s0 <= 0:
        return float("nan")
    return float(s1y / s1 - s0y / s0)


def _logistic(x: np.ndarray, t: np.ndarray, beta: np.ndarray, *, iterations: int) -> np.ndarray:
    penalty = _RIDGE * len(t) * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    beta = beta.copy()
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -30, 30)))
        grad = x.T @ (t - p) - penalty @ beta
        hess = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.abs(step).max() < 1e-4:
            break
    return beta
