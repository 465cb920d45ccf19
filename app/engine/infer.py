"""Propose a :class:`~app.engine.schema.TableSchema` by reading a table once.

The proposal is a starting point for a human to review, not something to model from as is:
every domain it contains was read off the data (``source="inferred", public=False``), so it is
not differentially private, and the engine refuses it unless the caller declares it public or
pays for a DP estimate. Direct identifiers are found before anything else (:mod:`app.engine.pii`).

One streaming pass keeps, per column, running min/max, null and zero counts, whole-number and
decimal checks, distinct values up to a cap, hashes for distinct counts, surviving date formats,
and a seeded bottom-k sample of whole rows for the PII and shape checks. The output is the same
for the same input, whether it comes as a file or a DataFrame.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from app.engine import pii
from app.engine.errors import DataError
from app.engine.io import check_header, iter_chunks
from app.engine.schema import ColumnSchema, ColumnType, Domain, DomainSource, Sensitivity, TableSchema

CHUNK_ROWS = 200_000
SAMPLE_ROWS = 5_000
# Up to this many distinct values a text column is categorical without further ado.
SMALL_CATEGORIES = 64
# Category lists are kept up to this size; beyond it the domain lists none.
MAX_CATEGORIES = 1_000
# Exact distinct counts (by 64-bit hash) up to this many values per column.
MAX_HASHES = 1_000_000
NEARLY_DISTINCT = 0.95
ZERO_INFLATED = 0.3
MAX_DECIMALS = 12

DP_NOTE = (
    "Every domain in this schema was inferred from the data (source='inferred', public=false): the "
    "bounds and categories were read off the records, are NOT differentially private, and the engine "
    "will refuse them unless you declare them public (replace them with values known without looking "
    "at the data) or pay for them with DP domain estimation from the privacy budget."
)

BOOLEAN_PAIRS = (
    frozenset({"true", "false"}),
    frozenset({"yes", "no"}),
    frozenset({"y", "n"}),
    frozenset({"t", "f"}),
    frozenset({"0", "1"}),
)

DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%d %b %Y",
    "%b %d %Y",
)

# Column-name words that suggest special categories of data (GDPR Art. 9 / CCPA SPI), mapped to
# the schema's SPECIAL_CATEGORIES. Whole-token words first, then stems matched inside tokens.
_SPECIAL_WORDS = {
    "race": "ethnicity",
    "racial": "ethnicity",
    "union": "trade_union",
    "unionized": "trade_union",
    "dna": "genetic",
    "hiv": "health",
    "faith": "religion",
    "sexuality": "sexual_orientation",
    "fingerprint": "biometric",
    "conviction": "criminal",
    "convictions": "criminal",
}
_SPECIAL_STEMS = (
    ("health", "health"),
    ("diagnos", "health"),
    ("disease", "health"),
    ("medical", "health"),
    ("medication", "health"),
    ("disabilit", "health"),
    ("illness", "health"),
    ("religio", "religion"),
    ("ethnic", "ethnicity"),
    ("politic", "political_opinion"),
    ("biometric", "biometric"),
    ("genetic", "genetic"),
    ("genome", "genetic"),
    ("criminal", "criminal"),
)
_QUASI_WORDS = frozenset(
    {
        "age",
        "sex",
        "gender",
        "zip",
        "zipcode",
        "postcode",
        "postal",
        "birth",
        "dob",
        "birthdate",
        "birthday",
        "marital",
        "nationality",
        "citizenship",
        "occupation",
        "profession",
        "job",
        "education",
    }
)
_ID_WORDS = frozenset(
    {
        "id",
        "ids",
        "uuid",
        "guid",
        "identifier",
        "userid",
        "customerid",
        "patientid",
        "recordid",
        "rowid",
        "accountid",
        "personid",
        "memberid",
    }
)


def infer_schema(source: str | Path | pd.DataFrame, *, name: str | None = None) -> TableSchema:
    """Propose column types, inferred domains and sensitivity classes for a table.

    Args:
        source: a CSV/Parquet path (read in one streaming pass) or a DataFrame.
        name: the schema's name; defaults to the file's stem (None for a DataFrame).

    Returns:
        A schema whose domains are all ``source="inferred", public=False`` and whose ``notes`` say
        they are not differentially private; direct identifiers get type ``identifier``.

    Raises:
        DataError: the file cannot be read, or the table has no rows.

    >>> df = pd.DataFrame({"age": [23, 35, 51, 35], "smoker": ["yes", "no", "no", "yes"]})
    >>> [(c.name, str(c.type), str(c.sensitivity)) for c in infer_schema(df).columns]
    [('age', 'integer', 'quasi_identifier'), ('smoker', 'boolean', 'ordinary')]
    """
    if isinstance(source, pd.DataFrame):
        header = [str(c) for c in source.columns]
        check_header(header)
        frame = source.set_axis(header, axis=1)
        chunks: Iterator[pd.DataFrame] = (
            frame.iloc[i : i + CHUNK_ROWS].reset_index(drop=True) for i in range(0, len(frame), CHUNK_ROWS)
        )
    else:
        path = Path(source)
        chunks = iter_chunks(path, chunk_rows=CHUNK_ROWS)
        if name is None:
            name = path.stem
    stats: dict[str, _ColumnStats] = {}
    sampler = _BottomK(SAMPLE_ROWS, seed=0)
    for chunk in chunks:
        if not stats:
            stats = {col: _ColumnStats(col) for col in chunk.columns}
        for col in chunk.columns:
            stats[col].update(chunk[col])
        sampler.update(chunk)
    if not stats or sampler.sample is None:
        raise DataError("the table has no rows: nothing to infer a schema from")
    sample = sampler.sample
    columns: list[ColumnSchema] = []
    notes: list[str] = [DP_NOTE]
    for col, st in stats.items():
        column, col_notes = _propose(st, sample[col])
        columns.append(column)
        notes.extend(col_notes)
    return TableSchema(columns=tuple(columns), name=name, notes=tuple(notes))


# --- streaming statistics --------------------------------------------------------------------


class _BottomK:
    """Uniform sample of rows without replacement: keep the rows with the ``k`` smallest random keys.

    Keys come from one seeded generator in row order, so the sample does not depend on chunking.
    """

    def __init__(self, k: int, *, seed: int) -> None:
        self.k = k
        self._rng = np.random.default_rng(seed)
        self.sample: pd.DataFrame | None = None
        self._keys = np.empty(0)

    def update(self, chunk: pd.DataFrame) -> None:
        keys = self._rng.random(len(chunk))
        if len(chunk) == 0:
            return
        frame = chunk.reset_index(drop=True)
        if self.sample is not None:
            frame = pd.concat([self.sample, frame], ignore_index=True)
            keys = np.concatenate([self._keys, keys])
        if len(keys) > self.k:
            keep = np.argpartition(keys, self.k - 1)[: self.k]
        else:
            keep = np.arange(len(keys))
        keep = keep[np.argsort(keys[keep], kind="stable")]
        self.sample = frame.iloc[keep].reset_index(drop=True)
        self._keys = keys[keep]


@dataclass
class _ColumnStats:
    """Running statistics of one column."""

    name: str
    rows: int = 0
    nulls: int = 0
    kind: str | None = None  # "bool", "datetime", "numeric" (native dtype) or "object"
    numeric: bool = True  # every non-null value so far parsed as a finite number
    lo: float = np.inf
    hi: float = -np.inf
    zeros: int = 0
    whole: bool = True
    decimals: int = 0
    counts: dict[Any, int] | None = field(default_factory=dict)
    hashes: np.ndarray | None = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    date_formats: dict[str, list[pd.Timestamp]] | None = None
    dt_lo: pd.Timestamp | None = None
    dt_hi: pd.Timestamp | None = None
    dt_has_time: bool = False

    @property
    def nonnull(self) -> int:
        return self.rows - self.nulls

    @property
    def distinct(self) -> int | None:
        """Exact number of distinct non-null values, or None beyond :data:`MAX_HASHES`."""
        return None if self.hashes is None else len(self.hashes)

    def update(self, series: pd.Series) -> None:
        values = series.dropna()
        self.rows += len(series)
        self.nulls += len(series) - len(values)
        if len(values) == 0:
            return
        if self.kind is None:
            self.kind = _native_kind(values)
        self._update_distinct(values)
        if self.kind == "bool":
            self.numeric = False
        elif self.kind == "datetime":
            self.numeric = False
            self._update_native_dates(values)
        else:
            if self.numeric:
                self._update_numeric(values)
            if not self.numeric and self.kind == "object":
                self._update_dates(values)

    def _update_distinct(self, values: pd.Series) -> None:
        if self.counts is not None:
            for key, count in values.value_counts(sort=False).items():
                self.counts[key] = self.counts.get(key, 0) + int(count)
            if len(self.counts) > MAX_CATEGORIES:
                self.counts = None
        if self.hashes is not None:
            hashed = pd.util.hash_pandas_object(values, index=False).to_numpy()
            self.hashes = np.union1d(self.hashes, hashed)
            if len(self.hashes) > MAX_HASHES:
                self.hashes = None

    def _update_numeric(self, values: pd.Series) -> None:
        if self.kind == "object":
            x = _parse_numbers(values)
            if x is None:
                self.numeric = False
                return
        else:
            x = values.to_numpy(dtype=float)
        if not np.isfinite(x).all():
            self.numeric = False
            return
        self.lo = min(self.lo, float(x.min()))
        self.hi = max(self.hi, float(x.max()))
        self.zeros += int((x == 0).sum())
        frac = x[x != np.floor(x)]
        if len(frac):
            self.whole = False
            self.decimals = max(self.decimals, _decimals(frac))

    def _update_dates(self, values: pd.Series) -> None:
        if self.date_formats is None:
            head = values.iloc[:200].astype(str)
            # Screen formats on the first value with the (cheap) stdlib parser, then on the head.
            first = head.iloc[0]
            formats = [fmt for fmt in DATE_FORMATS if _parses(first, fmt)]
            self.date_formats = {fmt: [] for fmt in formats if pd.to_datetime(head, format=fmt, errors="coerce").notna().all()}
        for fmt in list(self.date_formats):
            parsed = pd.to_datetime(values.astype(str), format=fmt, errors="coerce")
            if parsed.isna().any():
                del self.date_formats[fmt]
                continue
            bounds = self.date_formats[fmt]
            lo, hi = parsed.min(), parsed.max()
            self.date_formats[fmt] = [min(bounds[0], lo), max(bounds[1], hi)] if bounds else [lo, hi]

    def _update_native_dates(self, values: pd.Series) -> None:
        lo, hi = values.min(), values.max()
        self.dt_lo = lo if self.dt_lo is None else min(self.dt_lo, lo)
        self.dt_hi = hi if self.dt_hi is None else max(self.dt_hi, hi)
        if not self.dt_has_time:
            self.dt_has_time = bool((values.dt.normalize() != values).any())


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _parse_numbers(values: pd.Series) -> np.ndarray | None:
    """The values as float64 if every one is a number written as such, else None."""
    try:
        text = pa.array(values.astype(str).to_numpy(), type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    # Codes such as ZIPs and account numbers keep their leading zeros: they are not numbers.
    if pc.any(pc.match_substring_regex(text, r"^\s*[-+]?0\d")).as_py():
        return None
    try:
        # A failure in the first values is the common case for text columns: fail fast on them.
        pc.cast(pc.utf8_trim_whitespace(text[:100]), pa.float64())
        return pc.cast(pc.utf8_trim_whitespace(text), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _native_kind(values: pd.Series) -> str:
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    return "object"


def _decimals(frac: np.ndarray) -> int:
    """Fewest decimals (up to :data:`MAX_DECIMALS`) that represent every value."""
    tol = 1e-9 * np.maximum(1.0, np.abs(frac))
    for d in range(1, MAX_DECIMALS + 1):
        if np.all(np.abs(np.round(frac, d) - frac) <= tol):
            return d
    return MAX_DECIMALS


# --- proposal --------------------------------------------------------------------------------


def _propose(st: _ColumnStats, sample: pd.Series) -> tuple[ColumnSchema, list[str]]:
    notes: list[str] = []
    nullable = st.nulls > 0
    if st.nonnull == 0:
        notes.append(f"{st.name}: every value is missing; proposed as text and dropped from the output")
        col = ColumnSchema(st.name, ColumnType.TEXT, nullable=True, identifier_handling="drop")
        return col, notes
    finding = pii.detect_pii(st.name, sample.dropna())
    if finding is not None:
        notes.append(f"{st.name}: looks like {finding.kind} ({finding.reason}; confidence {finding.confidence:.2f})")
    if finding is not None and finding.direct:
        col = ColumnSchema(
            st.name,
            ColumnType.IDENTIFIER,
            sensitivity=Sensitivity.DIRECT_IDENTIFIER,
            nullable=nullable,
            pii=finding.kind,
        )
        return col, notes
    ctype, domain = _type_and_domain(st, sample, finding, notes)
    if ctype == ColumnType.IDENTIFIER:
        col = ColumnSchema(st.name, ctype, sensitivity=Sensitivity.DIRECT_IDENTIFIER, nullable=nullable)
        return col, notes
    if ctype == ColumnType.TEXT:
        col = ColumnSchema(st.name, ctype, nullable=nullable, identifier_handling="drop")
        notes.append(f"{st.name}: long free text; not modeled and dropped from the output")
        return col, notes
    sensitivity, special = _sensitivity(st.name, finding)
    col = ColumnSchema(
        st.name,
        ctype,
        domain=domain,
        sensitivity=sensitivity,
        special_category=special,
        nullable=nullable,
        pii=finding.kind if finding is not None else None,
    )
    return col, notes


def _type_and_domain(
    st: _ColumnStats, sample: pd.Series, finding: pii.PiiFinding | None, notes: list[str]
) -> tuple[ColumnType, Domain | None]:
    counts = st.counts
    if st.kind == "bool":
        return ColumnType.BOOLEAN, _inferred(categories=(False, True))
    if st.kind == "datetime":
        fmt = "%Y-%m-%dT%H:%M:%S" if st.dt_has_time else "%Y-%m-%d"
        return ColumnType.DATETIME, _inferred(lower=_iso(st.dt_lo, fmt), upper=_iso(st.dt_hi, fmt), format=fmt)
    if counts is not None and len(counts) == 2 and _boolean_like(counts):
        return ColumnType.BOOLEAN, _inferred(categories=_sorted_categories(counts))
    if counts is not None and len(counts) == 1:
        return ColumnType.CATEGORICAL, _inferred(categories=_sorted_categories(counts))
    if finding is not None and finding.kind == "postcode":
        return ColumnType.CATEGORICAL, _categorical_domain(st, notes)
    distinct_share = _distinct_share(st, sample)
    if _id_like(st.name) and distinct_share >= 1.0 and st.nonnull >= 10:
        notes.append(f"{st.name}: every value is distinct and the name suggests a key; proposed as identifier")
        return ColumnType.IDENTIFIER, None
    if st.numeric:
        return _numeric(st, sample)
    if st.date_formats:
        fmt = next(f for f in DATE_FORMATS if f in st.date_formats)
        lo, hi = st.date_formats[fmt]
        iso = "%Y-%m-%d" if all(t == t.normalize() for t in (lo, hi)) and "%H" not in fmt else "%Y-%m-%dT%H:%M:%S"
        return ColumnType.DATETIME, _inferred(lower=_iso(lo, iso), upper=_iso(hi, iso), format=fmt)
    if _long_text(sample):
        return ColumnType.TEXT, None
    distinct = st.distinct
    if distinct is not None and distinct <= SMALL_CATEGORIES:
        return ColumnType.CATEGORICAL, _categorical_domain(st, notes)
    if distinct_share >= NEARLY_DISTINCT:
        notes.append(
            f"{st.name}: {distinct_share:.0%} of values are distinct (high-cardinality text); "
            "proposed as identifier and replaced by fake values"
        )
        return ColumnType.IDENTIFIER, None
    return ColumnType.CATEGORICAL, _categorical_domain(st, notes)


def _numeric(st: _ColumnStats, sample: pd.Series) -> tuple[ColumnType, Domain]:
    ctype = ColumnType.INTEGER if st.whole else ColumnType.NUMERICAL
    lower: float = int(st.lo) if st.whole else st.lo
    upper: float = int(st.hi) if st.whole else st.hi
    zero_share = st.zeros / st.nonnull
    point_masses = (0,) if zero_share >= ZERO_INFLATED and st.lo <= 0 <= st.hi else ()
    x = pd.to_numeric(sample.dropna().astype(str) if st.kind == "object" else sample.dropna(), errors="coerce")
    scale = "log" if st.lo >= 0 and _heavy_tailed(np.asarray(x, dtype=float)) else "linear"
    domain = _inferred(
        lower=lower,
        upper=upper,
        point_masses=point_masses,
        scale=scale,
        decimals=None if st.whole else st.decimals,
    )
    return ctype, domain


def _heavy_tailed(x: np.ndarray) -> bool:
    """Right-skewed positive values whose logarithm is roughly symmetric (amounts, incomes)."""
    pos = x[np.isfinite(x) & (x > 0)]
    if len(np.unique(pos)) < 20:
        return False
    skew, log_skew = _skew(pos), _skew(np.log(pos))
    q50, q99 = np.quantile(pos, [0.5, 0.99])
    return bool(skew >= 1.0 and abs(log_skew) < 0.5 * skew and q99 >= 4 * q50)


def _skew(x: np.ndarray) -> float:
    centred = x - x.mean()
    sd = np.sqrt(np.mean(centred**2))
    return float(np.mean(centred**3) / sd**3) if sd > 0 else 0.0


def _distinct_share(st: _ColumnStats, sample: pd.Series) -> float:
    if st.distinct is not None:
        return st.distinct / st.nonnull
    values = sample.dropna()
    return values.nunique() / len(values) if len(values) else 0.0


def _long_text(sample: pd.Series) -> bool:
    values = sample.dropna().astype(str)
    if len(values) == 0:
        return False
    return bool(values.str.len().mean() >= 40 and values.str.split().str.len().mean() >= 5)


def _boolean_like(counts: dict[Any, int]) -> bool:
    keys = {_bool_text(k) for k in counts}
    return any(keys == pair for pair in BOOLEAN_PAIRS)


def _bool_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, (int, float, np.integer, np.floating)) and float(value) in (0.0, 1.0):
        return str(int(value))
    return str(value).lower()


def _categorical_domain(st: _ColumnStats, notes: list[str]) -> Domain:
    if st.counts is None:
        notes.append(
            f"{st.name}: more than {MAX_CATEGORIES} distinct values; the domain lists no categories: "
            "declare them, or have them estimated with DP"
        )
        return _inferred()
    return _inferred(categories=_sorted_categories(st.counts))


def _sorted_categories(counts: dict[Any, int]) -> tuple[Any, ...]:
    values = [_plain(v) for v in counts]
    return tuple(
        sorted(
            values,
            key=lambda v: (type(v).__name__, v) if isinstance(v, (int, float, str)) else (type(v).__name__, str(v)),
        )
    )


def _plain(value: Any) -> Any:
    """A JSON-ready Python scalar."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def _iso(ts: pd.Timestamp | None, fmt: str) -> str | None:
    return None if ts is None else pd.Timestamp(ts).strftime(fmt)


def _inferred(**kwargs: Any) -> Domain:
    return Domain(public=False, source=DomainSource.INFERRED, **kwargs)


def _id_like(name: str) -> bool:
    return any(t in _ID_WORDS for t in pii.name_tokens(name))


def _sensitivity(name: str, finding: pii.PiiFinding | None) -> tuple[Sensitivity, str | None]:
    special = special_category_of(name)
    if special is not None:
        return Sensitivity.SPECIAL_CATEGORY, special
    if finding is not None or is_quasi_identifier_name(name):
        return Sensitivity.QUASI_IDENTIFIER, None
    return Sensitivity.ORDINARY, None


def special_category_of(name: str) -> str | None:
    """The special category (GDPR Art. 9 / CCPA SPI) a column name suggests, or None.

    >>> special_category_of("race"), special_category_of("Diagnosis_Code"), special_category_of("trace_id")
    ('ethnicity', 'health', None)
    """
    tokens = pii.name_tokens(name)
    if "sexual" in tokens and ("orientation" in tokens or "preference" in tokens):
        return "sexual_orientation"
    if "trade" in tokens and "union" in tokens:
        return "trade_union"
    for token in tokens:
        if token in _SPECIAL_WORDS:
            return _SPECIAL_WORDS[token]
    for token in tokens:
        for stem, category in _SPECIAL_STEMS:
            if stem in token:
                return category
    return None


def is_quasi_identifier_name(name: str) -> bool:
    """True for names of classic quasi-identifiers (age, sex, ZIP, birth, marital status, ...).

    >>> is_quasi_identifier_name("native-country"), is_quasi_identifier_name("percentage")
    (True, False)
    """
    tokens = pii.name_tokens(name)
    if any(t in _QUASI_WORDS for t in tokens):
        return True
    return "native" in tokens and ("country" in tokens or "language" in tokens)
