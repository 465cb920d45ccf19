"""The optional SDV engines: shape, categories, determinism and clear errors."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.engine import sdv_engines
from app.engine.errors import DataError, EngineError, EngineNotAvailable, SchemaError

INSURANCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "insurance.csv"
METADATA = {
    "age": "numerical",
    "sex": "categorical",
    "bmi": "numerical",
    "children": "numerical",
    "smoker": "categorical",
    "region": "categorical",
    "charges": "numerical",
}
CATEGORICAL = [c for c, t in METADATA.items() if t == "categorical"]

needs_sdv = pytest.mark.skipif(not sdv_engines.available_engines(), reason="SDV is not installed")


@pytest.fixture(scope="module")
def insurance() -> pd.DataFrame:
    if not INSURANCE.exists():
        pytest.skip(f"{INSURANCE} not found")
    return pd.read_csv(INSURANCE).iloc[:500].reset_index(drop=True)


def _check_output(out: pd.DataFrame, frame: pd.DataFrame, rows: int) -> None:
    assert len(out) == rows
    assert list(out.columns) == list(frame.columns)
    for col in CATEGORICAL:
        assert set(out[col].dropna()) <= set(frame[col].dropna()), col
    for col in ("age", "children"):
        assert pd.api.types.is_integer_dtype(out[col].dtype), col


@needs_sdv
def test_gaussian_copula_shape_categories_and_determinism(insurance: pd.DataFrame) -> None:
    before = insurance.copy()
    np_state = np.random.get_state()[1].copy()
    py_state = random.getstate()

    first = sdv_engines.fit_sample("gaussian_copula", insurance, metadata=METADATA, rows=321, seed=11)
    second = sdv_engines.fit_sample("gaussian_copula", insurance, metadata=METADATA, rows=321, seed=11)
    other = sdv_engines.fit_sample("gaussian_copula", insurance, metadata=METADATA, rows=321, seed=12)

    _check_output(first, insurance, 321)
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(other)
    pd.testing.assert_frame_equal(insurance, before)  # the input is left alone
    assert (np.random.get_state()[1] == np_state).all()  # global generators restored
    assert random.getstate() == py_state


@needs_sdv
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ctgan", "tvae"])
def test_neural_engines_shape_and_determinism(kind: str, insurance: pd.DataFrame) -> None:
    small = insurance.iloc[:200]
    first = sdv_engines.fit_sample(kind, small, metadata=METADATA, rows=150, seed=3, epochs=1)
    second = sdv_engines.fit_sample(kind, small, metadata=METADATA, rows=150, seed=3, epochs=1)
    _check_output(first, small, 150)
    pd.testing.assert_frame_equal(first, second)


def test_unknown_engine_is_not_available(insurance: pd.DataFrame) -> None:
    with pytest.raises(EngineNotAvailable, match="unknown SDV engine"):
        sdv_engines.fit_sample("bayes_net", insurance, metadata=METADATA, rows=10, seed=0)  # type: ignore[arg-type]


def test_missing_sdv_names_the_install_command(monkeypatch: pytest.MonkeyPatch, insurance: pd.DataFrame) -> None:
    import builtins

    real_import = builtins.__import__

    def no_sdv(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "sdv" or name.startswith("sdv."):
            raise ImportError("No module named 'sdv'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sdv)
    with pytest.raises(EngineNotAvailable, match=r"pip install -e '\.\[sdv\]'"):
        sdv_engines.fit_sample("gaussian_copula", insurance, metadata=METADATA, rows=10, seed=0)


@pytest.mark.parametrize(
    ("metadata", "rows", "error", "match"),
    [
        ({**METADATA, "extra": "numerical"}, 10, SchemaError, "not in the data"),
        ({k: v for k, v in METADATA.items() if k != "bmi"}, 10, SchemaError, "without metadata: bmi"),
        ({**METADATA, "bmi": "float"}, 10, SchemaError, "unsupported SDV type"),
        (METADATA, 0, EngineError, "rows must be a positive integer"),
    ],
)
def test_bad_input_is_rejected_before_fitting(
    insurance: pd.DataFrame, metadata: dict[str, str], rows: int, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        sdv_engines.fit_sample("gaussian_copula", insurance, metadata=metadata, rows=rows, seed=0)


def test_empty_frame_is_a_data_error(insurance: pd.DataFrame) -> None:
    with pytest.raises(DataError):
        sdv_engines.fit_sample("gaussian_copula", insurance.iloc[:0], metadata=METADATA, rows=5, seed=0)
