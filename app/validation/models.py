"""The one model family every model-based metric uses: histogram gradient boosting.

Kept in one place so utility, fairness, adversarial and rare-class metrics train the same model
with the same encoding, and so the seed handling is the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from app.validation.encoding import FrameView, ModelEncoder
from app.validation.metadata import Metadata

DEFAULT_ITERATIONS = 100


@dataclass(frozen=True)
class Labels:
    """A target decoded for learning: class codes (or floats for regression) and their names."""

    y: np.ndarray
    classes: tuple[str, ...] | None  # None for regression
    positive: int | None  # index of the positive class of a binary or declared-positive target


def decode_target(v: FrameView, metadata: Metadata, target: str, positive: object = None) -> Labels:
    """The target of ``v`` as class codes on the declared categories, or floats for numbers.

    Rows whose label is missing or undeclared get code -1 (callers drop them).
    """
    col = metadata.column(target)
    if col.numeric:
        return Labels(y=v.numeric(target), classes=None, positive=None)
    classes = tuple(col.categories or ())
    codes = v.codes(target).copy()
    codes[codes >= len(classes)] = -1
    label = metadata.positive_label_of(target, positive)
    pos = classes.index(label) if label in classes else None
    return Labels(y=codes, classes=classes, positive=pos)


def fit_classifier(
    x: np.ndarray, y: np.ndarray, encoder: ModelEncoder, *, seed: int, iterations: int = DEFAULT_ITERATIONS
) -> HistGradientBoostingClassifier | None:
    """A fitted gradient-boosting classifier, or None when ``y`` holds fewer than two classes."""
    if np.unique(y).size < 2:
        return None
    model = HistGradientBoostingClassifier(
        max_iter=iterations,
        early_stopping=False,
        categorical_features=encoder.categorical_mask,
        random_state=seed,
    )
    return model.fit(x, y)


def fit_regressor(
    x: np.ndarray, y: np.ndarray, encoder: ModelEncoder, *, seed: int, iterations: int = DEFAULT_ITERATIONS
) -> HistGradientBoostingRegressor:
    """A fitted gradient-boosting regressor."""
    model = HistGradientBoostingRegressor(
        max_iter=iterations,
        early_stopping=False,
        categorical_features=encoder.categorical_mask,
        random_state=seed,
    )
    return model.fit(x, y)


def class_probabilities(
    model: HistGradientBoostingClassifier | None, x: np.ndarray, n_classes: int, prior: np.ndarray
) -> np.ndarray:
    """Probabilities over all ``n_classes`` (zeros for classes the model never saw).

    A missing model (its training labels had one class) predicts ``prior`` for every row.
    """
    if model is None:
        return np.tile(prior, (len(x), 1))
    out = np.zeros((len(x), n_classes))
    out[:, model.classes_.astype(int)] = model.predict_proba(x)
    return out
