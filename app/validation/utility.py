"""ML utility, the fidelity contract: does a model trained on synthetic data work on real data?

TSTR (train on synthetic, test on real) is compared with TRTR (train on real, test on real) on
the same real holdout, with the same model (:mod:`app.validation.models`). The predictions are
kept in a :class:`UtilityRun` so the subgroup-fairness metrics reuse them instead of training
again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score, roc_auc_score

from app.validation.encoding import FrameView, ModelEncoder, view
from app.validation.metadata import Metadata
from app.validation.models import (
    Labels,
    class_probabilities,
    decode_target,
    fit_classifier,
    fit_regressor,
)


@dataclass(frozen=True)
class UtilityRun:
    """Both models' predictions on the real holdout (probabilities, or values for regression)."""

    task: str  # "classification" or "regression"
    target: str
    holdout: Labels  # holdout labels, rows with a missing label already dropped
    keep: np.ndarray  # positions of the holdout rows that were scored
    real_pred: np.ndarray
    synthetic_pred: np.ndarray


def run_models(
    real: pd.DataFrame | FrameView,
    synthetic: pd.DataFrame | FrameView,
    *,
    holdout: pd.DataFrame | FrameView,
    metadata: Metadata,
    target: str | None = None,
    seed: int = 0,
    iterations: int = 100,
) -> UtilityRun:
    """Fit the TRTR model on ``real`` and the TSTR model on ``synthetic``; score ``holdout``.

    Raises:
        ValueError: no target is declared.
    """
    target = target or metadata.target
    if target is None:
        raise ValueError("ML utility needs a target column")
    r, s, h = view(real, metadata), view(synthetic, metadata), view(holdout, metadata)
    features = [n for n in metadata.names if n != target]
    enc = ModelEncoder(metadata, features).fit(r)
    lr, ls, lh = (decode_target(v, metadata, target, metadata.positive_label) for v in (r, s, h))
    keep = np.flatnonzero(lh.y >= 0) if lh.classes is not None else np.flatnonzero(np.isfinite(lh.y))
    xh = enc.transform(h)[keep]
    y_h = Labels(y=lh.y[keep], classes=lh.classes, positive=lh.positive)
    preds = []
    for labels, v in ((lr, r), (ls, s)):
        ok = labels.y >= 0 if labels.classes is not None else np.isfinite(labels.y)
        x, y = enc.transform(v)[ok], labels.y[ok]
        if labels.classes is None:
            preds.append(
                fit_regressor(x, y, enc, seed=seed, iterations=iterations).predict(xh) if len(y) else np.full(len(xh), 0.0)
            )
        else:
            k = len(labels.classes)
            prior = np.bincount(y.astype(int), minlength=k) / max(len(y), 1)
            model = fit_classifier(x, y.astype(int), enc, seed=seed, iterations=iterations) if len(y) else None
            preds.append(class_probabilities(model, xh, k, prior))
    task = "regression" if lh.classes is None else "classification"
    return UtilityRun(task=task, target=target, holdout=y_h, keep=keep, real_pred=preds[0], synthetic_pred=preds[1])


def ml_utility(
    real: pd.DataFrame | FrameView,
    synthetic: pd.DataFrame | FrameView,
    *,
    holdout: pd.DataFrame | FrameView,
    metadata: Metadata,
    target: str | None = None,
    seed: int = 0,
    iterations: int = 100,
    run: UtilityRun | None = None,
) -> dict[str, Any]:
    """TSTR vs TRTR on the real holdout, with relative degradation.

    Definitions: classification reports ROC AUC (binary: of the positive class; multiclass:
    one-vs-rest macro average) and accuracy; regression reports R² and MAE. The relative
    degradation is ``(TRTR - TSTR) / TRTR`` for AUC, accuracy and R² (``|TRTR|`` for R²) and
    ``(MAE_TSTR - MAE_TRTR) / MAE_TRTR`` for MAE. ``tstr_degradation`` is the headline: the AUC
    degradation for classification, the R² degradation for regression.
    Direction: degradations lower is better (negative means synthetic did better); AUC,
    accuracy and R² higher is better; MAE lower is better. Ranges: AUC and accuracy [0, 1],
    R² (-inf, 1], degradations unbounded but typically [-0.1, 1].

    Returns:
        ``{"values": {...}, "details": {...}}`` with the values above under ``trtr_*``,
        ``tstr_*`` and ``*_degradation`` keys.
    """
    run = run or run_models(real, synthetic, holdout=holdout, metadata=metadata, target=target, seed=seed, iterations=iterations)
    y = run.holdout.y
    if run.task == "regression":
        real_s = {
            "r2": float(r2_score(y, run.real_pred)),
            "mae": float(mean_absolute_error(y, run.real_pred)),
        }
        syn_s = {
            "r2": float(r2_score(y, run.synthetic_pred)),
            "mae": float(mean_absolute_error(y, run.synthetic_pred)),
        }
        values = {
            "trtr_r2": real_s["r2"],
            "tstr_r2": syn_s["r2"],
            "trtr_mae": real_s["mae"],
            "tstr_mae": syn_s["mae"],
            "r2_degradation": _relative_drop(real_s["r2"], syn_s["r2"]),
            "mae_degradation": (syn_s["mae"] - real_s["mae"]) / real_s["mae"] if real_s["mae"] > 0 else 0.0,
        }
        values["tstr_degradation"] = values["r2_degradation"]
    else:
        real_s = _classification_scores(y.astype(int), run.real_pred, run.holdout.positive)
        syn_s = _classification_scores(y.astype(int), run.synthetic_pred, run.holdout.positive)
        values = {
            "trtr_auc": real_s["auc"],
            "tstr_auc": syn_s["auc"],
            "trtr_accuracy": real_s["accuracy"],
            "tstr_accuracy": syn_s["accuracy"],
            "auc_degradation": _relative_drop(real_s["auc"], syn_s["auc"]),
            "accuracy_degradation": _relative_drop(real_s["accuracy"], syn_s["accuracy"]),
        }
        values["tstr_degradation"] = values["auc_degradation"]
    details = {"task": run.task, "target": run.target, "holdout_rows": len(y), "trtr": real_s, "tstr": syn_s}
    return {"values": values, "details": details}


def positive_scores(pred: np.ndarray, positive: int | None) -> np.ndarray:
    """Score of the positive class (binary targets), else of the last class."""
    return pred[:, positive if positive is not None else pred.shape[1] - 1]


def _classification_scores(y: np.ndarray, proba: np.ndarray, positive: int | None) -> dict[str, float]:
    present = np.unique(y)
    acc = float(accuracy_score(y, proba.argmax(axis=1)))
    if present.size < 2:
        return {"auc": 0.5, "accuracy": acc}
    if proba.shape[1] == 2 or (positive is not None and present.size == 2):
        pos = positive if positive is not None else 1
        auc = roc_auc_score(y == pos, proba[:, pos])
    else:
        # classes absent from the holdout drop out; a row whose mass sat on them becomes uniform
        sub = np.clip(proba[:, present], 1e-12, None)
        sub = sub / sub.sum(axis=1, keepdims=True)
        auc = roc_auc_score(y, sub, multi_class="ovr", average="macro", labels=present)
    return {"auc": float(auc), "accuracy": acc}


def _relative_drop(real: float, synthetic: float) -> float:
    if real == 0:
        return 0.0
    return float((real - synthetic) / abs(real))
