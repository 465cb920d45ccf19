"""Column metadata the metrics need: types, public domains and analysis roles.

Three inputs are accepted by :meth:`Metadata.from_any`:

* the plain mapping defined here::

    {
      "columns": {
        "age": {"type": "integer", "lower": 17, "upper": 90},
        "income": {"type": "categorical", "categories": ["<=50K", ">50K"]},
        "joined": {"type": "datetime", "lower": "2000-01-01", "upper": "2024-12-31"}
      },
      "target": "income", "positive_label": ">50K",
      "treatment": "education-num", "treated_value": 12,      # numeric: treated when value > 12
      "outcome": "income", "outcome_positive": ">50K",
      "confounders": ["age", "sex"], "subgroups": ["sex", "race"],
      "quasi_identifiers": ["age", "sex", "race"], "sensitive": ["income"],
      "rare_class": ">50K"
    }

  (a column may also give ``edges``, ``bins`` and ``scale: log`` for public binning);
* the engine's schema document (``{"columns": [{"name", "type", "domain", "roles",
  "sensitivity"}, ...]}``);
* any object shaped like the engine's ``TableSchema`` (``.columns`` of objects with ``.name``,
  ``.type``, ``.domain``, ``.roles``, ``.sensitivity``), read by attribute so this package never
  imports the engine.

Roles the engine schema cannot express (``treated_value``, ``positive_label``...) are passed as
keyword overrides. Domains left undeclared are filled from the real training data by
:meth:`Metadata.complete`, which records the columns it had to infer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from app.validation.errors import MetadataError

NUMERICAL, INTEGER, CATEGORICAL, BOOLEAN, DATETIME = (
    "numerical",
    "integer",
    "categorical",
    "boolean",
    "datetime",
)
COLUMN_TYPES = (NUMERICAL, INTEGER, CATEGORICAL, BOOLEAN, DATETIME)
NUMERIC_TYPES = frozenset({NUMERICAL, INTEGER, DATETIME})
_UNMODELED = frozenset({"identifier", "text"})
_ROLE_KEYS = ("target", "treatment", "outcome", "subgroups", "confounders")
_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class ColumnMeta:
    """One column: its type and public domain (datetimes as float days since 1970-01-01)."""

    name: str
    type: str
    lower: float | None = None
    upper: float | None = None
    categories: tuple[str, ...] | None = None
    edges: tuple[float, ...] | None = None
    bins: int | None = None
    scale: str = "linear"

    @property
    def numeric(self) -> bool:
        """True for numbers and dates, which are compared on a line rather than by label."""
        return self.type in NUMERIC_TYPES

    @property
    def span(self) -> float:
        """Width of the public range, 1.0 when it is empty or unknown."""
        if self.lower is None or self.upper is None or not self.upper > self.lower:
            return 1.0
        return float(self.upper - self.lower)


@dataclass(frozen=True)
class Metadata:
    """Column metadata plus the analysis roles; see the module docstring for the input forms."""

    columns: tuple[ColumnMeta, ...]
    target: str | None = None
    positive_label: Any = None
    treatment: str | None = None
    treated_value: Any = None
    outcome: str | None = None
    outcome_positive: Any = None
    confounders: tuple[str, ...] = ()
    subgroups: tuple[str, ...] = ()
    quasi_identifiers: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    rare_class: Any = None
    inferred: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = self.names
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise MetadataError(f"duplicate columns in metadata: {', '.join(dupes)}")
        for col in self.columns:
            if col.type not in COLUMN_TYPES:
                raise MetadataError(f"column {col.name!r}: unknown type {col.type!r}")
        for key in ("target", "treatment", "outcome"):
            value = getattr(self, key)
            if value is not None and value not in names:
                raise MetadataError(f"{key} {value!r} is not a column")
        for key in ("confounders", "subgroups", "quasi_identifiers", "sensitive"):
            unknown = [c for c in getattr(self, key) if c not in names]
            if unknown:
                raise MetadataError(f"{key} name unknown columns: {', '.join(unknown)}")

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnMeta:
        """The column called ``name``; MetadataError if there is none."""
        for col in self.columns:
            if col.name == name:
                return col
        raise MetadataError(f"unknown column {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """The plain-mapping form (JSON-ready), which :meth:`from_any` reads back."""
        cols: dict[str, Any] = {}
        for col in self.columns:
            doc: dict[str, Any] = {"type": col.type}
            for key in ("lower", "upper", "bins"):
                if getattr(col, key) is not None:
                    doc[key] = getattr(col, key)
            if col.scale != "linear":
                doc["scale"] = col.scale
            if col.categories is not None:
                doc["categories"] = list(col.categories)
            if col.edges is not None:
                doc["edges"] = list(col.edges)
            cols[col.name] = doc
        out: dict[str, Any] = {"columns": cols}
        for f in fields(self):
            if f.name == "columns":
                continue
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                if value:
                    out[f.name] = list(value)
            elif value is not None:
                out[f.name] = _jsonable(value)
        return out

    @classmethod
    def from_any(cls, source: Any, **overrides: Any) -> Metadata:
        """Build from a :class:`Metadata`, a plain mapping, an engine schema document or object.

        Args:
            source: one of the accepted forms (see the module docstring).
            **overrides: role fields to set or replace, e.g. ``treated_value=12``.

        Raises:
            MetadataError: unknown type, role naming a missing column, or an unreadable source.
        """
        if isinstance(source, Metadata):
            meta = source
        elif isinstance(source, Mapping):
            meta = _from_mapping(source)
        elif hasattr(source, "columns"):
            meta = _from_mapping({"columns": [_object_column(c) for c in source.columns]})
        else:
            raise MetadataError(f"cannot read metadata from {type(source).__name__}")
        if overrides:
            meta = replace(meta, **{k: _role_value(k, v) for k, v in overrides.items()})
        return meta

    def complete(self, real: pd.DataFrame) -> Metadata:
        """Fill undeclared domains from ``real`` and check every column is present.

        Ranges and category lists read off the data are not public; the names of the columns
        they came from are listed in ``inferred`` so reports can say so.

        Raises:
            MetadataError: a declared column is missing from ``real``.
        """
        missing = [n for n in self.names if n not in real.columns]
        if missing:
            raise MetadataError(f"metadata columns not in data: {', '.join(missing)}")
        cols, inferred = [], list(self.inferred)
        for col in self.columns:
            if col.numeric and (col.lower is None or col.upper is None):
                values = numeric_array(real[col.name], col)
                values = values[~np.isnan(values)]
                lo = float(values.min()) if values.size else 0.0
                hi = float(values.max()) if values.size else 1.0
                col = replace(
                    col,
                    lower=col.lower if col.lower is not None else lo,
                    upper=col.upper if col.upper is not None else hi,
                )
                inferred.append(col.name)
            elif not col.numeric and col.categories is None:
                observed = pd.unique(category_array(real[col.name], col))
                col = replace(col, categories=tuple(sorted(str(v) for v in observed if v is not None)))
                inferred.append(col.name)
            cols.append(col)
        return replace(self, columns=tuple(cols), inferred=tuple(dict.fromkeys(inferred)))

    def positive_label_of(self, name: str, declared: Any) -> Any:
        """The label counted as 1 in column ``name``: ``declared`` if given, else "True" for a
        boolean and the second declared category of a two-category column; None otherwise."""
        col = self.column(name)
        if declared is not None:
            return str(declared) if not col.numeric else declared
        if col.type == BOOLEAN:
            return "True"
        if col.categories and len(col.categories) == 2:
            return col.categories[1]
        return None


def infer_metadata(data: pd.DataFrame, **roles: Any) -> Metadata:
    """Metadata read off ``data`` (types and domains are all marked inferred), plus ``roles``.

    Integers with at most 2 distinct values and text columns become categorical; pandas
    datetimes become datetime. Convenient for tests and benchmarks; production callers should
    declare domains instead.
    """
    cols = []
    for name in data.columns:
        s = data[name]
        if pd.api.types.is_bool_dtype(s):
            kind = BOOLEAN
        elif pd.api.types.is_datetime64_any_dtype(s):
            kind = DATETIME
        elif pd.api.types.is_integer_dtype(s):
            kind = INTEGER if s.nunique() > 2 else CATEGORICAL
        elif pd.api.types.is_numeric_dtype(s):
            kind = NUMERICAL
        else:
            kind = CATEGORICAL
        cols.append(ColumnMeta(name=str(name), type=kind))
    meta = Metadata(columns=tuple(cols))
    if roles:
        meta = Metadata.from_any(meta, **roles)
    return meta.complete(data)


def numeric_array(values: pd.Series, col: ColumnMeta) -> np.ndarray:
    """Float values of a numeric or datetime column (dates as days since epoch); NaN if missing."""
    if col.type == DATETIME:
        stamps = pd.to_datetime(values, errors="coerce")
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert(None)
        ns = stamps.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        ns[stamps.isna().to_numpy()] = np.nan
        return ns / _DAY_NS
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def category_array(values: pd.Series, col: ColumnMeta) -> np.ndarray:
    """Labels as strings (object array), ``None`` where missing; booleans as "True"/"False"."""
    mask = pd.isna(values).to_numpy()
    out = values.astype(str).to_numpy(dtype=object)
    if col.type == BOOLEAN:
        truth = {
            "true": "True",
            "1": "True",
            "yes": "True",
            "t": "True",
            "1.0": "True",
            "false": "False",
            "0": "False",
            "no": "False",
            "f": "False",
            "0.0": "False",
        }
        out = np.array([truth.get(v.strip().lower(), v) for v in out], dtype=object)
    out[mask] = None
    return out


def category_codes(values: pd.Series, col: ColumnMeta, categories: list[str]) -> np.ndarray:
    """Integer codes into ``categories``: ``len(categories)`` for anything else, -1 if missing."""
    labels = category_array(values, col)
    missing = pd.isna(labels)
    codes = pd.Categorical(labels, categories=list(dict.fromkeys(categories))).codes.astype(np.int64)
    codes[(codes < 0) & ~missing] = len(categories)
    codes[missing] = -1
    return codes


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _to_days(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(None)
    return stamp.value / _DAY_NS


def _column(name: str, doc: Mapping[str, Any]) -> ColumnMeta | None:
    kind = str(doc.get("type", "")).lower()
    if kind in _UNMODELED or str(doc.get("sensitivity", "")) == "direct_identifier":
        return None
    domain = doc.get("domain") or {}

    def get(key: str) -> Any:  # the plain form puts domain keys on the column, the engine form nests them
        return doc.get(key, domain.get(key))

    if kind not in COLUMN_TYPES:
        raise MetadataError(f"column {name!r}: unknown type {kind!r}")
    lower, upper = get("lower"), get("upper")
    if kind == DATETIME:
        lower, upper = _to_days(lower), _to_days(upper)
    elif kind in NUMERIC_TYPES:
        lower = float(lower) if lower is not None else None
        upper = float(upper) if upper is not None else None
    cats = get("categories")
    if kind == BOOLEAN and cats is None:
        cats = ["False", "True"]
    if cats is not None:
        cats = tuple(str(c) for c in cats)
    edges = get("edges")
    return ColumnMeta(
        name=name,
        type=kind,
        lower=lower,
        upper=upper,
        categories=cats,
        edges=tuple(float(e) for e in edges) if edges is not None else None,
        bins=get("bins"),
        scale=get("scale") or "linear",
    )


def _from_mapping(doc: Mapping[str, Any]) -> Metadata:
    raw = doc.get("columns")
    if raw is None:
        raise MetadataError("metadata needs 'columns'")
    roles: dict[str, Any] = {"subgroups": [], "confounders": [], "quasi_identifiers": [], "sensitive": []}
    cols = []
    items = raw.items() if isinstance(raw, Mapping) else ((c.get("name"), c) for c in raw)
    for name, cdoc in items:
        if not name:
            raise MetadataError("every column needs a name")
        col = _column(str(name), cdoc)
        if col is None:
            continue
        cols.append(col)
        for role in cdoc.get("roles", ()):  # engine form
            role = str(role)
            if role in ("target", "treatment", "outcome"):
                roles[role] = col.name
            elif role in ("subgroup", "confounder"):
                roles[role + "s"].append(col.name)
        sensitivity = str(cdoc.get("sensitivity", ""))
        if sensitivity == "quasi_identifier":
            roles["quasi_identifiers"].append(col.name)
        elif sensitivity == "special_category":
            roles["sensitive"].append(col.name)
    known = {f.name for f in fields(Metadata)} - {"columns"}
    unknown = sorted(set(doc) - known - {"columns", "format_version", "name", "notes", "max_rows_per_person"})
    if unknown:
        raise MetadataError(f"unknown metadata keys: {', '.join(unknown)}")
    for key in known & set(doc):
        roles[key] = doc[key]
    return Metadata(columns=tuple(cols), **{k: _role_value(k, v) for k, v in roles.items()})


def _role_value(key: str, value: Any) -> Any:
    if key in ("confounders", "subgroups", "quasi_identifiers", "sensitive", "inferred"):
        if isinstance(value, str):
            return (value,)
        return tuple(value or ())
    return value


def _object_column(col: Any) -> dict[str, Any]:
    """Engine ``ColumnSchema``-like object -> engine-form mapping, read by attribute only."""
    dom = getattr(col, "domain", None)
    domain = {}
    if dom is not None:
        for key in ("lower", "upper", "categories", "edges", "bins", "scale"):
            value = getattr(dom, key, None)
            if value is not None:
                domain[key] = list(value) if isinstance(value, Iterable) and not isinstance(value, str) else value
    return {
        "name": col.name,
        "type": str(col.type),
        "domain": domain,
        "roles": [str(r) for r in getattr(col, "roles", ())],
        "sensitivity": str(getattr(col, "sensitivity", "ordinary")),
    }
