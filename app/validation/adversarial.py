"""Adversarial validation: can a classifier tell synthetic records from real ones?"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from app.validation.encoding import FrameView, ModelEncoder, view
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
    AUC (the mean over folds). Reliance on a column is the AUC lost on the first fold's test
    rows when that column is shuffled (permutation importance).
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
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(rng.integers(2**31)))
    aucs, importance = [], {}
    for k, (tr, te) in enumerate(split.split(x, y)):
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


def _sample(n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, cap, replace=False)) if n > cap else np.arange(n)
