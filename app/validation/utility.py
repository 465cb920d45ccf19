"""ML utility, the fidelity contract: does a model trained on synthetic data work on real data?

TSTR (train on synthetic, test on real) is compared with TRTR (train on real, test on real) on
the same real holdout, with the same model (:mod:`app.validation.models`). The predictions are
kept in a :class:`UtilityRun` so the subgroup-fairness metrics reuse them instead of training
again.

The holdout is a sample too: on a few hundred rows the degradation moves by several points from
one holdout to the next with the same two models. :func:`ml_utility` therefore reports a paired
percentile-bootstrap interval of every degradation (see :func:`degradation_intervals`), so a gate
can judge a confidence bound (``basis: ci_bound``) instead of the point estimate.
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
    level: float = 0.95,
    bootstrap: int = 400,
) -> dict[str, Any]:
    """TSTR vs TRTR on the real holdout, with relative degradation and its confidence interval.

    Definitions: classification reports ROC AUC (binary: of the positive class; multiclass:
    one-vs-rest macro average) and accuracy; regression reports R² and MAE. The relative
    degradation is ``(TRTR - TSTR) / TRTR`` for AUC, accuracy and R² (``|TRTR|`` for R²) and
    ``(MAE_TSTR - MAE_TRTR) / MAE_TRTR`` for MAE. ``tstr_degradation`` is the headline: the AUC
    degradation for classification, the R² degradation for regression.
    Direction: degradations lower is better (negative means synthetic did better); AUC,
    accuracy and R² higher is better; MAE lower is better. Ranges: AUC and accuracy [0, 1],
    R² (-inf, 1], degradations unbounded but typically [-0.1, 1].

    Uncertainty: every degradation (``tstr_degradation`` and ``auc_degradation`` or
    ``r2_degradation``, ``accuracy_degradation`` or ``mae_degradation``) comes with a ``level``
    paired percentile-bootstrap interval (``<name>_low``, ``<name>_high``): ``bootstrap``
    resamples of the holdout rows with replacement, the *same* resample scoring the TRTR and the
    TSTR predictions (the models are not refitted), the degradation recomputed on each, and the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled degradations taken.
    Pairing cancels the difficulty of the holdout rows, which both models share, so the interval
    is much narrower than two separate intervals. It measures holdout noise given the two fitted
    models, not the spread between training runs; a gate with ``basis: ci_bound`` and ``<``
    compares ``tstr_degradation_low`` with its threshold and so rejects only a degradation shown
    beyond it. ``bootstrap: 0`` reports the bounds as None. Deterministic given ``seed``.

    Args:
        seed: seeds the bootstrap draws (and the two models when ``run`` is not given).
        run: the fitted models' predictions (:func:`run_models`); fitted here when None.
        level: confidence level of the intervals.
        bootstrap: number of resamples.

    Returns:
        ``{"values": {...}, "details": {...}}`` with the values above under ``trtr_*``,
        ``tstr_*``, ``*_degradation`` and ``*_degradation_low``/``_high`` keys.
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
    values.update(degradation_intervals(run, level=level, resamples=bootstrap, seed=seed))
    details = {
        "task": run.task,
        "target": run.target,
        "holdout_rows": len(y),
        "trtr": real_s,
        "tstr": syn_s,
        "interval": {"level": level, "method": "paired percentile bootstrap of holdout rows", "resamples": bootstrap},
    }
    return {"values": values, "details": details}


# resamples scored at once: bounds the (block x holdout rows) weight matrices to a few MB
_BLOCK = 50
DEGRADATIONS = {
    "classification": ("tstr_degradation", "auc_degradation", "accuracy_degradation"),
    "regression": ("tstr_degradation", "r2_degradation", "mae_degradation"),
}


def degradation_intervals(
    run: UtilityRun, *, level: float = 0.95, resamples: int = 400, seed: int = 0
) -> dict[str, float | None]:
    """Paired percentile-bootstrap bounds of the degradations (``<name>_low``, ``<name>_high``).

    Resample ``b`` draws the holdout rows with replacement as multiplicities ``w_b`` (``w_b``
    sums to the holdout size); both models are scored on the same ``w_b`` with the weighted
    form of each score: accuracy and MAE as weighted means, R² from weighted sums of squares,
    ROC AUC as the weighted Mann-Whitney statistic (positive-negative pairs, each weighted by
    the product of multiplicities, ties counting one half; multiclass: the one-vs-rest macro
    average over the classes present in the resample). With all ``w_b = 1`` these are exactly
    the point estimates. Vectorised: the scores are sorted once per model and every resample
    is a row of a weight matrix, so 400 resamples of 10,000 rows take well under a second.
    """
    keys = DEGRADATIONS[run.task]
    y = run.holdout.y
    n = len(y)
    if resamples <= 0 or n == 0:
        return {f"{k}_{side}": None for k in keys for side in ("low", "high")}
    rng = np.random.default_rng([seed, 41])
    draws = np.empty((resamples, len(keys)))
    if run.task == "classification":
        real = _WeightedClassification(y.astype(int), run.real_pred, run.holdout.positive)
        syn = _WeightedClassification(y.astype(int), run.synthetic_pred, run.holdout.positive)
    else:
        real, syn = _WeightedRegression(y, run.real_pred), _WeightedRegression(y, run.synthetic_pred)
    for start in range(0, resamples, _BLOCK):
        b = min(_BLOCK, resamples - start)
        idx = rng.integers(0, n, size=(b, n)) + n * np.arange(b)[:, None]
        w = np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(float)
        r, s = real.scores(w), syn.scores(w)
        if run.task == "classification":
            auc = _relative_drops(r[0], s[0])
            draws[start : start + b] = np.column_stack([auc, auc, _relative_drops(r[1], s[1])])
        else:
            r2 = _relative_drops(r[0], s[0])
            with np.errstate(divide="ignore", invalid="ignore"):
                mae = np.where(r[1] > 0, (s[1] - r[1]) / r[1], 0.0)
            draws[start : start + b] = np.column_stack([r2, r2, mae])
    tail = (1 - level) / 2
    out: dict[str, float | None] = {}
    for j, k in enumerate(keys):
        finite = draws[np.isfinite(draws[:, j]), j]
        low, high = np.quantile(finite, [tail, 1 - tail]) if finite.size else (None, None)
        out[f"{k}_low"] = None if low is None else float(low)
        out[f"{k}_high"] = None if high is None else float(high)
    return out


class _WeightedClassification:
    """ROC AUC and accuracy of one model's holdout probabilities under resampling weights."""

    def __init__(self, y: np.ndarray, proba: np.ndarray, positive: int | None) -> None:
        self.correct = (proba.argmax(axis=1) == y).astype(float)
        present = np.unique(y)
        self.parts: list[_WeightedAUC] = []
        if present.size < 2:
            return
        if proba.shape[1] == 2 or (positive is not None and present.size == 2):
            pos = positive if positive is not None else 1
            self.parts = [_WeightedAUC(proba[:, pos], y == pos)]
        else:  # as in _classification_scores: classes absent from the holdout drop out
            sub = np.clip(proba[:, present], 1e-12, None)
            sub = sub / sub.sum(axis=1, keepdims=True)
            self.parts = [_WeightedAUC(sub[:, j], y == c) for j, c in enumerate(present)]

    def scores(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(AUC, accuracy) per row of ``w``."""
        acc = (w @ self.correct) / w.sum(axis=1)
        if not self.parts:
            return np.full(len(w), 0.5), acc
        aucs = np.column_stack([p.auc(w) for p in self.parts])
        if aucs.shape[1] == 1:
            return aucs[:, 0], acc
        with np.errstate(invalid="ignore"):
            return np.nanmean(aucs, axis=1), acc


class _WeightedAUC:
    """Binary ROC AUC (Mann-Whitney) with row weights; the scores are sorted and tied once.

    In score order, a positive row's share of the pairs is the negative weight strictly below
    its tied group plus half the negative weight inside it, i.e. the mean of the cumulative
    negative weight just before the group's first row and at its last row.
    """

    def __init__(self, score: np.ndarray, is_pos: np.ndarray) -> None:
        self.order = np.argsort(score, kind="stable")
        ranked = score[self.order]
        pos = is_pos[self.order]
        new = np.r_[True, ranked[1:] != ranked[:-1]]  # a row that starts a tied group
        group = np.cumsum(new) - 1
        first = np.flatnonzero(new)[group]  # each row's group: its first row
        last = np.flatnonzero(np.r_[new[1:], True])[group]  # and its last row
        self.neg = (~pos).astype(float)
        self.pos_at = np.flatnonzero(pos)
        self.before = first[self.pos_at] - 1  # -1 reads the zero column: nothing below
        self.upto = last[self.pos_at]

    def auc(self, w: np.ndarray) -> np.ndarray:
        ws = w[:, self.order]
        cum = np.zeros((ws.shape[0], ws.shape[1] + 1))  # the last column stays 0: index -1 reads it
        np.cumsum(ws * self.neg, axis=1, out=cum[:, :-1])
        share = 0.5 * (cum[:, self.before] + cum[:, self.upto])
        wp = ws[:, self.pos_at]
        pairs = wp.sum(axis=1) * cum[:, -2]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(pairs > 0, (wp * share).sum(axis=1) / pairs, np.nan)


class _WeightedRegression:
    """R² and MAE of one model's holdout predictions under resampling weights."""

    def __init__(self, y: np.ndarray, pred: np.ndarray) -> None:
        centred = y - y.mean()  # R²'s spread term does not move; cancellation does not bite
        self.y, self.y2, self.sq, self.abs = centred, centred**2, (y - pred) ** 2, np.abs(y - pred)

    def scores(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(R², MAE) per row of ``w``; R² is NaN on a resample whose labels are constant."""
        total = w.sum(axis=1)
        spread = w @ self.y2 - (w @ self.y) ** 2 / total
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(spread > 1e-12 * np.maximum(total, 1), 1 - (w @ self.sq) / spread, np.nan)
        return r2, (w @ self.abs) / total


def _relative_drops(real: np.ndarray, synthetic: np.ndarray) -> np.ndarray:
    """:func:`_relative_drop` per resample (NaN where a score is undefined)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(real == 0, 0.0, (real - synthetic) / np.abs(real))


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
