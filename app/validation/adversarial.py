"""Adversarial validation: can a classifier tell synthetic records from real ones?"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from app.validation.encoding import FrameView, ModelEncoder, row_hashes, view
from app.validation.metadata import Metadata
from app.validation.models import fit_classifier


def adversarial_auc(
    real: pd.DataFrame | FrameView,
    synthetic: pd.DataFrame | FrameView,
    *,
    metadata: Metadata,
    seed: int = 0,
    max_rows: int = 10_000,
    folds: int = 3,
    iterations: int = 100,
    top: int = 5,
) -> dict[str, Any]:
    """Cross-validated ROC AUC of a real-vs-synthetic classifier, and the columns it relies on.

    Definition: up to ``max_rows`` rows of each side are labelled real (0) / synthetic (1); a
    gradient-boosting classifier on every column is scored by stratified ``folds``-fold CV ROC
    AUC (the mean over folds). Identical rows always share a fold: a synthetic copy of a real
    row in the training folds would otherwise teach the model the opposite label for its twin
    and push the AUC far below 0.5. Reliance on a column is the AUC lost on the first fold's
    test rows when that column is shuffled (permutation importance).
    Direction: lower is better; 0.5 means indistinguishable. Range: [0, 1] (values under 0.5
    are chance fluctuations).

    Returns:
        ``{"values": {"auc"}, "details": {"fold_aucs", "top_features": [{"column", "importance"}],
        "rows"}}``
    """
    rng = np.random.default_rng(seed)
    r, s = view(real, metadata), view(synthetic, metadata)
    r = r.take(_sample(len(r), max_rows, rng))
    s = s.take(_sample(len(s), max_rows, rng))
    names = metadata.names
    enc = ModelEncoder(metadata, names).fit(r)
    x = np.vstack([enc.transform(r), enc.transform(s)])
    y = np.r_[np.zeros(len(r), dtype=int), np.ones(len(s), dtype=int)]
    if len(r) < folds or len(s) < folds:
        return {"values": {"auc": None}, "details": {"reason": "too few rows"}}
    fold = _grouped_folds(np.r_[row_hashes(r, names), row_hashes(s, names)], y, folds, rng)
    aucs, importance = [], {}
    for k in range(folds):
        tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        model = fit_classifier(x[tr], y[tr], enc, seed=seed, iterations=iterations)
        auc = roc_auc_score(y[te], model.predict_proba(x[te])[:, 1])
        aucs.append(float(auc))
        if k == 0:
            xt = x[te].copy()
            for j, name in enumerate(names):
                saved = xt[:, j].copy()
                xt[:, j] = rng.permutation(saved)
                importance[name] = float(auc - roc_auc_score(y[te], model.predict_proba(xt)[:, 1]))
                xt[:, j] = saved
    ranked = sorted(importance, key=importance.__getitem__, reverse=True)[:top]
    return {
        "values": {"auc": float(np.mean(aucs))},
        "details": {
            "fold_aucs": aucs,
            "top_features": [{"column": n, "importance": round(importance[n], 4)} for n in ranked],
            "rows": {"real": len(r), "synthetic": len(s)},
        },
    }


def _grouped_folds(groups: np.ndarray, y: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """A fold per row: rows with equal ``groups`` share one, dealt round-robin in random order
    within each kind of group (all real, all synthetic, both), so the folds stay stratified."""
    uniq, inverse = np.unique(groups, return_inverse=True)
    synthetic_share = np.bincount(inverse, weights=y, minlength=len(uniq)) / np.bincount(inverse, minlength=len(uniq))
    kind = np.where(synthetic_share == 0, 0, np.where(synthetic_share == 1, 1, 2))
    group_fold = np.empty(len(uniq), dtype=int)
    for k in range(3):
        members = rng.permutation(np.flatnonzero(kind == k))
        group_fold[members] = np.arange(len(members)) % folds
    return group_fold[inverse]


def _sample(n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, cap, replace=False)) if n > cap else np.arange(n)
