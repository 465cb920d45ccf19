"""Schema inference: types, inferred (non-private) domains, sensitivity classes, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.engine import infer as infer_module
from app.engine.errors import DataError
from app.engine.infer import infer_schema
from app.engine.io import read_table, write_table
from app.engine.schema import ColumnType, DomainSource, Sensitivity, TableSchema

DATA = Path("/work/shared/data")
ADULT = DATA / "adult.csv"


@pytest.fixture(scope="module")
def adult() -> TableSchema:
    return infer_schema(ADULT)


def mixed_frame(n: int = 400, seed: int = 1) -> pd.DataFrame:
    """One column of every kind the inference must tell apart."""
    r = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "email": [f"u{i}@example.com" for i in range(n)],
            "token": ["".join(r.choice(list("abcdefghjk0123456789"), 12)) for _ in range(n)],
            "comment": [f"a fairly long free text comment, number {i}, with several words" for i in range(n)],
            "signup": [f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
            "amount": np.where(r.random(n) < 0.5, 0.0, np.round(r.lognormal(5, 1.5, n), 2)),
            "score": np.where(r.random(n) < 0.1, np.nan, r.integers(0, 100, n)),
            "flag": r.choice(["true", "false"], n),
            "bit": r.integers(0, 2, n),
            "answer": r.choice(["yes", "none"], n),
            "const": ["x"] * n,
            "empty": [None] * n,
            "zip": [f"{z:05d}" for z in r.integers(1000, 99999, n)],
            "diagnosis": r.choice(["A01", "B20", "C50"], n),
            "gender": r.choice(["f", "m", None], n),
            "city": r.choice([f"City{i}" for i in range(200)], n),
            "dob": [f"19{50 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
        }
    )


@pytest.fixture(scope="module")
def mixed() -> TableSchema:
    return infer_schema(mixed_frame(), name="mixed")


# --- Adult ---------------------------------------------------------------------------------------


def test_adult_types(adult: TableSchema) -> None:
    integers = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}
    for col in adult.columns:
        expected = ColumnType.INTEGER if col.name in integers else ColumnType.CATEGORICAL
        assert col.type == expected, col.name
        assert not col.nullable, col.name
        assert col.pii is None
    assert adult.name == "adult"
    assert adult.names == list(pd.read_csv(ADULT, nrows=1).columns)


def test_adult_domains(adult: TableSchema) -> None:
    assert adult.column("income").domain.categories == ("<=50K", ">50K")
    assert adult.column("sex").domain.categories == ("Female", "Male")
    age = adult.column("age").domain
    assert (age.lower, age.upper, age.point_masses, age.scale) == (17, 90, (), "linear")
    assert adult.column("education-num").domain.lower == 1
    assert adult.column("education-num").domain.upper == 16
    for name in ("capital-gain", "capital-loss"):
        assert adult.column(name).domain.point_masses == (0,), name
        assert adult.column(name).domain.lower == 0
    assert adult.column("capital-gain").domain.upper == 99999
    # Gains are heavy-tailed (a log scale), hours and weights are not.
    assert adult.column("capital-gain").domain.scale == "log"
    assert adult.column("hours-per-week").domain.scale == "linear"
    assert adult.column("fnlwgt").domain.scale == "linear"
    workclass = adult.column("workclass").domain.categories
    assert len(workclass) == 9 and list(workclass) == sorted(workclass)
    assert len(adult.column("native-country").domain.categories) == 42
    for col in adult.columns:
        assert col.domain.source == DomainSource.INFERRED and col.domain.public is False


def test_adult_sensitivity(adult: TableSchema) -> None:
    quasi = {"age", "education", "education-num", "marital-status", "occupation", "sex", "native-country"}
    for col in adult.columns:
        if col.name == "race":
            assert (col.sensitivity, col.special_category) == (Sensitivity.SPECIAL_CATEGORY, "ethnicity")
        elif col.name in quasi:
            assert col.sensitivity == Sensitivity.QUASI_IDENTIFIER, col.name
        else:
            assert col.sensitivity == Sensitivity.ORDINARY, col.name
    assert not any(c.sensitivity == Sensitivity.DIRECT_IDENTIFIER for c in adult.columns)


def test_adult_notes_say_domains_are_not_private(adult: TableSchema) -> None:
    text = " ".join(adult.notes)
    assert "NOT differentially private" in text
    assert "inferred" in text and "refuse" in text and "public" in text and "DP" in text


def test_adult_schema_round_trips_through_json(adult: TableSchema) -> None:
    again = TableSchema.from_json(adult.to_json())
    assert again == adult


def test_same_schema_from_file_and_from_frame() -> None:
    path = DATA / "german_credit.csv"
    assert infer_schema(read_table(path), name="german_credit") == infer_schema(path)


# --- other real data -----------------------------------------------------------------------------


def test_insurance() -> None:
    schema = infer_schema(DATA / "insurance.csv")
    types = {c.name: c.type for c in schema.columns}
    assert types == {
        "age": ColumnType.INTEGER,
        "sex": ColumnType.CATEGORICAL,
        "bmi": ColumnType.NUMERICAL,
        "children": ColumnType.INTEGER,
        "smoker": ColumnType.BOOLEAN,
        "region": ColumnType.CATEGORICAL,
        "charges": ColumnType.NUMERICAL,
    }
    assert schema.column("smoker").domain.categories == ("no", "yes")
    assert schema.column("children").domain.point_masses == (0,)  # 43% have no children
    bmi = schema.column("bmi").domain
    assert bmi.decimals is not None and 2 <= bmi.decimals <= 3
    assert schema.column("charges").domain.decimals >= 4
    assert schema.column("charges").domain.scale == "log"


def test_german_credit_boolean_only_when_literal() -> None:
    schema = infer_schema(DATA / "german_credit.csv")
    assert schema.column("foreign_worker").type == ColumnType.BOOLEAN  # yes/no
    assert schema.column("telephone").type == ColumnType.CATEGORICAL  # yes/none is not a boolean
    assert schema.column("default").type == ColumnType.INTEGER  # 1/2 is not a boolean
    assert schema.column("job").sensitivity == Sensitivity.QUASI_IDENTIFIER


# --- every kind of column ------------------------------------------------------------------------


def test_identifiers(mixed: TableSchema) -> None:
    email = mixed.column("email")
    assert (email.type, email.sensitivity, email.pii) == (
        ColumnType.IDENTIFIER,
        Sensitivity.DIRECT_IDENTIFIER,
        "email",
    )
    assert email.domain is None and not email.modeled
    for name in ("customer_id", "token"):
        col = mixed.column(name)
        assert (col.type, col.sensitivity, col.pii) == (
            ColumnType.IDENTIFIER,
            Sensitivity.DIRECT_IDENTIFIER,
            None,
        )
    assert any("email" in n and "confidence" in n for n in mixed.notes)


def test_text_and_empty_columns_are_dropped(mixed: TableSchema) -> None:
    for name in ("comment", "empty"):
        col = mixed.column(name)
        assert col.type == ColumnType.TEXT and col.identifier_handling == "drop" and not col.modeled
    assert mixed.column("empty").nullable


def test_datetime(mixed: TableSchema) -> None:
    signup = mixed.column("signup")
    assert signup.type == ColumnType.DATETIME
    assert (signup.domain.lower, signup.domain.upper, signup.domain.format) == (
        "2023-01-01",
        "2023-12-28",
        "%Y-%m-%d",
    )
    assert signup.sensitivity == Sensitivity.ORDINARY
    dob = mixed.column("dob")
    assert (dob.type, dob.sensitivity, dob.pii) == (
        ColumnType.DATETIME,
        Sensitivity.QUASI_IDENTIFIER,
        "date_of_birth",
    )


def test_native_datetime_from_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"at": pd.to_datetime(["2024-01-02 03:04:05", "2024-02-01 00:00:00", None])})
    path = write_table(frame, tmp_path / "t.parquet")
    col = infer_schema(path).column("at")
    assert col.type == ColumnType.DATETIME and col.nullable
    assert (col.domain.lower, col.domain.upper) == ("2024-01-02T03:04:05", "2024-02-01T00:00:00")


def test_numbers(mixed: TableSchema) -> None:
    amount = mixed.column("amount")
    assert amount.type == ColumnType.NUMERICAL
    assert amount.domain.decimals == 2
    assert amount.domain.point_masses == (0,)
    assert amount.domain.scale == "log"
    assert amount.domain.lower == 0.0
    score = mixed.column("score")
    # Floats that are all whole numbers (an int column with NaN) are integers, and nullable.
    assert score.type == ColumnType.INTEGER and score.nullable
    assert isinstance(score.domain.lower, int) and 0 <= score.domain.lower < score.domain.upper <= 99


def test_booleans_and_categories(mixed: TableSchema) -> None:
    assert mixed.column("flag").type == ColumnType.BOOLEAN
    assert mixed.column("flag").domain.categories == ("false", "true")
    assert mixed.column("bit").type == ColumnType.BOOLEAN
    assert mixed.column("bit").domain.categories == (0, 1)
    assert mixed.column("answer").type == ColumnType.CATEGORICAL
    assert mixed.column("const").domain.categories == ("x",)
    city = mixed.column("city").domain.categories
    assert city is not None and list(city) == sorted(city) and len(city) > 64
    gender = mixed.column("gender")
    assert gender.nullable and gender.domain.categories == ("f", "m")


def test_codes_with_leading_zeros_stay_text(mixed: TableSchema) -> None:
    zip_col = mixed.column("zip")
    assert zip_col.type == ColumnType.CATEGORICAL
    assert (zip_col.sensitivity, zip_col.pii) == (Sensitivity.QUASI_IDENTIFIER, "postcode")
    assert all(isinstance(c, str) and len(c) == 5 for c in zip_col.domain.categories)


def test_sensitivity_from_names(mixed: TableSchema) -> None:
    diagnosis = mixed.column("diagnosis")
    assert (diagnosis.sensitivity, diagnosis.special_category) == (Sensitivity.SPECIAL_CATEGORY, "health")
    assert mixed.column("gender").sensitivity == Sensitivity.QUASI_IDENTIFIER
    assert mixed.column("city").sensitivity == Sensitivity.ORDINARY


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("Religion", "religion"),
        ("ethnic_group", "ethnicity"),
        ("political_party", "political_opinion"),
        ("sexual orientation", "sexual_orientation"),
        ("biometricTemplate", "biometric"),
        ("genetic_marker", "genetic"),
        ("union_member", "trade_union"),
        ("medical_history", "health"),
        ("disease", "health"),
        ("trace_level", None),
        ("percentage", None),
    ],
)
def test_special_category_names(name: str, category: str | None) -> None:
    assert infer_module.special_category_of(name) == category


@pytest.mark.parametrize(
    ("name", "quasi"),
    [
        ("Age", True),
        ("marital_status", True),
        ("nationality", True),
        ("Occupation", True),
        ("zipCode", True),
        ("native-country", True),
        ("country", False),
        ("usage", False),
        ("sextant", False),
    ],
)
def test_quasi_identifier_names(name: str, quasi: bool) -> None:
    assert infer_module.is_quasi_identifier_name(name) is quasi


def test_many_categories_are_not_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infer_module, "MAX_CATEGORIES", 20)
    frame = pd.DataFrame({"code": [f"k{i % 50}" for i in range(500)]})
    schema = infer_schema(frame)
    col = schema.column("code")
    assert col.type == ColumnType.CATEGORICAL and col.domain.categories is None
    assert any("more than 20 distinct values" in n for n in schema.notes)


def test_inferred_schema_is_valid_json_schema(mixed: TableSchema) -> None:
    doc = mixed.to_dict()
    assert TableSchema.from_dict(doc) == mixed
    for col in doc["columns"]:
        if "domain" in col:
            assert col["domain"]["public"] is False and col["domain"]["source"] == "inferred"


def test_deterministic_and_chunking_independent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = mixed_frame(n=300, seed=3)
    path = write_table(frame, tmp_path / "mixed.csv")
    first = infer_schema(path)
    assert infer_schema(path).to_json() == first.to_json()
    monkeypatch.setattr(infer_module, "CHUNK_ROWS", 64)
    assert infer_schema(path).to_json() == first.to_json()


def test_empty_tables_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n")
    with pytest.raises(DataError, match="no rows"):
        infer_schema(path)
    with pytest.raises(DataError, match="no rows"):
        infer_schema(pd.DataFrame({"a": []}))
    with pytest.raises(DataError, match="duplicate"):
        infer_schema(pd.DataFrame([[1, 2]], columns=["a", "a"]))


@pytest.mark.parametrize("module", ["io", "pii", "infer", "identifiers"])
def test_engine_modules_import_only_pure_libraries(module: str) -> None:
    import ast
    import sys

    source = (Path(infer_module.__file__).parent / f"{module}.py").read_text()
    allowed = {"numpy", "pandas", "pyarrow", "scipy", "app"}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in allowed or top in sys.stdlib_module_names, f"{module} imports {name}"
            if top == "app":
                assert name.startswith("app.engine"), f"{module} imports {name}"
