"""Public discretisation: values <-> cell codes, from declared domains only.

Every modeled column gets a :class:`Codec` built from its public domain, never from the data.
Numbers are cut at public edges (declared, or default edges from the declared bounds on a
linear or log scale); declared point masses (the zero of a zero-inflated amount) get a cell of
their own; a nullable column gets a null cell. Decoding samples within the cell (uniform over
the integers or reals of the bin, on the bin's scale) so integers, zeros and ranges look like
the input instead of collapsing onto bin midpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd

from app.engine.errors import DataError, SchemaError
from app.engine.schema import ColumnSchema, ColumnType, DomainSource

DEFAULT_FLOAT_BINS = 64
MAX_INTEGER_CELLS = 128
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})


@dataclass(frozen=True)
class Codec:
    """Encoder/decoder between one column's values and its public cells.

    Cell layout: categories (categorical and boolean), or numeric bins then point masses;
    the null cell, if the column is nullable, comes last.
    """

    column: ColumnSchema
    size: int
    labels: tuple[str, ...]
    categories: tuple = ()
    edges: np.ndarray = field(default_factory=lambda: np.empty(0))
    point_masses: np.ndarray = field(default_factory=lambda: np.empty(0))
    log_scale: bool = False
    datetime_unit: str | None = None
    has_other: bool = False

    @property
    def name(self) -> str:
        return self.column.name

    @property
    def is_numeric(self) -> bool:
        return self.edges.size > 0

    @property
    def null_code(self) -> int | None:
        return self.size - 1 if self.column.nullable else None

    @property
    def n_bins(self) -> int:
        return max(self.edges.size - 1, 0)

    @property
    def ordered(self) -> bool:
        """Whether neighbouring value cells are neighbours in value (numeric bins)."""
        return self.is_numeric

    @property
    def other_code(self) -> int | None:
        """Cell of values outside a DP-discovered category list (rare keys never released)."""
        return len(self.categories) if self.has_other else None

    def value_cells(self) -> np.ndarray:
        """Codes of the bins (numeric) or categories (and "other"), without point masses and null."""
        return np.arange(self.n_bins if self.is_numeric else len(self.categories) + self.has_other)

    def encode(self, values: pd.Series) -> np.ndarray:
        """Cell code per value; DataError for values outside a categorical domain or bad types."""
        null = values.isna().to_numpy()
        if null.any() and not self.column.nullable:
            raise DataError(f"column {self.name!r} has missing values but its schema says nullable=false")
        codes = np.empty(len(values), dtype=np.int32)
        if self.is_numeric:
            x = self._to_number(values[~null])
            codes[~null] = self._bin(x)
        else:
            codes[~null] = self._category_codes(values[~null])
        if null.any():
            codes[null] = self.null_code
        return codes

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Values for cell codes, sampled uniformly within numeric cells."""
        codes = np.asarray(codes)
        null = codes == self.null_code if self.null_code is not None else np.zeros(len(codes), bool)
        if self.is_numeric:
            return self._decode_numeric(codes, null, rng)
        cats = np.array(self.categories, dtype=object)
        if self.has_other:
            # rare values were never released: their rows get a released category at random
            other = codes == self.other_code
            codes = np.where(other, rng.integers(0, len(cats), size=len(codes)), codes)
        out = np.empty(len(codes), dtype=object)
        out[~null] = cats[codes[~null]]
        out[null] = None
        return self._typed_categorical(out, null)

    # -- numbers ----------------------------------------------------------------------------

    def _to_number(self, values: pd.Series) -> np.ndarray:
        return parse_numbers(values, self.column, self.datetime_unit)

    def _bin(self, x: np.ndarray) -> np.ndarray:
        codes = np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0, self.n_bins - 1)
        for k, pm in enumerate(self.point_masses):
            codes[x == pm] = self.n_bins + k
        return codes

    def _decode_numeric(self, codes: np.ndarray, null: np.ndarray, rng: np.random.Generator) -> pd.Series:
        values = np.full(len(codes), np.nan)
        is_pm = (codes >= self.n_bins) & ~null
        values[is_pm] = self.point_masses[codes[is_pm] - self.n_bins]
        in_bin = ~is_pm & ~null
        b = codes[in_bin]
        lo, hi = self.edges[b], self.edges[b + 1]
        u = rng.random(len(b))
        if self._is_integer:
            last = b == self.n_bins - 1
            top = np.where(last, hi, hi - 1)  # bins are [lo, hi) but the last one includes upper
            values[in_bin] = self._sample_integers(lo, top, u)
        elif self.log_scale:
            values[in_bin] = np.expm1(np.log1p(lo) + u * (np.log1p(hi) - np.log1p(lo)))
        else:
            values[in_bin] = lo + u * (hi - lo)
        return self._typed_numeric(values, null)

    @property
    def _is_integer(self) -> bool:
        return self.column.type == ColumnType.INTEGER or self.datetime_unit == "D"

    def _sample_integers(self, lo: np.ndarray, top: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Integers in [lo, top], uniform (log-uniform on a log scale), skipping point masses."""
        lo, top = np.ceil(lo), np.floor(top)
        top = np.maximum(top, lo)
        if self.log_scale:
            raw = np.floor(np.expm1(np.log1p(lo) + u * (np.log1p(top + 1) - np.log1p(lo))))
        else:
            raw = np.floor(lo + u * (top - lo + 1))
        raw = np.clip(raw, lo, top)
        for pm in self.point_masses:
            # A point mass has its own cell: a bin value equal to it moves to a neighbour.
            hit = raw == pm
            raw[hit] = np.where(raw[hit] + 1 <= top[hit], raw[hit] + 1, np.maximum(raw[hit] - 1, lo[hit]))
        return raw

    def _typed_numeric(self, values: np.ndarray, null: np.ndarray) -> pd.Series:
        col = self.column
        if self.datetime_unit is not None:
            stamps = _number_to_datetime(values, self.datetime_unit)
            fmt = col.domain.format if col.domain and col.domain.format else None
            if fmt is None:
                return pd.Series(stamps, name=col.name)
            text = pd.Series(stamps).dt.strftime(fmt)
            return text.where(~null, None).rename(col.name)
        if col.type == ColumnType.INTEGER:
            if null.any():
                return pd.Series(pd.array(np.where(null, 0, values).astype(np.int64), dtype="Int64")).mask(null).rename(col.name)
            return pd.Series(values.astype(np.int64), name=col.name)
        decimals = col.domain.decimals if col.domain else None
        if decimals is not None:
            values = np.round(values, decimals)
        return pd.Series(values, name=col.name)

    # -- categories ---------------------------------------------------------------------------

    def _category_codes(self, values: pd.Series) -> np.ndarray:
        lookup = self._lookup
        if self._native_bool:
            keys = values.astype(str).str.strip().str.lower()
            mapped = keys.map(lambda k: 1 if k in _TRUE else (0 if k in _FALSE else None))
        else:
            mapped = values.astype(str).map(lookup)
        bad = mapped.isna()
        if bad.any() and self.has_other:
            mapped = mapped.fillna(self.other_code)
        elif bad.any():
            raise DataError(
                f"column {self.name!r} holds {values[bad].iloc[0]!r}, which is not in its declared categories"
                f" ({int(bad.sum())} such values)"
            )
        return mapped.to_numpy(dtype=np.int32)

    @property
    def _native_bool(self) -> bool:
        return self.column.type == ColumnType.BOOLEAN and self.categories == (False, True)

    @property
    def _lookup(self) -> dict[str, int]:
        table: dict[str, int] = {}
        for i, cat in enumerate(self.categories):
            table[str(cat)] = i
            if isinstance(cat, float) and cat.is_integer():
                table[str(int(cat))] = i
            if isinstance(cat, int) and not isinstance(cat, bool):
                table[f"{cat}.0"] = i
        return table

    def _typed_categorical(self, out: np.ndarray, null: np.ndarray) -> pd.Series:
        cats = self.categories
        if self._native_bool:
            dtype = "boolean" if null.any() else bool
            return pd.Series(out, name=self.name).astype(dtype)
        if cats and all(isinstance(c, int) and not isinstance(c, bool) for c in cats):
            return pd.Series(out, name=self.name).astype("Int64" if null.any() else np.int64)
        return pd.Series(out, name=self.name, dtype=object)


def build_codec(col: ColumnSchema) -> Codec:
    """The codec of a modeled column, from its public domain.

    Raises:
        SchemaError: the column has no usable domain.
    """
    dom = col.domain
    if dom is None:
        raise SchemaError(f"column {col.name!r} has no domain; declare one or let the engine estimate it")
    null_label = ("<null>",) if col.nullable else ()
    if col.type == ColumnType.BOOLEAN and not dom.categories:
        cats = (False, True)
        return Codec(col, size=2 + len(null_label), labels=("false", "true", *null_label), categories=cats)
    if col.type in (ColumnType.CATEGORICAL, ColumnType.BOOLEAN):  # a boolean spelled e.g. yes/no keeps it
        if not dom.categories:
            raise SchemaError(f"column {col.name!r} is categorical but declares no categories")
        cats = tuple(dom.categories)
        other = dom.source == DomainSource.DP_ESTIMATED
        return Codec(
            col,
            size=len(cats) + other + len(null_label),
            labels=(*map(str, cats), *(("<other>",) if other else ()), *null_label),
            categories=cats,
            has_other=other,
        )
    unit = datetime_unit(col)
    edges = _edges(col, unit)
    pms = np.array(sorted(float(p) for p in dom.point_masses), dtype=float)
    labels = tuple(f"[{a:g}, {b:g})" for a, b in pairwise(edges)) + tuple(f"={p:g}" for p in pms)
    return Codec(
        col,
        size=len(edges) - 1 + len(pms) + len(null_label),
        labels=labels + null_label,
        edges=edges,
        point_masses=pms,
        log_scale=dom.scale == "log",
        datetime_unit=unit,
    )


def _edges(col: ColumnSchema, unit: str | None) -> np.ndarray:
    dom = col.domain
    if dom.edges is not None:
        return np.asarray(dom.edges, dtype=float)
    if dom.lower is None or dom.upper is None:
        raise SchemaError(f"column {col.name!r} needs lower and upper bounds (or edges) in its domain")
    if unit is not None:
        lo, hi = (_datetime_to_number(pd.to_datetime(pd.Series([v])), unit)[0] for v in (dom.lower, dom.upper))
    else:
        lo, hi = float(dom.lower), float(dom.upper)
    integer = col.type == ColumnType.INTEGER or unit == "D"
    bins = dom.bins or DEFAULT_FLOAT_BINS
    if integer and dom.bins is None and hi - lo + 1 <= MAX_INTEGER_CELLS:
        return np.arange(lo, hi + 1, dtype=float) if hi > lo else np.array([lo, lo + 1.0])
    if dom.scale == "log":
        edges = np.expm1(np.linspace(np.log1p(lo), np.log1p(hi), bins + 1))
    else:
        edges = np.linspace(lo, hi, bins + 1)
    if integer:
        edges = np.unique(np.round(edges))
    edges[0], edges[-1] = lo, hi
    return edges


def datetime_unit(col: ColumnSchema) -> str | None:
    """How a datetime column is counted: whole days, or seconds when its format has a time part."""
    if col.type != ColumnType.DATETIME:
        return None
    fmt = col.domain.format if col.domain is not None else None
    return "s" if fmt and any(t in fmt for t in ("%H", "%M", "%S")) else "D"


def parse_numbers(values: pd.Series, col: ColumnSchema, unit: str | None) -> np.ndarray:
    """Non-missing values of a numeric or datetime column as floats (dates in ``unit`` since the epoch).

    Raises:
        DataError: a value that is not a number (or a date in the column's format).
    """
    if unit is not None:
        fmt = col.domain.format if col.domain is not None else None
        try:
            stamps = pd.to_datetime(values, format=fmt)
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataError(f"column {col.name!r}: cannot parse dates ({exc})") from None
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert(None)
        return _datetime_to_number(stamps, unit)
    if values.dtype.kind in "biuf":
        return values.to_numpy(dtype=float)
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna()
    if bad.any():
        raise DataError(f"column {col.name!r} is {col.type} but holds {values[bad].iloc[0]!r}")
    return parsed.to_numpy(dtype=float)


def _datetime_to_number(stamps: pd.Series, unit: str) -> np.ndarray:
    ns = stamps.astype("datetime64[ns]").astype(np.int64).to_numpy(dtype=float)
    return np.floor(ns / 86_400e9) if unit == "D" else np.floor(ns / 1e9)


def _number_to_datetime(values: np.ndarray, unit: str) -> pd.DatetimeIndex:
    scale = 86_400 if unit == "D" else 1
    return pd.to_datetime(np.where(np.isnan(values), 0, values) * scale, unit="s")


def coarse_groups(codec: Codec, fine_counts: np.ndarray, max_groups: int, min_count: float) -> np.ndarray:
    """Group fine cells into at most ``max_groups`` joint-modelling cells (post-processing only).

    ``fine_counts`` is a noisy (already private) 1-way estimate. Numeric bins are merged into
    consecutive runs of roughly equal estimated mass; point masses and the null cell keep a group
    of their own. Categories below ``min_count`` share one "rare" group, and the smallest ones
    join it until at most ``max_groups`` groups remain.

    Returns:
        Group id per fine cell, ids ``0..G-1``.
    """
    groups = np.empty(codec.size, dtype=np.int64)
    counts = np.maximum(fine_counts, 0.0)
    special = [c for c in range(codec.size) if c not in set(codec.value_cells().tolist())]
    budget = max(max_groups - len(special), 1)
    cells = codec.value_cells()
    if codec.is_numeric:
        mass = counts[cells]
        mid = (np.cumsum(mass) - mass / 2) / max(mass.sum(), 1e-12)
        ids = np.minimum(np.floor(mid * budget).astype(np.int64), budget - 1)
        _, ids = np.unique(ids, return_inverse=True)
        groups[cells] = ids
        nxt = ids.max() + 1 if ids.size else 0
    else:
        order = np.argsort(-counts[cells], kind="stable")
        keep = [c for c in order if counts[cells][c] >= min_count][: max(budget - 1, 1)]
        if len(keep) == len(cells) - 1:  # a lone rare category needs no group of its own
            keep = list(order)
        keep_set = set(keep)
        rank = {c: i for i, c in enumerate(sorted(keep_set))}
        rare = len(rank)
        for c in cells:
            groups[c] = rank.get(c, rare)
        nxt = rare + (1 if len(keep_set) < len(cells) else 0)
    for k, c in enumerate(special):
        groups[c] = nxt + k
    return groups
