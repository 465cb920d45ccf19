"""Fidelity, utility and privacy-proxy metrics for the engine bench (bench/engine.py only).

Every function takes real and synthetic DataFrames with the same columns plus a ``sdtypes``
mapping (column -> ``"numerical" | "categorical" | "boolean" | "datetime"``) and returns plain
numbers. Numerical columns are compared as floats, everything else as strings.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

NUMERIC = "numerical"


def quality_report(real: pd.DataFrame, synthetic: pd.DataFrame, sdtypes: Mapping[str, str]) -> dict[str, float]:
    """SDMetrics QualityReport: ``{"overall", "column_shapes", "column_pair_trends"}`` in [0, 1]."""
    from sdmetrics.reports import QualityReport

    metadata = {"tables": {"table": {"columns": {c: {"sdtype": t} for c, t in sdtypes.items()}}}}
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate({"table": real}, {"table": synthetic}, metadata, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {
        "overall": float(report.get_score()),
        "column_shapes": float(props["Column Shapes"]),
        "column_pair_trends": float(props["Column Pair Trends"]),
    }


def _model_frame(frame: pd.DataFrame, sdtypes: Mapping[str, str], categories: Mapping[str, list[str]]) -> pd.DataFrame:
    """Features for HistGradientBoosting: floats, and categoricals fixed to the real data's levels."""
    out = {}
    for col, sdtype in sdtypes.items():
        if sdtype == NUMERIC:
            out[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        else:
            out[col] = pd.Categorical(frame[col].astype("string"), categories=categories[col])
    return pd.DataFrame(out, index=frame.index)


def tstr_auc(
    train_real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    sdtypes: Mapping[str, str],
    *,
    target: str,
    positive: str,
    seed: int = 0,
) -> dict[str, float | None]:
    """ROC AUC on ``holdout`` of a model trained on synthetic data (TSTR) and on real data (TRTR).

    ``loss_pct`` is the relative loss ``(TRTR - TSTR) / TRTR * 100``. TSTR is None when the
    synthetic target has a single class (no model can be trained).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    features = {c: t for c, t in sdtypes.items() if c != target}
    categories = {c: sorted(train_real[c].astype("string").dropna().unique()) for c, t in features.items() if t != NUMERIC}

    def fit_score(frame: pd.DataFrame) -> float | None:
        y = (frame[target].astype("string") == positive).to_numpy()
        if y.all() or not y.any():
            return None
        model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
        model.fit(_model_frame(frame, features, categories), y)
        proba = model.predict_proba(_model_frame(holdout, features, categories))[:, 1]
        return float(roc_auc_score(holdout[target].astype("string") == positive, proba))

    trtr = fit_score(train_real)
    tstr = fit_score(synthetic)
    loss = None if tstr is None or trtr is None else (trtr - tstr) / trtr * 100.0
    return {"tstr": tstr, "trtr": trtr, "loss_pct": loss}


def _row_keys(frame: pd.DataFrame, sdtypes: Mapping[str, str]) -> np.ndarray:
    cols = {}
    for col, sdtype in sdtypes.items():
        if sdtype == NUMERIC:
            cols[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        else:
            cols[col] = frame[col].astype("string").fillna("<NA>")
    return pd.util.hash_pandas_object(pd.DataFrame(cols), index=False).to_numpy()


def exact_copy_rate(candidate: pd.DataFrame, train: pd.DataFrame, sdtypes: Mapping[str, str]) -> float:
    """Share of ``candidate`` rows equal, in every column, to some row of ``train``."""
    train_keys = _row_keys(train, sdtypes)
    return float(np.isin(_row_keys(candidate, sdtypes), train_keys).mean())


class _Encoder:
    """Standardised numeric columns plus one-hot categoricals, fitted on the training data."""

    def __init__(self, train: pd.DataFrame, sdtypes: Mapping[str, str]) -> None:
        self.sdtypes = dict(sdtypes)
        self.stats: dict[str, tuple[float, float]] = {}
        self.levels: dict[str, list[str]] = {}
        for col, sdtype in self.sdtypes.items():
            if sdtype == NUMERIC:
                values = pd.to_numeric(train[col], errors="coerce").astype("float64")
                std = float(values.std()) or 1.0
                self.stats[col] = (float(values.mean()), std)
            else:
                self.levels[col] = sorted(train[col].astype("string").fillna("<NA>").unique())

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        blocks = []
        for col, sdtype in self.sdtypes.items():
            if sdtype == NUMERIC:
                mean, std = self.stats[col]
                values = pd.to_numeric(frame[col], errors="coerce").astype("float64").fillna(mean)
                blocks.append(((values.to_numpy() - mean) / std)[:, None])
            else:
                codes = pd.Categorical(frame[col].astype("string").fillna("<NA>"), categories=self.levels[col]).codes
                onehot = np.zeros((len(frame), len(self.levels[col])), dtype=np.float64)
                known = codes >= 0  # a level unseen in training is all zeros
                onehot[np.flatnonzero(known), codes[known]] = 1.0
                blocks.append(onehot)
        return np.hstack(blocks).astype(np.float32)


def median_dcr(candidate: pd.DataFrame, train: pd.DataFrame, sdtypes: Mapping[str, str]) -> float:
    """Median Euclidean distance from each ``candidate`` row to its closest ``train`` row."""
    from sklearn.neighbors import NearestNeighbors

    encoder = _Encoder(train, sdtypes)
    index = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(encoder.transform(train))
    distances, _ = index.kneighbors(encoder.transform(candidate))
    return float(np.median(distances[:, 0]))
