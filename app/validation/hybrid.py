"""Hybrid-split mode: do synthetic rare-event replicates help a model find the rare class?

In hybrid deployments synthetic replicates of the rare class (from conditional sampling) are
blended with the real rows inside the enclave. The gate checks that the blend actually lifts
the recall of the rare class on real holdout data, without giving up ranking quality.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from app.validation.encoding import FrameView, ModelEncoder, view
from app.validation.metadata import Metadata
from app.validation.models import class_probabilities, decode_target, fit_classifier


def rare_class_recall_lift(
    real: pd.DataFrame | FrameView,
    synthetic: pd.DataFrame | FrameView,
    *,
    holdout: pd.DataFrame | FrameView,
    metadata: Metadata,
    rare_class: Any = None,
    max_replicates: float = 1.0,
    seed: int = 0,
    iterations: int = 100,
    real_proba: np.ndarray | None = None,
) -> dict[str, Any]:
    """Recall of the rare class when real rows are blended with synthetic rare-class rows.

    Definition: model A trains on the real rows; model B on the real rows plus the synthetic
    rows of the rare class (at most ``max_replicates`` times the number of real rows, sampled).
    Both predict the real holdout (most probable class). ``recall_lift`` is B's recall of the
    rare class minus A's: higher is better, range [-1, 1]. ``auc_change`` is B's one-vs-rest
    ROC AUC of the rare class minus A's: higher is better (a large drop means the replicates
    taught the model something false), range [-1, 1]. The rare class is ``rare_class`` if
    given, else the declared ``rare_class``, else the least frequent target class in ``real``.

    ``real_proba`` may pass model A's class probabilities for the labelled holdout rows (the
    TRTR predictions of :func:`app.validation.utility.run_models`, same model) to save a fit.

    Returns:
        ``{"values": {"recall_lift", "auc_change", "recall_real", "recall_blend"}, "details": {...}}``;
        None values when there is no classification target or no synthetic rare rows.
    """
    none = {"recall_lift": None, "auc_change": None, "recall_real": None, "recall_blend": None}
    target = metadata.target
    if target is None or metadata.column(target).numeric:
        return {"values": none, "details": {"reason": "needs a categorical target"}}
    rng = np.random.default_rng(seed)
    r, s, h = (view(x, metadata) for x in (real, synthetic, holdout))
    lr, ls, lh = (decode_target(v, metadata, target) for v in (r, s, h))
    k = len(lr.classes)
    counts = np.bincount(lr.y[lr.y >= 0], minlength=k)
    wanted = rare_class if rare_class is not None else metadata.rare_class
    if wanted is not None:
        rare = lr.classes.index(str(wanted))
    else:
        present = np.flatnonzero(counts)
        rare = int(present[np.argmin(counts[present])])
    replicates = np.flatnonzero(ls.y == rare)
    cap = int(max_replicates * len(r))
    if len(replicates) > cap:
        replicates = np.sort(rng.choice(replicates, cap, replace=False))
    if len(replicates) == 0:
        return {
            "values": none,
            "details": {"reason": "no synthetic rows of the rare class", "rare_class": lr.classes[rare]},
        }
    features = [n for n in metadata.names if n != target]
    enc = ModelEncoder(metadata, features).fit(r)
    ok_r, ok_h = lr.y >= 0, lh.y >= 0
    xr, yr = enc.transform(r)[ok_r], lr.y[ok_r]
    xh, yh = enc.transform(h)[ok_h], lh.y[ok_h]
    xb = np.vstack([xr, enc.transform(s.take(replicates))])
    yb = np.r_[yr, np.full(len(replicates), rare)]
    prior = counts / max(counts.sum(), 1)
    scores = {}
    for name, (x, y) in {"real": (xr, yr), "blend": (xb, yb)}.items():
        if name == "real" and real_proba is not None:
            proba = real_proba
        else:
            proba = class_probabilities(fit_classifier(x, y, enc, seed=seed, iterations=iterations), xh, k, prior)
        hit = yh == rare
        recall = float((proba.argmax(axis=1)[hit] == rare).mean()) if hit.any() else None
        auc = float(roc_auc_score(hit, proba[:, rare])) if 0 < hit.sum() < len(hit) else None
        scores[name] = {"recall": recall, "auc": auc}
    lift = (scores["blend"]["recall"] - scores["real"]["recall"]) if scores["real"]["recall"] is not None else None
    auc_change = (scores["blend"]["auc"] - scores["real"]["auc"]) if scores["real"]["auc"] is not None else None
    values = {
        "recall_lift": lift,
        "auc_change": auc_change,
        "recall_real": scores["real"]["recall"],
        "recall_blend": scores["blend"]["recall"],
    }
    details = {
        "rare_class": lr.classes[rare],
        "replicates": len(replicates),
        "real_rows": len(yr),
        "holdout_rare_rows": int((yh == rare).sum()),
        "scores": scores,
    }
    return {"values": values, "details": details}
