"""The column-metadata model: JSON round trip, JSON Schema errors, defaults, cross-field rules."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from app.engine.errors import SchemaError
from app.engine.schema import (
    DEFAULT_SENSITIVITY_SCORE,
    ColumnSchema,
    ColumnType,
    Domain,
    DomainSource,
    Role,
    Sensitivity,
    TableSchema,
    json_schema,
)


def full_schema() -> TableSchema:
    """A schema that sets every field at least once."""
    return TableSchema(
        name="loans",
        max_rows_per_person=3,
        notes=("declared by the data owner",),
        columns=(
            ColumnSchema(
                "amount",
                ColumnType.NUMERICAL,
                domain=Domain(
                    lower=0.0,
                    upper=50_000.0,
                    edges=(0.0, 100.0, 1_000.0, 50_000.0),
                    point_masses=(0.0,),
                    scale="log",
                    bins=16,
                    decimals=2,
                ),
                roles=(Role.KEY_PREDICTOR,),
                utility_weight=2.5,
            ),
            ColumnSchema("age", ColumnType.INTEGER, domain=Domain(lower=18, upper=100), sensitivity=Sensitivity.QUASI_IDENTIFIER),
            ColumnSchema(
                "opened",
                ColumnType.DATETIME,
                domain=Domain(lower="2000-01-01", upper="2024-12-31", format="%Y-%m-%d", public=False,
                              source=DomainSource.DP_ESTIMATED),
                nullable=True,
            ),
            ColumnSchema(
                "diagnosis",
                ColumnType.CATEGORICAL,
                domain=Domain(categories=("A", "B", "C")),
                sensitivity=Sensitivity.SPECIAL_CATEGORY,
                special_category="health",
                sensitivity_score=0.9,
                roles=(Role.SUBGROUP, Role.CONFOUNDER),
            ),
            ColumnSchema("default", ColumnType.BOOLEAN, domain=Domain(categories=(False, True)), roles=(Role.TARGET,)),
            ColumnSchema(
                "email",
                ColumnType.IDENTIFIER,
                sensitivity=Sensitivity.DIRECT_IDENTIFIER,
                pii="email",
                identifier_handling="drop",
            ),
            ColumnSchema("notes", ColumnType.TEXT, nullable=True),
        ),
    )  # fmt: skip


def minimal_doc() -> dict[str, Any]:
    return {"columns": [{"name": "x", "type": "integer", "domain": {"lower": 0, "upper": 10}}]}


# --- JSON round trip ------------------------------------------------------------------------------


def test_json_round_trip_keeps_every_field() -> None:
    schema = full_schema()
    text = schema.to_json()
    again = TableSchema.from_json(text)
    assert again == schema
    assert again.to_json() == text
    assert TableSchema.from_json(text.encode("utf-8")) == schema


def test_to_dict_validates_against_the_published_json_schema() -> None:
    doc = full_schema().to_dict()
    jsonschema.Draft202012Validator(json_schema()).validate(doc)
    assert doc["format_version"] == 1


def test_published_json_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())
    assert json_schema()["$schema"].endswith("2020-12/schema")


def test_to_dict_omits_unset_fields() -> None:
    col = ColumnSchema("age", ColumnType.INTEGER, domain=Domain(lower=0, upper=120))
    assert col.to_dict() == {
        "name": "age",
        "type": "integer",
        "domain": {"lower": 0, "upper": 120, "public": True, "source": "declared"},
        "sensitivity": "ordinary",
        "nullable": False,
    }
    # identifier_handling is only written for columns that are not modeled.
    ident = ColumnSchema("id", ColumnType.IDENTIFIER).to_dict()
    assert ident["identifier_handling"] == "fake"


def test_from_dict_applies_document_defaults() -> None:
    schema = TableSchema.from_dict(minimal_doc())
    col = schema.column("x")
    assert schema.max_rows_per_person == 1 and schema.name is None and schema.notes == ()
    assert col.sensitivity == Sensitivity.ORDINARY and col.roles == () and not col.nullable
    assert col.domain.public is True and col.domain.source == DomainSource.DECLARED
    assert col.domain.scale == "linear" and col.domain.point_masses == ()


# --- JSON Schema validation errors ---------------------------------------------------------------


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    doc = minimal_doc()
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "where", "fragment"),
    [
        ({}, "(root)", "'columns' is a required property"),
        ({"columns": []}, "columns", "should be non-empty"),
        (_with(["format_version"], 2), "format_version", "1 was expected"),
        (_with(["owner"], "me"), "(root)", "Additional properties are not allowed"),
        (_with(["max_rows_per_person"], 0), "max_rows_per_person", "less than the minimum"),
        (_with(["columns", 0, "type"], "float"), "columns/0/type", "is not one of"),
        (_with(["columns", 0, "name"], ""), "columns/0/name", "should be non-empty"),
        (_with(["columns", 0, "colour"], "red"), "columns/0", "Additional properties are not allowed"),
        (_with(["columns", 0, "sensitivity"], "secret"), "columns/0/sensitivity", "is not one of"),
        (
            _with(["columns", 0, "sensitivity_score"], 1.5),
            "columns/0/sensitivity_score",
            "greater than the maximum",
        ),
        (
            _with(["columns", 0, "utility_weight"], 0),
            "columns/0/utility_weight",
            "less than or equal to the minimum",
        ),
        (_with(["columns", 0, "roles"], ["target", "target"]), "columns/0/roles", "non-unique"),
        (_with(["columns", 0, "roles"], ["boss"]), "columns/0/roles/0", "is not one of"),
        (
            _with(["columns", 0, "identifier_handling"], "hash"),
            "columns/0/identifier_handling",
            "is not one of",
        ),
        (_with(["columns", 0, "domain", "scale"], "sqrt"), "columns/0/domain/scale", "is not one of"),
        (_with(["columns", 0, "domain", "bins"], 0), "columns/0/domain/bins", "less than the minimum"),
        (
            _with(["columns", 0, "domain", "decimals"], 13),
            "columns/0/domain/decimals",
            "greater than the maximum",
        ),
        (_with(["columns", 0, "domain", "edges"], [1]), "columns/0/domain/edges", "is too short"),
        (_with(["columns", 0, "domain", "source"], "guessed"), "columns/0/domain/source", "is not one of"),
        (
            _with(["columns", 0, "domain", "categories"], [[1]]),
            "columns/0/domain/categories/0",
            "is not of type",
        ),
        ([1, 2], "(root)", "is not of type 'object'"),
    ],
)
def test_json_schema_errors_name_the_place(doc: Any, where: str, fragment: str) -> None:
    with pytest.raises(SchemaError) as err:
        TableSchema.from_dict(doc)
    message = str(err.value)
    assert message.startswith(f"invalid schema at {where}: ")
    assert fragment in message
    assert "\n" not in message


def test_from_json_refuses_text_that_is_not_json() -> None:
    with pytest.raises(SchemaError, match="not valid JSON"):
        TableSchema.from_json("{columns: [")
    with pytest.raises(SchemaError, match="not valid JSON"):
        TableSchema.from_json(b"\xff\xfe")


def test_first_error_is_reported_deterministically() -> None:
    doc = minimal_doc()
    doc["columns"].append({"name": "y", "type": "bogus"})
    doc["columns"][0]["type"] = "also-bogus"
    with pytest.raises(SchemaError, match="^invalid schema at columns/0/type"):
        TableSchema.from_dict(doc)


# --- defaults per class and role -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sensitivity", "score"),
    [
        (Sensitivity.DIRECT_IDENTIFIER, 1.0),
        (Sensitivity.SPECIAL_CATEGORY, 0.6),
        (Sensitivity.QUASI_IDENTIFIER, 0.3),
        (Sensitivity.ORDINARY, 0.0),
    ],
)
def test_default_score_per_class(sensitivity: Sensitivity, score: float) -> None:
    col = ColumnSchema("c", ColumnType.CATEGORICAL, sensitivity=sensitivity)
    assert col.score == score == DEFAULT_SENSITIVITY_SCORE[sensitivity]
    assert ColumnSchema("c", ColumnType.CATEGORICAL, sensitivity=sensitivity, sensitivity_score=0.45).score == 0.45


def test_special_categories_default_above_quasi_identifiers() -> None:
    scores = DEFAULT_SENSITIVITY_SCORE
    assert (
        scores[Sensitivity.DIRECT_IDENTIFIER]
        > scores[Sensitivity.SPECIAL_CATEGORY]
        > scores[Sensitivity.QUASI_IDENTIFIER]
        > scores[Sensitivity.ORDINARY]
    )


@pytest.mark.parametrize(
    ("roles", "weight"),
    [
        ((), 1.0),
        ((Role.TARGET,), 3.0),
        ((Role.KEY_PREDICTOR,), 2.0),
        ((Role.SUBGROUP, Role.CONFOUNDER), 1.0),
        ((Role.SUBGROUP, Role.KEY_PREDICTOR), 2.0),
        ((Role.KEY_PREDICTOR, Role.TARGET), 3.0),
    ],
)
def test_default_utility_weight_per_role(roles: tuple[Role, ...], weight: float) -> None:
    col = ColumnSchema("c", ColumnType.INTEGER, roles=roles)
    assert col.utility == weight
    assert ColumnSchema("c", ColumnType.INTEGER, roles=roles, utility_weight=0.5).utility == 0.5


@pytest.mark.parametrize(
    ("ctype", "sensitivity", "modeled"),
    [
        (ColumnType.CATEGORICAL, Sensitivity.ORDINARY, True),
        (ColumnType.INTEGER, Sensitivity.SPECIAL_CATEGORY, True),
        (ColumnType.IDENTIFIER, Sensitivity.ORDINARY, False),
        (ColumnType.TEXT, Sensitivity.ORDINARY, False),
        (ColumnType.CATEGORICAL, Sensitivity.DIRECT_IDENTIFIER, False),  # never modeled, whatever its type
    ],
)
def test_modeled(ctype: ColumnType, sensitivity: Sensitivity, modeled: bool) -> None:
    assert ColumnSchema("c", ctype, sensitivity=sensitivity).modeled is modeled


# --- table-level rules ---------------------------------------------------------------------------


def test_duplicate_names_are_refused() -> None:
    cols = (
        ColumnSchema("a", ColumnType.INTEGER),
        ColumnSchema("b", ColumnType.TEXT),
        ColumnSchema("a", ColumnType.TEXT),
    )
    with pytest.raises(SchemaError, match="^duplicate column names in schema: a$"):
        TableSchema(columns=cols)
    doc = {"columns": [{"name": "a", "type": "integer"}, {"name": "a", "type": "text"}]}
    with pytest.raises(SchemaError, match="duplicate column names"):
        TableSchema.from_dict(doc)


def test_at_most_one_target() -> None:
    one = TableSchema(
        columns=(
            ColumnSchema("y", ColumnType.BOOLEAN, roles=(Role.TARGET,)),
            ColumnSchema("x", ColumnType.INTEGER),
        )
    )
    assert one.target == "y"
    assert TableSchema(columns=(ColumnSchema("x", ColumnType.INTEGER),)).target is None
    with pytest.raises(SchemaError, match="^at most one target column, got y, z$"):
        TableSchema(
            columns=(
                ColumnSchema("y", ColumnType.BOOLEAN, roles=(Role.TARGET,)),
                ColumnSchema("z", ColumnType.INTEGER, roles=(Role.TARGET, Role.OUTCOME)),
            )
        )


def test_a_schema_needs_columns() -> None:
    with pytest.raises(SchemaError, match="at least one column"):
        TableSchema(columns=())


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (ColumnSchema("n", ColumnType.INTEGER, domain=Domain(lower=5, upper=5)), "lower must be below upper"),
        (
            ColumnSchema("n", ColumnType.NUMERICAL, domain=Domain(lower=9.0, upper=1.0)),
            "lower must be below upper",
        ),
        (ColumnSchema("n", ColumnType.NUMERICAL, domain=Domain(edges=(0.0, 2.0, 1.0))), "edges must be"),
        (ColumnSchema("n", ColumnType.NUMERICAL, domain=Domain(edges=(1.0,))), "edges must be"),
        (
            ColumnSchema("n", ColumnType.NUMERICAL, domain=Domain(lower=-1.0, upper=9.0, scale="log")),
            "log scale",
        ),
        (
            ColumnSchema("c", ColumnType.CATEGORICAL, domain=Domain(categories=())),
            "categories must not be empty",
        ),
        (ColumnSchema("c", ColumnType.CATEGORICAL, sensitivity_score=1.2), "sensitivity_score"),
        (ColumnSchema("c", ColumnType.CATEGORICAL, utility_weight=0.0), "utility_weight"),
    ],
)
def test_cross_field_rules(column: ColumnSchema, message: str) -> None:
    with pytest.raises(SchemaError, match=message) as err:
        TableSchema(columns=(column,))
    assert repr(column.name) in str(err.value)


def test_cross_field_rules_apply_to_documents_too() -> None:
    with pytest.raises(SchemaError, match="lower must be below upper"):
        TableSchema.from_dict(_with(["columns", 0, "domain", "upper"], -1))
    with pytest.raises(SchemaError, match="categories must not be empty"):
        TableSchema.from_dict({"columns": [{"name": "c", "type": "categorical", "domain": {"categories": []}}]})


# --- lookups ---------------------------------------------------------------------------------------


def test_column_lookup_and_with_column() -> None:
    schema = full_schema()
    assert schema.names[:2] == ["amount", "age"]
    with pytest.raises(SchemaError, match="unknown column 'nope'"):
        schema.column("nope")
    changed = schema.with_column(ColumnSchema("age", ColumnType.INTEGER, domain=Domain(lower=0, upper=120)))
    assert changed.column("age").domain.lower == 0
    assert schema.column("age").domain.lower == 18  # the original is unchanged (frozen)
    assert changed.names == schema.names


def test_check_header() -> None:
    schema = TableSchema.from_dict({"columns": [{"name": "a", "type": "integer"}, {"name": "b", "type": "text"}]})
    schema.check_header(["b", "a"])  # order does not matter
    with pytest.raises(SchemaError, match="^schema columns not in data: b; data columns not in schema: c$"):
        schema.check_header(["a", "c"])


def test_value_objects_are_frozen() -> None:
    schema = full_schema()
    with pytest.raises(AttributeError):
        schema.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        schema.columns[0].domain.lower = 1.0  # type: ignore[misc]


def test_documents_are_not_mutated() -> None:
    doc = full_schema().to_dict()
    before = copy.deepcopy(doc)
    TableSchema.from_dict(doc)
    assert doc == before
    assert json.loads(json.dumps(doc)) == doc
