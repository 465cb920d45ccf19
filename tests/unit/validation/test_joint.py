"""Joint metrics: correlations, Cramér's V, contingency and 3-way TVD."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.validation.joint import correlation_difference, cramers_v, joint_metrics, three_way_tvd
from app.validation.metadata import ColumnMeta, Metadata

META = Metadata(
    columns=(
        ColumnMeta(name="x", type="numerical", lower=-5.0, upper=5.0),
        ColumnMeta(name="y", type="numerical", lower=-5.0, upper=5.0),
        ColumnMeta(name="a", type="categorical", categories=("p", "q")),
        ColumnMeta(name="t", type="categorical", categories=("0", "1")),
    ),
    target="t",
)


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=4000)
    y = 0.8 * x + 0.6 * rng.normal(size=4000)  # corr(x, y) = 0.8
    a = np.where(x > 0, "p", "q")
    t = np.where(rng.random(4000) < np.where(a == "p", 0.9, 0.1), "1", "0")
    return pd.DataFrame({"x": x, "y": y, "a": a, "t": t})


def test_identical_tables_score_zero(real):
    values = joint_metrics(real, real.sample(frac=1, random_state=3), metadata=META)["values"]
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in values.values())


def test_broken_dependence_is_measured(real):
    rng = np.random.default_rng(1)
    shuffled = real.apply(lambda c: rng.permutation(c.to_numpy()))  # same marginals, no dependence
    corr = correlation_difference(real, shuffled, metadata=META)
    assert corr["max"] == pytest.approx(0.8, abs=0.05)
    res = joint_metrics(real, shuffled, metadata=META)["values"]
    assert res["cramers_v_diff_max"] > 0.5  # a -> t had V ~ 0.8, now ~ 0
    assert res["three_way_tvd_mean"] > 0.2


def test_cramers_v_known_tables():
    assert cramers_v(np.array([[50, 0], [0, 50]])) == pytest.approx(1.0)
    assert cramers_v(np.array([[25, 25], [25, 25]])) == pytest.approx(0.0)
    assert cramers_v(np.array([[10, 0, 0]])) == 0.0  # one row: no association to measure


def test_three_way_needs_a_target(real):
    meta = Metadata(columns=META.columns)
    assert three_way_tvd(real, real, metadata=meta)["mean"] is None
    res = three_way_tvd(real, real, metadata=META)
    assert res["triples"] == 3 and res["mean"] == 0.0
