"""Per-column fidelity: does each column, on its own, look like the real one?

Every metric compares one real column with its synthetic counterpart and is 0 for identical
distributions. :func:`column_metrics` runs them over a table and adds the histograms the report
draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance

from app.validation.encoding import FrameView, bin_labels, single_column, view
from app.validation.metadata import ColumnMeta, Metadata


def ks_statistic(real: pd.Series, synthetic: pd.Series, *, column: ColumnMeta) -> float:
    """Two-sample Kolmogorov–Smirnov statistic of a numeric or datetime column.

    Definition: the largest vertical gap between the two empirical CDFs, missing values dropped.
    Direction: lower is better. Range: [0, 1]; 0 for identical samples, 1 for disjoint supports
    (and 1 when one side is all missing while the other is not).
    """
    r, s = single_column(real, synthetic, column)
    return _ks(r.numeric(column.name), s.numeric(column.name))


def wasserstein_normalised(real: pd.Series, synthetic: pd.Series, *, column: ColumnMeta) -> float:
    """Wasserstein-1 (earth mover's) distance divided by the column's public range.

    Definition: W1 between the two empirical distributions (missing values dropped), divided by
    ``upper - lower`` of the declared (or inferred) domain. Direction: lower is better.
    Range: [0, 1] while values stay inside the domain; 0 for identical samples.
    """
    r, s = single_column(real, synthetic, column)
    return _w1(r.numeric(column.name), s.numeric(column.name), column.span)


def total_variation(real: pd.Series, synthetic: pd.Series, *, column: ColumnMeta) -> float:
    """Total variation distance between the label frequencies of a column.

    Definition: half the L1 distance between the two frequency vectors, missing and undeclared
    labels counted as labels of their own; numbers and dates are compared on their public bins.
    Direction: lower is better. Range: [0, 1]; 0 for identical frequencies, 1 for disjoint labels.
    """
    r, s = single_column(real, synthetic, column)
    return _tvd_of(r, s, column.name)


def missing_rate_difference(real: pd.Series, synthetic: pd.Series, *, column: ColumnMeta) -> float:
    """Absolute difference of the missing-value rates.

    Direction: lower is better. Range: [0, 1].
    """
    r, s = single_column(real, synthetic, column)
    return abs(_missing_rate(r, column) - _missing_rate(s, column))


def out_of_domain_share(real: pd.Series, synthetic: pd.Series, *, column: ColumnMeta) -> float:
    """Share of synthetic values outside the declared domain (``real`` is unused).

    Definition: numbers and dates below ``lower`` or above ``upper`` (and non-integers in an
    integer column); labels not among the declared categories. Missing values are not counted.
    Direction: lower is better; a release must score exactly 0. Range: [0, 1].
    """
    _, s = single_column(real, synthetic, column)
    return _out_of_domain(s, column)


def column_metrics(real: pd.DataFrame | FrameView, synthetic: pd.DataFrame | FrameView, *, metadata: Metadata) -> dict[str, Any]:
    """All per-column metrics, their worst and mean values, and real/synthetic histograms.

    Returns:
        ``{"values": {...}, "details": {...}}``. Values: ``ks_max``, ``ks_mean``,
        ``wasserstein_max`` (numbers and dates), ``tvd_max``, ``tvd_mean`` (categories),
        ``missing_rate_diff_max`` and ``out_of_domain_share_max``, each defined as in the
        per-column functions. Details: per-column values, the worst column of each, histograms.
    """
    r, s = view(real, metadata), view(synthetic, metadata)
    per_col: dict[str, dict[str, float]] = {}
    hists: dict[str, Any] = {}
    for col in metadata.columns:
        name = col.name
        row = {
            "missing_rate_diff": abs(_missing_rate(r, col) - _missing_rate(s, col)),
            "out_of_domain_share": _out_of_domain(s, col),
        }
        if col.numeric:
            row["ks"] = _ks(r.numeric(name), s.numeric(name))
            row["wasserstein"] = _w1(r.numeric(name), s.numeric(name), col.span)
        else:
            row["tvd"] = _tvd_of(r, s, name)
        per_col[name] = {k: round(v, 6) for k, v in row.items()}
        hists[name] = _histogram(r, s, col)

    def agg(key: str, fn: Any) -> float:
        vals = [row[key] for row in per_col.values() if key in row]
        return float(fn(vals)) if vals else 0.0

    values = {
        "ks_max": agg("ks", np.max),
        "ks_mean": agg("ks", np.mean),
        "wasserstein_max": agg("wasserstein", np.max),
        "tvd_max": agg("tvd", np.max),
        "tvd_mean": agg("tvd", np.mean),
        "missing_rate_diff_max": agg("missing_rate_diff", np.max),
        "out_of_domain_share_max": agg("out_of_domain_share", np.max),
    }
    worst = {}
    for key in ("ks", "wasserstein", "tvd", "out_of_domain_share"):
        having = [n for n in per_col if key in per_col[n]]
        if having:
            worst[key] = max(having, key=lambda n: per_col[n][key])
    return {"values": values, "details": {"columns": per_col, "worst": worst, "histograms": hists}}


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.sort(a[np.isfinite(a)]), np.sort(b[np.isfinite(b)])
    if a.size == 0 or b.size == 0:
        return 0.0 if a.size == b.size else 1.0
    grid = np.concatenate([a, b])
    gap = np.abs(np.searchsorted(a, grid, side="right") / a.size - np.searchsorted(b, grid, side="right") / b.size)
    return float(gap.max())


def _w1(a: np.ndarray, b: np.ndarray, span: float) -> float:
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return 0.0 if a.size == b.size else 1.0
    return float(wasserstein_distance(a, b) / span)


def _tvd_of(r: FrameView, s: FrameView, name: str) -> float:
    (a, k), (b, _) = r.bins(name), s.bins(name)
    return tvd(np.bincount(a, minlength=k), np.bincount(b, minlength=k))


def tvd(p: np.ndarray, q: np.ndarray) -> float:
    """Total variation distance of two count (or frequency) vectors of the same cells."""
    p = p / max(p.sum(), 1e-300)
    q = q / max(q.sum(), 1e-300)
    return float(0.5 * np.abs(p - q).sum())


def _missing_rate(v: FrameView, col: ColumnMeta) -> float:
    if len(v) == 0:
        return 0.0
    if col.numeric:
        return float(np.isnan(v.numeric(col.name)).mean())
    return float((v.codes(col.name) < 0).mean())


def _out_of_domain(s: FrameView, col: ColumnMeta) -> float:
    if len(s) == 0:
        return 0.0
    if col.numeric:
        x = s.numeric(col.name)
        bad = np.zeros(x.shape, dtype=bool)
        if col.lower is not None:
            bad |= x < col.lower - 1e-9 * max(1.0, abs(col.lower))
        if col.upper is not None:
            bad |= x > col.upper + 1e-9 * max(1.0, abs(col.upper))
        if col.type == "integer":
            finite = np.isfinite(x)
            bad[finite] |= np.abs(x[finite] - np.round(x[finite])) > 1e-9
        return float(bad.mean())
    if col.categories is None:
        return 0.0
    return float((s.codes(col.name) == len(col.categories)).mean())


def _histogram(r: FrameView, s: FrameView, col: ColumnMeta) -> dict[str, Any]:
    (a, k), (b, _) = r.bins(col.name), s.bins(col.name)
    pr = np.bincount(a, minlength=k) / max(len(a), 1)
    ps = np.bincount(b, minlength=k) / max(len(b), 1)
    labels = bin_labels(col)
    keep = [i for i in range(k) if pr[i] > 0 or ps[i] > 0]
    if len(keep) > 40:  # long category lists: the 40 most frequent labels carry the picture
        keep = sorted(sorted(keep, key=lambda i: -(pr[i] + ps[i]))[:40])
    return {
        "numeric": col.numeric,
        "labels": [labels[i] for i in keep],
        "real": [round(float(pr[i]), 6) for i in keep],
        "synthetic": [round(float(ps[i]), 6) for i in keep],
    }
