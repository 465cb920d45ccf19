"""Paid domain estimation: differentially private bounds, bin edges and category lists.

The engine refuses a domain read off the data unless the user declares it public or pays for
a DP estimate. :func:`estimate_domains` is that payment: it re-reads the data (at most two
passes), releases noisy histograms through the accountant and returns a schema whose listed
columns carry ``Domain(public=True, source=DomainSource.DP_ESTIMATED)``.

Privacy argument (shared by every release below)
------------------------------------------------
Neighbouring tables differ by the rows of one person: at most ``k = max_rows_per_person`` rows
added or removed. Every release is a vector of counts over *disjoint* cells, each row falling
in at most one cell (rows with a missing value fall in none). One person therefore changes the
vector by a non-negative integer vector whose entries sum to at most ``k``; its L2 norm is at
most ``k``, reached when all ``k`` rows share one cell. Gaussian noise of standard deviation
``sigma = k / sqrt(2 rho_i)`` on such a vector is ``rho_i``-zCDP (Bun & Steinke 2016, Prop. 1.6).

* Numeric pass 1 uses a grid fixed in advance (:data:`GRID_EDGES`), pass 2 a grid computed
  from the pass-1 output alone; zCDP composes adaptively by adding the rhos (BS16, Lemma 2.3).
* Category keys are not known in advance, so the release is a *stability-based* histogram:
  noise on the count of every observed key, and only keys whose noisy count exceeds
  ``tau = k + sigma * Phi^-1(1 - delta_c / k)`` are released (the noisy counts never are). The
  keys held only by the added person have true counts ``c_j`` with ``sum c_j <= k`` (at most
  ``k`` such keys); each is released with probability ``P(c_j + sigma Z > tau) <= delta_c / k``,
  so with probability at least ``1 - delta_c`` none is. On that event, whose noise is independent
  of the noise on the shared keys, the output is the Gaussian mechanism on the shared keys, which
  is ``rho_c``-zCDP by the sensitivity argument above: the release is ``delta_c``-approximately
  ``rho_c``-zCDP (BS16, Def. 1.8), and approximate zCDP composes by adding both rhos and deltas.
* Everything else (thresholds, tightening, quantiles, point masses, the log/linear choice,
  sorting) is post-processing of noisy output and costs nothing.

So one call is ``delta_used``-approximately ``rho``-zCDP. The caller adds it to the rest of the
run's zCDP ledger and reports ``(epsilon, delta' + delta_used)`` where ``rho_total``-zCDP implies
``(epsilon, delta')``-DP (CKS20); i.e. it must reserve ``delta_used`` out of the user's delta.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from app.engine.accountant import SPEND_RTOL, Accountant, gaussian_sigma
from app.engine.discretize import datetime_unit, parse_numbers
from app.engine.errors import BudgetError, DataError, SchemaError
from app.engine.schema import (
    UNMODELED_TYPES,
    ColumnSchema,
    ColumnType,
    Domain,
    DomainSource,
    Sensitivity,
    TableSchema,
)

# Pass-1 grid: zero, then signed octaves [2^e, 2^(e+1)) for e in GRID_MIN_EXP..GRID_MAX_EXP; the
# innermost octaves also hold the tiny values (0 < |x| < 2^GRID_MIN_EXP) and the outermost ones
# everything beyond 2^GRID_MAX_EXP. Public and independent of the data.
GRID_MIN_EXP = -8
GRID_MAX_EXP = 62
_N_EXP = GRID_MAX_EXP - GRID_MIN_EXP + 1
_ZERO_CELL = _N_EXP
GRID_CELLS = 2 * _N_EXP + 1

# A bounds threshold is k + z * sigma with z chosen so that, among all cells of one histogram that
# hold no rows or the rows of a single person, any crosses with probability at most this rate.
FALSE_CELL_RATE = 0.01
# Pass 2: equal-width (or log1p-spaced) cells between the pass-1 bounds; an integer column whose
# bounds are at most MAX_INTEGER_CELLS apart gets one cell per integer instead.
FINE_CELLS = 512
MAX_INTEGER_CELLS = 1024
# Log1p-spaced pass-2 cells (and scale="log") when lower >= 0 and upper spans at least this
# factor over the smallest released positive octave (three orders of magnitude).
LOG_SPAN = 2.0**10
# Noisy counts below NOISE_FLOOR * sigma are treated as empty when building the CDF, so the
# positive part of pure noise in hundreds of empty cells does not smear the quantiles.
NOISE_FLOOR = 2.0
# A point mass at 0 when the noisy share of exact zeros reaches this.
ZERO_SHARE = 0.3

_CATEGORICAL = frozenset({ColumnType.CATEGORICAL})
_NUMERIC = frozenset({ColumnType.NUMERICAL, ColumnType.INTEGER, ColumnType.DATETIME})
# Representable pandas timestamps, as whole days / seconds since the epoch (rounded inward).
_DATETIME_LIMITS = {
    "D": (math.ceil(pd.Timestamp.min.value / 86_400e9), math.floor(pd.Timestamp.max.value / 86_400e9)),
    "s": (math.ceil(pd.Timestamp.min.value / 1e9), math.floor(pd.Timestamp.max.value / 1e9)),
}


def _grid_edges() -> tuple[np.ndarray, np.ndarray]:
    lower, upper = np.empty(GRID_CELLS), np.empty(GRID_CELLS)
    lower[_ZERO_CELL] = upper[_ZERO_CELL] = 0.0
    for i in range(_N_EXP):
        e = GRID_MIN_EXP + i
        lo = 0.0 if i == 0 else 2.0**e
        hi = 2.0 ** (e + 1)
        lower[_ZERO_CELL + 1 + i], upper[_ZERO_CELL + 1 + i] = lo, hi
        lower[_ZERO_CELL - 1 - i], upper[_ZERO_CELL - 1 - i] = -hi, -lo
    return lower, upper


#: Value range ``(lower, upper)`` of each pass-1 cell, ordered by value (the zero cell is ``[0, 0]``).
GRID_EDGES: tuple[np.ndarray, np.ndarray] = _grid_edges()


@dataclass(frozen=True)
class EstimatedDomains:
    """Result of :func:`estimate_domains`.

    Attributes:
        schema: copy of the input schema with every estimated column's domain replaced.
        phases: one JSON-ready dict per charge, ``{"name": "domain", "rho", "column", "method",
            "sigma", ...}``, in the order charged (the same entries the accountant recorded).
        delta_used: approximate-DP failure probability spent (category discovery only); the
            caller must add it to the delta of the zCDP-to-(epsilon, delta) conversion.
    """

    schema: TableSchema
    phases: list[dict[str, Any]]
    delta_used: float


@dataclass
class _Numeric:
    """Working state of one numeric column across the two passes."""

    col: ColumnSchema
    unit: str | None  # None for numbers, "D" or "s" for datetimes
    integer: bool
    coarse: np.ndarray
    lower: float = 0.0
    upper: float = 0.0
    log: bool = False
    edges: np.ndarray | None = None
    fine: np.ndarray | None = None


def estimate_domains(
    chunks: Callable[[], Iterable[pd.DataFrame]],
    schema: TableSchema,
    columns: list[str],
    *,
    accountant: Accountant,
    rho: float,
    delta: float,
    rng: np.random.Generator,
    bins: int = 32,
) -> EstimatedDomains:
    """Estimate the domains of ``columns`` under differential privacy and charge them.

    Budget split: ``rho`` is split evenly over the listed columns that need a release (numeric
    and categorical; booleans are free), and a numeric column's share is split evenly between its
    two passes. ``delta`` is split evenly over the categorical columns and is not used otherwise.

    Numeric (numerical, integer, datetime as days or seconds since the epoch, parsed with the
    domain's ``format``):

    1. *Bounds.* Gaussian histogram over the fixed grid :data:`GRID_EDGES` (zero plus signed
       powers of two from 2^-8 to 2^62). ``lower``/``upper`` are the outer edges of the lowest and
       highest cells whose noisy count exceeds ``k + z * sigma``, ``z = Phi^-1(1 - 0.01 / 143)``
       (about 3.8): a cell holding at most ``k`` rows (empty, or one person's) crosses with
       probability at most 0.01/143, all such cells together at most 1 %, so a lone outlier
       does not move a bound.
    2. *Edges.* Gaussian histogram of the values clipped into those bounds over ``FINE_CELLS``
       equal-width cells (log1p-spaced when ``lower >= 0`` and the released positive octaves span
       at least 2^10; one cell per integer when an integer range is at most 1,024 wide), plus a
       cell for exact zeros. Post-processing: the bounds shrink to the outer fine cells crossing
       the same kind of threshold; counts below ``2 sigma`` are zeroed, the rest give a monotone
       CDF whose ``1/bins, ..., (bins-1)/bins`` quantiles (interpolated within cells) are the
       inner ``edges``; edges are de-duplicated, rounded for integer columns, and
       ``edges[0] == lower``, ``edges[-1] == upper``. Zeros of a number column get a point mass (and
       are left out of the CDF) when their noisy share is at least 0.3. Values outside the
       bounds are clipped into them later, by the codec.

    Categorical: a stability-based histogram over the observed keys; keys whose noisy count
    exceeds ``tau = k + sigma * Phi^-1(1 - delta_c / k)`` are released, sorted (booleans, then
    numbers, then strings). Boolean: the domain {false, true} is public by type; the column is
    returned unchanged at no cost. Missing values are ignored and ``nullable`` is kept as is.

    Privacy: see the module docstring. Each histogram has L2 sensitivity ``k =
    schema.max_rows_per_person`` (one person's ``k`` rows can all land in one cell), and the
    call is ``delta_used``-approximately ``rho``-zCDP, with ``delta_used = delta`` when a
    categorical column is estimated and 0 otherwise.

    Args:
        chunks: returns a fresh iterable of DataFrames over the whole table each time it is called;
            called once, or twice when a numeric column is estimated.
        schema: the table's schema.
        columns: names of the columns to estimate (numeric, categorical or boolean).
        accountant: charged once per noisy release, ``spend("domain", rho_i, column=..., method=...,
            sigma=..., ...)``; the charges add up to ``rho`` when any column needs a release.
        rho: zCDP budget of this call, > 0.
        delta: approximate-DP budget, in [0, 1); must be > 0 when a categorical column is listed.
        rng: source of all noise.
        bins: number of bins between the estimated bounds of a numeric column (before
            de-duplication), 2 to 4096.

    Returns:
        The new schema, the charged phases and the delta used.

    Raises:
        SchemaError: unknown, repeated or unmodeled column, bad ``bins``, or (after spending,
            recorded in the accountant) a release too noisy to yield bounds or any category.
        BudgetError: ``rho`` or ``delta`` invalid, or ``rho`` exceeds the accountant's remainder.
        DataError: the data lacks a column or holds a value that does not parse (nothing spent).

    >>> import numpy as np, pandas as pd
    >>> from app.engine.schema import ColumnSchema, ColumnType, TableSchema
    >>> df = pd.DataFrame({"colour": ["red"] * 500 + ["blue"] * 300 + ["mauve"]})
    >>> schema = TableSchema((ColumnSchema("colour", ColumnType.CATEGORICAL),))
    >>> acct = Accountant(1.0)
    >>> out = estimate_domains(lambda: [df], schema, ["colour"], accountant=acct, rho=0.5,
    ...                        delta=1e-6, rng=np.random.default_rng(0))
    >>> out.schema.column("colour").domain.categories, acct.spent, out.delta_used
    (('blue', 'red'), 0.5, 1e-06)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 2 <= bins <= 4096:
        raise SchemaError(f"bins must be an integer from 2 to 4096, got {bins!r}")
    k = schema.max_rows_per_person
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise SchemaError(f"max_rows_per_person must be an integer >= 1, got {k!r}")
    selected = _select_columns(schema, columns)
    numeric = [
        _Numeric(col=c, unit=datetime_unit(c), integer=c.type != ColumnType.NUMERICAL, coarse=np.zeros(GRID_CELLS))
        for c in selected
        if c.type in _NUMERIC
    ]
    categorical = [c for c in selected if c.type in _CATEGORICAL]
    rho, delta = _check_budget(rho, delta, accountant, needs_delta=bool(categorical))
    n_paid = len(numeric) + len(categorical)
    if n_paid == 0:
        return EstimatedDomains(schema=schema, phases=[], delta_used=0.0)
    rho_col = rho / n_paid
    delta_c = delta / len(categorical) if categorical else 0.0
    phases: list[dict[str, Any]] = []
    domains: dict[str, Domain] = {}

    def charge(column: str, rho_i: float, **details: Any) -> None:
        accountant.spend("domain", rho_i, column=column, **details)
        phases.append({"name": "domain", "rho": rho_i, "column": column, **details})

    # Pass 1: exact grid counts (numeric) and key counts (categorical); noise is drawn only after
    # the whole pass has read cleanly, so a DataError costs nothing.
    keys: dict[str, dict[Any, int]] = {c.name: {} for c in categorical}
    for frame in chunks():
        for num in numeric:
            num.coarse += _grid_counts(_numbers(frame, num.col, num.unit))
        for col in categorical:
            _count_keys(_series(frame, col), keys[col.name])

    by_name = {num.col.name: num for num in numeric}
    for col in selected:  # schema order, so noise draws do not depend on the order of ``columns``
        if col.name in by_name:
            _release_bounds(by_name[col.name], k, rho_col / 2, rng, charge)
        elif col.type in _CATEGORICAL:
            domains[col.name] = _release_keys(col, keys.pop(col.name), k, rho_col, delta_c, rng, charge)

    # Pass 2: fine histograms within the released bounds.
    if numeric:
        for num in numeric:
            _plan_fine(num)
        for frame in chunks():
            for num in numeric:
                num.fine += _fine_counts(_numbers(frame, num.col, num.unit), num.edges)
        for num in numeric:
            domains[num.col.name] = _release_edges(num, k, rho_col - rho_col / 2, bins, rng, charge)

    out = schema
    for name, dom in domains.items():
        out = out.with_column(replace(schema.column(name), domain=dom))
    return EstimatedDomains(schema=out, phases=phases, delta_used=delta if categorical else 0.0)


# --- validation ------------------------------------------------------------------------------


def _select_columns(schema: TableSchema, columns: list[str]) -> list[ColumnSchema]:
    """The listed columns in schema order; SchemaError for unknown, repeated or unmodeled ones."""
    if isinstance(columns, str):
        raise SchemaError("columns must be a list of column names, not one string")
    names = list(columns)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SchemaError(f"columns lists {', '.join(map(repr, dupes))} more than once")
    for name in names:
        col = schema.column(name)  # SchemaError if unknown
        if col.type in UNMODELED_TYPES or col.sensitivity == Sensitivity.DIRECT_IDENTIFIER:
            raise SchemaError(
                f"column {name!r} is {'a direct identifier' if col.type not in UNMODELED_TYPES else col.type}"
                " and is never modeled: it has no domain to estimate"
            )
    wanted = set(names)
    return [c for c in schema.columns if c.name in wanted]


def _check_budget(rho: float, delta: float, accountant: Accountant, *, needs_delta: bool) -> tuple[float, float]:
    try:
        rho, delta = float(rho), float(delta)
    except (TypeError, ValueError):
        raise BudgetError(f"rho and delta must be numbers, got {rho!r} and {delta!r}") from None
    if not math.isfinite(rho) or rho <= 0:
        raise BudgetError(f"rho for domain estimation must be a finite positive number, got {rho!r}")
    if not math.isfinite(delta) or not 0 <= delta < 1:
        raise BudgetError(f"delta for domain estimation must be in [0, 1), got {delta!r}")
    if needs_delta and delta == 0:
        raise BudgetError("discovering categories needs delta > 0 (or declare the categories)")
    if accountant.spent + rho > accountant.rho_budget * (1 + SPEND_RTOL):
        raise BudgetError(f"domain estimation needs rho={rho:.6g} but only rho={accountant.remaining:.6g} remains")
    return rho, delta


# --- reading values --------------------------------------------------------------------------


def _series(frame: pd.DataFrame, col: ColumnSchema) -> pd.Series:
    if col.name not in frame.columns:
        raise DataError(f"the data has no column {col.name!r}")
    values = frame[col.name]
    return values[values.notna()]


def _numbers(frame: pd.DataFrame, col: ColumnSchema, unit: str | None) -> np.ndarray:
    """Non-missing values as floats (datetimes as whole days or seconds since the epoch)."""
    return parse_numbers(_series(frame, col), col, unit)


def _count_keys(values: pd.Series, counts: dict[Any, int]) -> None:
    for key, n in values.value_counts(sort=False).items():
        key = _canonical(key)
        counts[key] = counts.get(key, 0) + int(n)


def _canonical(value: Any) -> Any:
    """A JSON scalar for a category key: numpy scalars unwrapped, integral floats as ints."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int | float):
        return value
    return str(value)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, value)
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))


# --- categorical -----------------------------------------------------------------------------


def _release_keys(
    col: ColumnSchema,
    counts: dict[Any, int],
    k: int,
    rho_c: float,
    delta_c: float,
    rng: np.random.Generator,
    charge: Callable[..., None],
) -> Domain:
    """Thresholded Gaussian histogram over the observed keys (stability-based histogram)."""
    sigma = gaussian_sigma(k, rho_c)
    tau = k + sigma * float(norm.isf(delta_c / k))
    charge(col.name, rho_c, method="thresholded_key_histogram", sigma=sigma, threshold=tau, delta=delta_c)
    ordered = sorted(counts, key=_sort_key)
    exact = np.array([counts[key] for key in ordered], dtype=float)
    noisy = exact + rng.normal(0.0, sigma, size=exact.size)
    released = tuple(key for key, value in zip(ordered, noisy, strict=True) if value > tau)
    if not released:
        raise SchemaError(
            f"column {col.name!r}: no category passed the DP threshold (the budget is too small to"
            " discover categories); declare its categories instead"
        )
    return Domain(categories=released, public=True, source=DomainSource.DP_ESTIMATED)


# --- numeric, pass 1 -------------------------------------------------------------------------


def _grid_counts(x: np.ndarray) -> np.ndarray:
    cells = np.full(x.size, _ZERO_CELL, dtype=np.int64)
    nonzero = x != 0
    mag = np.abs(x[nonzero])
    with np.errstate(over="ignore"):
        octave = np.clip(np.floor(np.log2(mag)), GRID_MIN_EXP, GRID_MAX_EXP).astype(np.int64) - GRID_MIN_EXP
    cells[nonzero] = np.where(x[nonzero] > 0, _ZERO_CELL + 1 + octave, _ZERO_CELL - 1 - octave)
    return np.bincount(cells, minlength=GRID_CELLS).astype(float)


def _threshold(k: int, sigma: float, cells: int) -> float:
    """Bounds threshold: an empty or single-person cell crosses with probability FALSE_CELL_RATE / cells."""
    return k + sigma * float(norm.isf(FALSE_CELL_RATE / cells))


def _release_bounds(num: _Numeric, k: int, rho_1: float, rng: np.random.Generator, charge: Callable[..., None]) -> None:
    sigma = gaussian_sigma(k, rho_1)
    tau = _threshold(k, sigma, GRID_CELLS)
    charge(num.col.name, rho_1, method="bounds_histogram", sigma=sigma, threshold=tau, cells=GRID_CELLS)
    noisy = num.coarse + rng.normal(0.0, sigma, size=GRID_CELLS)
    passing = np.flatnonzero(noisy > tau)
    if passing.size == 0:
        raise SchemaError(
            f"column {num.col.name!r}: no value range passed the DP threshold (the budget is too small"
            " for this many rows to estimate bounds); declare its bounds instead"
        )
    lower, upper = GRID_EDGES[0][passing[0]], GRID_EDGES[1][passing[-1]]
    positive = passing[passing > _ZERO_CELL]
    smallest = max(GRID_EDGES[0][positive[0]], 2.0**GRID_MIN_EXP) if positive.size else None
    num.log = bool(lower >= 0 and smallest is not None and upper >= LOG_SPAN * max(lower, smallest))
    if num.integer:
        lower, upper = float(math.floor(lower)), float(math.ceil(upper))
    if num.unit is not None:
        lo_lim, hi_lim = _DATETIME_LIMITS[num.unit]
        lower, upper = min(max(lower, lo_lim), hi_lim - 1), max(min(upper, hi_lim), lo_lim + 1)
    if upper <= lower:  # only the zero cell passed
        upper = lower + 1.0
    num.lower, num.upper = float(lower), float(upper)


# --- numeric, pass 2 -------------------------------------------------------------------------


def _plan_fine(num: _Numeric) -> None:
    lo, hi = num.lower, num.upper
    if num.integer and hi - lo <= MAX_INTEGER_CELLS:
        edges = np.arange(lo, hi + 2.0)
    elif num.log:
        edges = np.expm1(np.linspace(np.log1p(lo), np.log1p(hi), FINE_CELLS + 1))
    else:
        edges = np.linspace(lo, hi, FINE_CELLS + 1)
    if num.integer:
        # Integer cells are [a, b) holding the integers a..b-1, the last one included (it ends at hi + 1).
        edges = np.unique(np.round(edges))
        edges[-1] = hi + 1.0
    edges[0] = lo
    if not num.integer:
        edges[-1] = hi
    num.edges = edges
    num.fine = np.zeros(edges.size)  # edges.size - 1 cells, then the zero cell


def _fine_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    n = edges.size - 1
    cells = np.clip(np.searchsorted(edges, np.clip(x, edges[0], edges[-1]), side="right") - 1, 0, n - 1)
    cells[x == 0] = n
    return np.bincount(cells, minlength=n + 1).astype(float)


def _release_edges(
    num: _Numeric, k: int, rho_2: float, bins: int, rng: np.random.Generator, charge: Callable[..., None]
) -> Domain:
    edges = num.edges
    n = edges.size - 1
    sigma = gaussian_sigma(k, rho_2)
    tau = _threshold(k, sigma, n + 1)
    charge(
        num.col.name,
        rho_2,
        method="quantile_histogram",
        sigma=sigma,
        threshold=tau,
        cells=n + 1,
        scale="log" if num.log else "linear",
    )
    noisy = num.fine + rng.normal(0.0, sigma, size=n + 1)
    cell_counts, zero_count = noisy[:n], noisy[n]
    zero_cell = int(np.clip(np.searchsorted(edges, np.clip(0.0, edges[0], edges[-1]), side="right") - 1, 0, n - 1))

    # Tighten the bounds to the outer fine cells that cross the threshold (zeros count for the
    # fine cell that contains 0); keep the pass-1 bounds if none does.
    passing = cell_counts > tau
    if zero_count > tau:
        passing[zero_cell] = True
    hits = np.flatnonzero(passing)
    first, last = (int(hits[0]), int(hits[-1])) if hits.size else (0, n - 1)
    lower, upper = float(edges[first]), float(edges[last + 1])
    if num.integer:
        upper = max(upper - 1.0, lower + 1.0)  # the largest integer of the last passing cell

    mass = np.where(cell_counts > NOISE_FLOOR * sigma, cell_counts, 0.0)
    zeros = zero_count if zero_count > NOISE_FLOOR * sigma else 0.0
    total = mass.sum() + zeros
    point_mass = bool(num.unit is None and total > 0 and zeros / total >= ZERO_SHARE and lower <= 0 <= upper)
    if not point_mass:
        mass[zero_cell] += zeros
    # Mass outside the tightened bounds is clipped into the end cells.
    inner = mass[first : last + 1].copy()
    inner[0] += mass[:first].sum()
    inner[-1] += mass[last + 1 :].sum()
    out = _quantile_edges(inner, edges[first : last + 2], bins, num.log)
    if num.integer:
        out = np.round(out)
    out = np.unique(np.clip(out, lower, upper))
    out[0], out[-1] = lower, upper
    if point_mass and num.integer and out.size > 2 and out[0] == 0 and out[1] == 1:
        out = np.delete(out, 1)  # the bin [0, 1) would hold nothing but the point mass

    base = num.col.domain
    return Domain(
        lower=_bound_value(lower, num),
        upper=_bound_value(upper, num),
        edges=tuple(float(e) for e in out),
        point_masses=(0.0,) if point_mass else (),
        scale="log" if num.log else "linear",
        decimals=base.decimals if base is not None else None,
        format=base.format if base is not None else None,
        public=True,
        source=DomainSource.DP_ESTIMATED,
    )


def _quantile_edges(mass: np.ndarray, edges: np.ndarray, bins: int, log: bool) -> np.ndarray:
    """``bins + 1`` edges at the quantiles of the histogram ``mass`` over cells ``edges`` (monotone CDF)."""
    lo, hi = float(edges[0]), float(edges[-1])
    total = float(mass.sum())
    if total <= 0:  # nothing above the noise floor: fall back to evenly spaced edges
        if log:
            return np.expm1(np.linspace(np.log1p(lo), np.log1p(hi), bins + 1))
        return np.linspace(lo, hi, bins + 1)
    cdf = np.concatenate([[0.0], np.cumsum(mass)]) / total
    cdf[-1] = 1.0
    q = np.arange(1, bins) / bins
    idx = np.clip(np.searchsorted(cdf, q, side="left"), 1, edges.size - 1)  # cdf[idx-1] < q <= cdf[idx]
    width = cdf[idx] - cdf[idx - 1]
    frac = np.clip(np.divide(q - cdf[idx - 1], width, out=np.zeros_like(q), where=width > 0), 0.0, 1.0)
    a, b = edges[idx - 1], edges[idx]
    if log:
        inner = np.expm1(np.log1p(a) + frac * (np.log1p(b) - np.log1p(a)))
    else:
        inner = a + frac * (b - a)
    return np.concatenate([[lo], inner, [hi]])


def _bound_value(value: float, num: _Numeric) -> float | int | str:
    if num.unit == "D":
        return (pd.Timestamp(0) + pd.Timedelta(days=int(value))).strftime("%Y-%m-%d")
    if num.unit == "s":
        return (pd.Timestamp(0) + pd.Timedelta(seconds=int(value))).isoformat()
    if num.integer:
        return int(value)
    return float(value)
