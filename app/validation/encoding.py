"""Turn mixed-type frames into matrices: for models, for distances and for contingency tables.

* :class:`ModelEncoder` gives gradient-boosting input: numbers as floats, categories as integer
  codes flagged categorical.
* :class:`DistanceEncoder` gives the space every record-distance metric works in. A number becomes
  its mid-rank in the reference (training) data, so one unit is "the whole population lies
  between" and skewed columns (incomes, weights) do not drown the rest; a category becomes a
  one-hot vector scaled by 1/sqrt(2), so a mismatch adds exactly 1 to the squared distance, the
  most a number can add. Missing values get an indicator.
* :class:`FrameView` decodes each column of a frame once (floats, category codes, codes on the
  public bins of :func:`bin_edges`) for every metric that reads it.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from app.validation.metadata import ColumnMeta, Metadata, category_codes, numeric_array

DEFAULT_BINS = 10
MAX_MODEL_CATEGORIES = 250  # HistGradientBoosting accepts at most 255 categories per feature


class ModelEncoder:
    """Encode columns for HistGradientBoosting: floats plus integer category codes.

    Categories are those declared (or inferred by ``Metadata.complete``); the most frequent
    ``MAX_MODEL_CATEGORIES`` in the fitted data are kept and the rest share one code.
    """

    def __init__(self, metadata: Metadata, columns: list[str]) -> None:
        self.metadata = metadata
        self.columns = columns

    def fit(self, data: pd.DataFrame | FrameView) -> ModelEncoder:
        data = view(data, self.metadata)
        self.categories_: dict[str, list[str]] = {}
        for name in self.columns:
            col = self.metadata.column(name)
            if col.numeric:
                continue
            cats = list(col.categories or ())
            if len(cats) > MAX_MODEL_CATEGORIES:
                counts = pd.Series(data.codes(name)).value_counts()
                keep = [c for c in counts.index if 0 <= c < len(cats)][:MAX_MODEL_CATEGORIES]
                cats = [cats[c] for c in sorted(keep)]
            self.categories_[name] = cats
        return self

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([name in self.categories_ for name in self.columns], dtype=bool)

    def transform(self, data: pd.DataFrame | FrameView) -> np.ndarray:
        data = view(data, self.metadata)
        out = np.empty((len(data), len(self.columns)), dtype=float)
        for j, name in enumerate(self.columns):
            col = self.metadata.column(name)
            if col.numeric:
                out[:, j] = data.numeric(name)
                continue
            codes = data.codes(name)
            cats = self.categories_[name]
            if len(cats) != len(col.categories or ()):  # a cut-down list: re-code onto it
                lookup = np.full(len(col.categories or ()) + 1, len(cats), dtype=np.int64)
                for i, c in enumerate(col.categories or ()):
                    if c in cats:
                        lookup[i] = cats.index(c)
                codes = np.where(codes < 0, -1, lookup[np.clip(codes, 0, None)])
            out[:, j] = np.where(codes < 0, np.nan, codes.astype(float))
        return out


class DistanceEncoder:
    """Encode records so that Euclidean distance is a fair mixed-type record distance.

    Fitted on the reference (training) data; see the module docstring for the geometry.
    ``weights`` (per column, default 1) scale a column's contribution to the squared distance.
    """

    def __init__(self, metadata: Metadata, columns: list[str]) -> None:
        self.metadata = metadata
        self.columns = columns

    def fit(self, data: pd.DataFrame | FrameView) -> DistanceEncoder:
        data = view(data, self.metadata)
        self.sorted_: dict[str, np.ndarray] = {}
        self.categories_: dict[str, list[str]] = {}
        self.has_missing_: dict[str, bool] = {}
        for name in self.columns:
            col = self.metadata.column(name)
            if col.numeric:
                values = data.numeric(name)
                self.sorted_[name] = np.sort(values[~np.isnan(values)])
                self.has_missing_[name] = bool(np.isnan(values).any())
            else:
                self.categories_[name] = list(col.categories or ())
        return self

    def column_slices(self) -> dict[str, slice]:
        """Which encoded dimensions belong to each column."""
        out, start = {}, 0
        for name in self.columns:
            width = 1 + int(self.has_missing_[name]) if name in self.sorted_ else len(self.categories_[name]) + 2
            out[name] = slice(start, start + width)
            start += width
        return out

    def transform(self, data: pd.DataFrame | FrameView, columns: list[str] | None = None) -> np.ndarray:
        """Encoded matrix of ``columns`` (default all fitted columns), float32 to halve memory."""
        data = view(data, self.metadata)
        blocks = []
        for name in columns or self.columns:
            if name in self.sorted_:
                blocks.append(self._rank_block(data.numeric(name), name))
            else:
                cats = self.categories_[name]
                codes = data.codes(name)
                onehot = np.zeros((len(data), len(cats) + 2), dtype=np.float32)
                onehot[np.arange(len(data)), np.where(codes < 0, len(cats) + 1, codes)] = 1 / np.sqrt(2)
                blocks.append(onehot)
        return np.hstack(blocks) if blocks else np.zeros((len(data), 0), dtype=np.float32)

    def _rank_block(self, values: np.ndarray, name: str) -> np.ndarray:
        ref = self.sorted_[name]
        missing = np.isnan(values)
        if ref.size:
            lo = np.searchsorted(ref, values, side="left")
            hi = np.searchsorted(ref, values, side="right")
            rank = (lo + hi) / (2.0 * ref.size)
        else:
            rank = np.full(values.shape, 0.5)
        rank[missing] = 0.5
        if not self.has_missing_[name]:
            return rank[:, None].astype(np.float32)
        return np.column_stack([rank, missing.astype(float)]).astype(np.float32)


def bin_edges(col: ColumnMeta) -> np.ndarray:
    """Public bin edges of a numeric column.

    Declared ``edges``; else ``bins`` (default 10) bins over the public range, equal-width, or
    equal-width in ``log1p`` space for ``scale: log``; an integer range narrower than the bin
    count gets one bin per integer.
    """
    if col.edges is not None:
        return np.asarray(col.edges, dtype=float)
    lo = col.lower if col.lower is not None else 0.0
    hi = col.upper if col.upper is not None and col.upper > lo else lo + 1.0
    n = max(int(col.bins or DEFAULT_BINS), 1)
    if col.type == "integer" and hi - lo + 1 <= n:
        return np.arange(lo - 0.5, hi + 1.0, 1.0)
    if col.scale == "log" and lo >= 0:
        return np.expm1(np.linspace(np.log1p(lo), np.log1p(hi), n + 1))
    return np.linspace(lo, hi, n + 1)


def bin_labels(col: ColumnMeta) -> list[str]:
    """Readable labels of the codes :meth:`FrameView.bins` gives this column."""
    if col.numeric:
        edges = bin_edges(col)
        return [f"{lo:.4g}–{hi:.4g}" for lo, hi in pairwise(edges)] + ["missing"]
    return [*(col.categories or ()), "other", "missing"]


def numeric_bin_codes(x: np.ndarray, col: ColumnMeta) -> tuple[np.ndarray, int]:
    """Codes of float values on the column's public bins (clipped into the end bins), plus
    the number of codes; missing values get the last code."""
    edges = bin_edges(col)
    inner = len(edges) - 1
    codes = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, inner - 1)
    codes[np.isnan(x)] = inner
    return codes.astype(np.int64), inner + 1


def _single(col: ColumnMeta) -> Metadata:
    return Metadata(columns=(col,))


def single_column(real: pd.Series, synthetic: pd.Series, col: ColumnMeta) -> tuple[FrameView, FrameView]:
    """Views of two one-column samples, for the per-column metric functions."""
    meta = _single(col)
    return FrameView(real.to_frame(col.name), meta), FrameView(synthetic.to_frame(col.name), meta)


def view(data: pd.DataFrame | FrameView, metadata: Metadata) -> FrameView:
    """``data`` as a :class:`FrameView` (returned as is when it already is one)."""
    return data if isinstance(data, FrameView) else FrameView(data, metadata)


class FrameView:
    """One frame's columns decoded once and shared by every metric that reads them.

    ``numeric`` gives floats (dates as days), ``codes`` category codes on the declared
    categories (``len(categories)`` for other labels, -1 for missing), ``bins`` public-bin codes.
    """

    def __init__(self, data: pd.DataFrame, metadata: Metadata) -> None:
        self.data = data
        self.metadata = metadata
        self._cache: dict[tuple[str, str], object] = {}

    def __len__(self) -> int:
        return len(self.data)

    def numeric(self, name: str) -> np.ndarray:
        key = ("numeric", name)
        if key not in self._cache:
            self._cache[key] = numeric_array(self.data[name], self.metadata.column(name))
        return self._cache[key]  # type: ignore[return-value]

    def codes(self, name: str) -> np.ndarray:
        key = ("codes", name)
        if key not in self._cache:
            col = self.metadata.column(name)
            self._cache[key] = category_codes(self.data[name], col, list(col.categories or ()))
        return self._cache[key]  # type: ignore[return-value]

    def bins(self, name: str) -> tuple[np.ndarray, int]:
        key = ("bins", name)
        if key not in self._cache:
            col = self.metadata.column(name)
            if col.numeric:
                self._cache[key] = numeric_bin_codes(self.numeric(name), col)
            else:
                codes = self.codes(name).copy()
                n = len(col.categories or ())
                codes[codes < 0] = n + 1
                self._cache[key] = (codes, n + 2)
        return self._cache[key]  # type: ignore[return-value]

    def take(self, index: np.ndarray) -> FrameView:
        """A view of the rows at positions ``index``, reusing decoded columns."""
        out = FrameView(self.data.iloc[index], self.metadata)
        for (kind, name), value in self._cache.items():
            if kind == "bins":
                out._cache[(kind, name)] = (value[0][index], value[1])  # type: ignore[index]
            else:
                out._cache[(kind, name)] = value[index]  # type: ignore[index]
        return out


def row_hashes(v: FrameView, names: list[str]) -> np.ndarray:
    """One 64-bit hash per row over ``names``, equal exactly when all values are equal."""
    cols = {}
    for n in names:
        col = v.metadata.column(n)
        cols[n] = np.round(v.numeric(n), 9) if col.numeric else v.codes(n)
    return pd.util.hash_pandas_object(pd.DataFrame(cols), index=False).to_numpy()
