"""Column metadata: types, public domains, sensitivity classes and utility weights.

A :class:`TableSchema` is the JSON document every PWSIM call starts from. It is validated
against the published JSON Schema (``schema.json`` next to this module), then turned into
frozen value objects. Domains are public by declaration only: a domain read off the data is
marked ``source="inferred", public=False`` and the engine refuses it unless the caller trusts
it explicitly or pays for a DP estimate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

import jsonschema

from app.engine.errors import SchemaError

FORMAT_VERSION = 1


class ColumnType(StrEnum):
    """What a column holds, which decides how it is encoded and decoded."""

    NUMERICAL = "numerical"
    INTEGER = "integer"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    IDENTIFIER = "identifier"
    TEXT = "text"


NUMERIC_TYPES = frozenset({ColumnType.NUMERICAL, ColumnType.INTEGER, ColumnType.DATETIME})
UNMODELED_TYPES = frozenset({ColumnType.IDENTIFIER, ColumnType.TEXT})


class Sensitivity(StrEnum):
    """Regulatory sensitivity class of a column."""

    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SPECIAL_CATEGORY = "special_category"
    ORDINARY = "ordinary"


# Defaults per class, overridable per column with ``sensitivity_score``. A direct identifier is
# never modeled whatever its score; special categories (GDPR Art. 9, CCPA SPI) default above the
# generalisation threshold, quasi-identifiers below it.
DEFAULT_SENSITIVITY_SCORE: dict[Sensitivity, float] = {
    Sensitivity.DIRECT_IDENTIFIER: 1.0,
    Sensitivity.SPECIAL_CATEGORY: 0.6,
    Sensitivity.QUASI_IDENTIFIER: 0.3,
    Sensitivity.ORDINARY: 0.0,
}

SPECIAL_CATEGORIES = (
    "health",
    "religion",
    "political_opinion",
    "ethnicity",
    "sex_life",
    "sexual_orientation",
    "biometric",
    "genetic",
    "trade_union",
    "criminal",
    "financial_account",
    "precise_geolocation",
)


class Role(StrEnum):
    """What a column means for the analyses the synthetic data must support."""

    TARGET = "target"
    KEY_PREDICTOR = "key_predictor"
    TREATMENT = "treatment"
    OUTCOME = "outcome"
    SUBGROUP = "subgroup"
    CONFOUNDER = "confounder"


DEFAULT_UTILITY_WEIGHT: dict[Role | None, float] = {Role.TARGET: 3.0, Role.KEY_PREDICTOR: 2.0, None: 1.0}


class DomainSource(StrEnum):
    """Where a domain came from; only ``declared`` and ``dp_estimated`` are private to use."""

    DECLARED = "declared"
    INFERRED = "inferred"
    DP_ESTIMATED = "dp_estimated"


@dataclass(frozen=True)
class Domain:
    """The public set of values a column may take.

    Numbers and dates use ``lower``/``upper`` (dates as ISO strings), optional public bin
    ``edges`` (ascending, first == lower, last == upper), ``point_masses`` that get a bin of
    their own (e.g. the zero of a zero-inflated amount), a ``scale`` for default edges and the
    number of ``decimals`` to print. Categories list every allowed value.
    """

    lower: float | str | None = None
    upper: float | str | None = None
    edges: tuple[float, ...] | None = None
    point_masses: tuple[float, ...] = ()
    scale: str = "linear"
    bins: int | None = None
    decimals: int | None = None
    categories: tuple[Any, ...] | None = None
    format: str | None = None
    public: bool = True
    source: DomainSource = DomainSource.DECLARED

    def to_dict(self) -> dict[str, Any]:
        """JSON form, omitting unset fields."""
        out: dict[str, Any] = {}
        for key in ("lower", "upper", "bins", "decimals", "format"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.edges is not None:
            out["edges"] = list(self.edges)
        if self.point_masses:
            out["point_masses"] = list(self.point_masses)
        if self.scale != "linear":
            out["scale"] = self.scale
        if self.categories is not None:
            out["categories"] = list(self.categories)
        out["public"] = self.public
        out["source"] = str(self.source)
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Domain:
        """Build from the JSON form (already validated)."""
        return cls(
            lower=doc.get("lower"),
            upper=doc.get("upper"),
            edges=tuple(doc["edges"]) if doc.get("edges") is not None else None,
            point_masses=tuple(doc.get("point_masses", ())),
            scale=doc.get("scale", "linear"),
            bins=doc.get("bins"),
            decimals=doc.get("decimals"),
            categories=tuple(doc["categories"]) if doc.get("categories") is not None else None,
            format=doc.get("format"),
            public=doc.get("public", True),
            source=DomainSource(doc.get("source", "declared")),
        )


@dataclass(frozen=True)
class ColumnSchema:
    """Metadata of one column."""

    name: str
    type: ColumnType
    domain: Domain | None = None
    sensitivity: Sensitivity = Sensitivity.ORDINARY
    special_category: str | None = None
    sensitivity_score: float | None = None
    utility_weight: float | None = None
    roles: tuple[Role, ...] = ()
    nullable: bool = False
    pii: str | None = None
    identifier_handling: str = "fake"

    @property
    def score(self) -> float:
        """Regulatory sensitivity score in [0, 1] (declared, else the class default)."""
        if self.sensitivity_score is not None:
            return self.sensitivity_score
        return DEFAULT_SENSITIVITY_SCORE[self.sensitivity]

    @property
    def utility(self) -> float:
        """Utility weight (declared, else the default of its strongest role)."""
        if self.utility_weight is not None:
            return self.utility_weight
        return max(DEFAULT_UTILITY_WEIGHT.get(r, 1.0) for r in (*self.roles, None))

    @property
    def modeled(self) -> bool:
        """False for identifiers and free text, which are never modeled."""
        return self.type not in UNMODELED_TYPES and self.sensitivity != Sensitivity.DIRECT_IDENTIFIER

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {"name": self.name, "type": str(self.type)}
        if self.domain is not None:
            out["domain"] = self.domain.to_dict()
        out["sensitivity"] = str(self.sensitivity)
        if self.special_category is not None:
            out["special_category"] = self.special_category
        if self.sensitivity_score is not None:
            out["sensitivity_score"] = self.sensitivity_score
        if self.utility_weight is not None:
            out["utility_weight"] = self.utility_weight
        if self.roles:
            out["roles"] = [str(r) for r in self.roles]
        out["nullable"] = self.nullable
        if self.pii is not None:
            out["pii"] = self.pii
        if not self.modeled:
            out["identifier_handling"] = self.identifier_handling
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ColumnSchema:
        """Build from the JSON form (already validated)."""
        return cls(
            name=doc["name"],
            type=ColumnType(doc["type"]),
            domain=Domain.from_dict(doc["domain"]) if doc.get("domain") is not None else None,
            sensitivity=Sensitivity(doc.get("sensitivity", "ordinary")),
            special_category=doc.get("special_category"),
            sensitivity_score=doc.get("sensitivity_score"),
            utility_weight=doc.get("utility_weight"),
            roles=tuple(Role(r) for r in doc.get("roles", ())),
            nullable=doc.get("nullable", False),
            pii=doc.get("pii"),
            identifier_handling=doc.get("identifier_handling", "fake"),
        )


@dataclass(frozen=True)
class TableSchema:
    """Metadata of a whole table, in column order."""

    columns: tuple[ColumnSchema, ...]
    name: str | None = None
    max_rows_per_person: int = 1
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if not names:
            raise SchemaError("a schema needs at least one column")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SchemaError(f"duplicate column names in schema: {', '.join(dupes)}")
        targets = [c.name for c in self.columns if Role.TARGET in c.roles]
        if len(targets) > 1:
            raise SchemaError(f"at most one target column, got {', '.join(targets)}")
        for col in self.columns:
            _check_column(col)

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    @property
    def target(self) -> str | None:
        """Name of the target column, if one is declared."""
        return next((c.name for c in self.columns if Role.TARGET in c.roles), None)

    def column(self, name: str) -> ColumnSchema:
        """The column called ``name``; SchemaError if there is none."""
        for col in self.columns:
            if col.name == name:
                return col
        raise SchemaError(f"unknown column {name!r}")

    def with_column(self, col: ColumnSchema) -> TableSchema:
        """A copy with ``col`` replacing the column of the same name."""
        return replace(self, columns=tuple(col if c.name == col.name else c for c in self.columns))

    def check_header(self, header: list[str]) -> None:
        """Raise SchemaError unless the data's header has exactly the schema's columns."""
        missing = [n for n in self.names if n not in header]
        extra = [n for n in header if n not in self.names]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"schema columns not in data: {', '.join(missing)}")
            if extra:
                parts.append(f"data columns not in schema: {', '.join(extra)}")
            raise SchemaError("; ".join(parts))

    def to_dict(self) -> dict[str, Any]:
        """JSON form (validates against :func:`json_schema`)."""
        out: dict[str, Any] = {"format_version": FORMAT_VERSION}
        if self.name is not None:
            out["name"] = self.name
        out["max_rows_per_person"] = self.max_rows_per_person
        out["columns"] = [c.to_dict() for c in self.columns]
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    def to_json(self) -> str:
        """Canonical, indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, doc: Any) -> TableSchema:
        """Validate a JSON document and build the schema; SchemaError names the first problem."""
        errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            err = errors[0]
            where = "/".join(str(p) for p in err.absolute_path) or "(root)"
            raise SchemaError(f"invalid schema at {where}: {err.message}")
        return cls(
            columns=tuple(ColumnSchema.from_dict(c) for c in doc["columns"]),
            name=doc.get("name"),
            max_rows_per_person=doc.get("max_rows_per_person", 1),
            notes=tuple(doc.get("notes", ())),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> TableSchema:
        """Parse JSON text; SchemaError if it is not JSON or not a valid schema."""
        try:
            doc = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SchemaError(f"schema is not valid JSON: {exc}") from None
        return cls.from_dict(doc)


def _check_column(col: ColumnSchema) -> None:
    """Cross-field rules the JSON Schema cannot express."""
    dom = col.domain
    if not 0.0 <= col.score <= 1.0:
        raise SchemaError(f"column {col.name!r}: sensitivity_score must be in [0, 1]")
    if col.utility <= 0:
        raise SchemaError(f"column {col.name!r}: utility_weight must be > 0")
    if dom is None:
        return
    if col.type in (ColumnType.CATEGORICAL,) and dom.categories is not None and not dom.categories:
        raise SchemaError(f"column {col.name!r}: categories must not be empty")
    if col.type in (ColumnType.NUMERICAL, ColumnType.INTEGER):
        lo, hi = dom.lower, dom.upper
        if lo is not None and hi is not None and not float(lo) < float(hi):
            raise SchemaError(f"column {col.name!r}: lower must be below upper")
        if dom.edges is not None:
            edges = [float(e) for e in dom.edges]
            if len(edges) < 2 or any(b <= a for a, b in pairwise(edges)):
                raise SchemaError(f"column {col.name!r}: edges must be at least two ascending values")
        if dom.scale == "log" and lo is not None and float(lo) < 0:
            raise SchemaError(f"column {col.name!r}: a log scale needs lower >= 0")


@cache
def json_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of a PWSIM schema document."""
    text = resources.files("app.engine").joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(json_schema())
