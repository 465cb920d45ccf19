"""Shared fixtures for the engine unit tests: small slices of the public Adult data."""

from pathlib import Path

import pandas as pd
import pytest

from app.engine.schema import TableSchema

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def adult_schema() -> TableSchema:
    return TableSchema.from_json((ROOT / "bench" / "adult_schema.json").read_text())


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    path = DATA / "adult.csv"
    if not path.exists():
        pytest.fail(f"public test data missing: {path}")
    return pd.read_csv(path, keep_default_na=False, nrows=8000)
