"""Fixtures for the validation unit tests: small seeded slices of Adult and synthetic stand-ins.

Stand-ins for a synthesizer's output, built from the training rows:

* ``product_sample``: every column drawn independently from its training marginal (a product of
  marginals). It knows nothing about any individual, like a DP release, so it must pass every
  privacy gate, and it breaks every dependence, so it must fail utility.
* ``leaky``: a product sample in which 5 % of the rows are real training rows, verbatim or
  lightly perturbed (numbers scaled by 1 + N(0, 0.02), categories kept).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from app.validation import Metadata, builtin_policy, infer_metadata

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def one_thread():
    """Single-threaded BLAS/OpenMP: on a shared 2-core box, oversubscribed threads are far slower."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def adult_all() -> pd.DataFrame:
    path = DATA / "adult.csv"
    if not path.exists():
        pytest.fail(f"public test data missing: {path}")
    return pd.read_csv(path, keep_default_na=False)


def adult_metadata(data: pd.DataFrame, **roles) -> Metadata:
    """Adult metadata read off ``data``, with income as the target."""
    base = {"target": "income", "positive_label": ">50K"}
    return infer_metadata(data, **(base | roles))


@pytest.fixture(scope="session")
def adult_split(adult_all):
    """(train, holdout, metadata): 8,000 + 2,000 seeded rows."""
    rows = adult_all.sample(10_000, random_state=7).reset_index(drop=True)
    train, holdout = rows.iloc[:8000].reset_index(drop=True), rows.iloc[8000:].reset_index(drop=True)
    return train, holdout, adult_metadata(rows, subgroups=["sex", "race"])


def product_sample(train: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """Independent draws from each column's training marginal."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.choice(train[c].to_numpy(), n) for c in train.columns})


def perturb(rows: pd.DataFrame, meta: Metadata, seed: int = 0) -> pd.DataFrame:
    """Numbers scaled by 1 + N(0, 0.02) (rounded for integers, kept in range); labels unchanged."""
    rng = np.random.default_rng(seed)
    out = rows.copy()
    for col in meta.columns:
        if col.numeric:
            x = out[col.name].to_numpy(float) * (1 + rng.normal(0, 0.02, len(out)))
            x = np.clip(x, col.lower, col.upper)
            out[col.name] = np.round(x).astype(rows[col.name].dtype) if col.type == "integer" else x
    return out


def leaky(train: pd.DataFrame, meta: Metadata, *, share: float = 0.05, perturbed: bool = False, seed: int = 0) -> pd.DataFrame:
    """A product sample of len(train) rows in which ``share`` of the rows are training rows."""
    rng = np.random.default_rng(seed)
    k = round(share * len(train))
    leaked = train.iloc[rng.choice(len(train), k, replace=False)]
    if perturbed:
        leaked = perturb(leaked, meta, seed)
    rows = pd.concat([product_sample(train, len(train) - k, seed), leaked], ignore_index=True)
    return rows.iloc[rng.permutation(len(rows))].reset_index(drop=True)


def only(policy_name: str, *families: str) -> dict:
    """A policy document with the gates of ``policy_name`` that belong to ``families``."""
    base = builtin_policy(policy_name)
    return {
        "name": f"{policy_name}-subset",
        "version": 1,
        "params": {k: dict(v) for k, v in base.params.items()},
        "gates": [g.to_dict() for g in base.gates if g.family in families],
    }


@pytest.fixture(scope="session")
def build() -> SimpleNamespace:
    """The builders above, for test modules (conftest is not importable under importlib mode)."""
    return SimpleNamespace(metadata=adult_metadata, product=product_sample, perturb=perturb, leaky=leaky, only=only)
