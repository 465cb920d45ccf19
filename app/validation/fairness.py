"""Subgroup fairness: does the synthetic data serve every group as well as the real data does?

Reuses the TRTR and TSTR predictions of :func:`app.validation.utility.run_models`. Groups come
from the declared subgroup columns; numeric ones (age) are grouped on their public bins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score

from app.validation.encoding import FrameView, bin_labels, view
from app.validation.metadata import Metadata
from app.validation.utility import UtilityRun, positive_scores, run_models

MIN_GROUP_ROWS = 100  # per-group AUCs on fewer rows are mostly noise


def subgroup_fairness(
    real: pd.DataFrame | FrameView,
    synthetic: pd.DataFrame | FrameView,
    *,
    holdout: pd.DataFrame | FrameView,
    metadata: Metadata,
    subgroups: list[str] | None = None,
    run: UtilityRun | None = None,
    seed: int = 0,
    min_group_rows: int = MIN_GROUP_ROWS,
) -> dict[str, Any]:
    """Per-group TSTR utility gap and fairness-difference shifts, for each subgroup column.

    Definitions, per subgroup column, over groups with at least ``min_group_rows`` holdout rows:

    * ``utility_gap`` per group: TRTR score minus TSTR score in that group (ROC AUC of the
      positive class for classification, R² for regression); ``max_group_utility_gap`` is the
      largest over all groups and columns. Lower is better; range [-1, 1] for AUC.
    * demographic-parity difference of a model: the spread (max - min over groups) of its
      positive-prediction rate (probability >= 0.5). ``dp_difference_shift`` is
      ``|DPD_TSTR - DPD_TRTR|``: how much training on synthetic data changes the disparity.
      Lower is better; range [0, 1].
    * equal-opportunity difference: the spread of true-positive rates over groups;
      ``eo_difference_shift`` is ``|EOD_TSTR - EOD_TRTR|``. Lower is better; range [0, 1].

    DP and EO need a binary (or declared-positive) classification target and are None otherwise.

    Returns:
        ``{"values": {"max_group_utility_gap", "dp_difference_shift", "eo_difference_shift"},
        "details": {column: {"groups": {...}, "dp_real", "dp_synthetic", "eo_real", "eo_synthetic"}}}``
    """
    subgroups = list(subgroups if subgroups is not None else metadata.subgroups)
    h = view(holdout, metadata)
    run = run or run_models(real, synthetic, holdout=h, metadata=metadata, seed=seed)
    y = run.holdout.y
    binary = run.task == "classification" and (run.holdout.positive is not None or len(run.holdout.classes) == 2)
    pos = run.holdout.positive if run.holdout.positive is not None else 1
    if binary:
        truth = y.astype(int) == pos
        s_real, s_syn = positive_scores(run.real_pred, pos), positive_scores(run.synthetic_pred, pos)
    details: dict[str, Any] = {}
    gaps, dp_shifts, eo_shifts = [], [], []
    for name in subgroups:
        codes, _ = h.bins(name)
        labels = bin_labels(metadata.column(name))
        codes = codes[run.keep]
        groups: dict[str, Any] = {}
        rates = {"dp_real": [], "dp_synthetic": [], "eo_real": [], "eo_synthetic": []}
        for g in np.unique(codes):
            m = codes == g
            if m.sum() < min_group_rows:
                continue
            row: dict[str, Any] = {"rows": int(m.sum())}
            if binary:
                if np.unique(truth[m]).size == 2:
                    row["trtr"] = float(roc_auc_score(truth[m], s_real[m]))
                    row["tstr"] = float(roc_auc_score(truth[m], s_syn[m]))
                for key, scores in (("real", s_real), ("synthetic", s_syn)):
                    rates["dp_" + key].append(float((scores[m] >= 0.5).mean()))
                    if truth[m].any():
                        rates["eo_" + key].append(float((scores[m][truth[m]] >= 0.5).mean()))
            elif run.task == "regression" and m.sum() > 2:
                row["trtr"] = float(r2_score(y[m], run.real_pred[m]))
                row["tstr"] = float(r2_score(y[m], run.synthetic_pred[m]))
            if "trtr" in row:
                row["utility_gap"] = row["trtr"] - row["tstr"]
                gaps.append(row["utility_gap"])
            groups[labels[g]] = row
        col = {"groups": groups}
        if binary:
            spread = {k: (max(v) - min(v)) if len(v) > 1 else 0.0 for k, v in rates.items()}
            col.update(spread)
            dp_shifts.append(abs(spread["dp_synthetic"] - spread["dp_real"]))
            eo_shifts.append(abs(spread["eo_synthetic"] - spread["eo_real"]))
        details[name] = col
    values = {
        "max_group_utility_gap": float(max(gaps)) if gaps else None,
        "dp_difference_shift": float(max(dp_shifts)) if dp_shifts else None,
        "eo_difference_shift": float(max(eo_shifts)) if eo_shifts else None,
    }
    return {"values": values, "details": details}
