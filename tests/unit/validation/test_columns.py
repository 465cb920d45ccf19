"""Per-column metrics on constructed cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.validation.columns import (
    column_metrics,
    ks_statistic,
    missing_rate_difference,
    out_of_domain_share,
    total_variation,
    wasserstein_normalised,
)
from app.validation.metadata import ColumnMeta, Metadata

NUM = ColumnMeta(name="x", type="numerical", lower=0.0, upper=10.0)
INT = ColumnMeta(name="k", type="integer", lower=0.0, upper=5.0)
CAT = ColumnMeta(name="c", type="categorical", categories=("a", "b", "c"))
DATE = ColumnMeta(name="d", type="datetime", lower=0.0, upper=366.0)


def test_identical_columns_are_zero_distance():
    x = pd.Series(np.random.default_rng(0).uniform(0, 10, 500))
    assert ks_statistic(x, x.sample(frac=1, random_state=1), column=NUM) == 0.0
    assert wasserstein_normalised(x, x[::-1], column=NUM) == 0.0
    c = pd.Series(list("aabbc"))
    assert total_variation(c, c[::-1], column=CAT) == 0.0
    assert missing_rate_difference(c, c, column=CAT) == 0.0


def test_shifted_uniform_has_known_ks_and_wasserstein():
    grid = pd.Series(np.linspace(0, 5, 10_001))
    assert ks_statistic(grid, grid + 2.5, column=NUM) == pytest.approx(0.5, abs=1e-3)
    assert wasserstein_normalised(grid, grid + 2.5, column=NUM) == pytest.approx(0.25)  # 2.5 / range 10
    assert ks_statistic(grid, grid + 100, column=NUM) == 1.0


def test_total_variation_known_values():
    real = pd.Series(["a"] * 50 + ["b"] * 50)
    assert total_variation(real, pd.Series(["a"] * 100), column=CAT) == pytest.approx(0.5)
    assert total_variation(real, pd.Series(["c"] * 10), column=CAT) == pytest.approx(1.0)
    # numbers are compared on their public bins (0..5 integers: one bin each)
    assert total_variation(pd.Series([0, 1]), pd.Series([1, 1]), column=INT) == pytest.approx(0.5)


def test_missing_rate_and_out_of_domain():
    real = pd.Series([1.0, 2.0, 3.0, 4.0])
    syn = pd.Series([1.0, np.nan, 11.0, -1.0])
    assert missing_rate_difference(real, syn, column=NUM) == pytest.approx(0.25)
    assert out_of_domain_share(real, syn, column=NUM) == pytest.approx(0.5)  # 11 and -1; NaN not counted
    assert out_of_domain_share(real, pd.Series([1.0, 2.5]), column=INT) == pytest.approx(0.5)  # not an integer
    assert out_of_domain_share(real, pd.Series(["a", "zzz", None, "b"]), column=CAT) == pytest.approx(0.25)


def test_datetime_columns_compare_as_days():
    real = pd.Series(pd.date_range("2020-01-01", periods=100, freq="D"))
    assert ks_statistic(real, real, column=DATE) == 0.0
    assert wasserstein_normalised(real, real + pd.Timedelta(days=36.6), column=DATE) == pytest.approx(0.1)


def test_column_metrics_on_a_table():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.uniform(0, 10, 1000), "c": rng.choice(list("abc"), 1000)})
    meta = Metadata(columns=(NUM, CAT))
    same = column_metrics(real, real, metadata=meta)
    assert all(v == 0.0 for v in same["values"].values())
    off = real.assign(x=real.x + 20)
    res = column_metrics(real, off, metadata=meta)
    assert res["values"]["ks_max"] == 1.0 and res["values"]["out_of_domain_share_max"] == 1.0
    assert res["details"]["worst"]["ks"] == "x"
    hist = res["details"]["histograms"]["c"]
    assert hist["labels"] == ["a", "b", "c"] and sum(hist["real"]) == pytest.approx(1.0)
