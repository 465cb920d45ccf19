"""Public discretisation: encoding to cells and decoding back to faithful values."""

import numpy as np
import pandas as pd
import pytest

from app.engine.discretize import build_codec, coarse_groups
from app.engine.errors import DataError, SchemaError
from app.engine.schema import ColumnSchema, ColumnType, Domain


def col(type_, nullable=False, **domain):
    return ColumnSchema(name="x", type=ColumnType(type_), domain=Domain(**domain), nullable=nullable)


def test_integer_columns_decode_to_integers_in_the_same_cell():
    codec = build_codec(col("integer", lower=0, upper=1000, bins=10))
    values = pd.Series([0, 5, 99, 100, 555, 1000])
    codes = codec.encode(values)
    decoded = codec.decode(codes, np.random.default_rng(0))
    assert decoded.dtype == np.int64
    assert (codec.encode(decoded) == codes).all()
    assert decoded.between(0, 1000).all()


def test_point_mass_keeps_exact_zeros_and_bins_never_produce_them():
    codec = build_codec(col("integer", lower=0, upper=99999, bins=16, scale="log", point_masses=[0]))
    codes = codec.encode(pd.Series([0, 0, 1, 7000, 99999]))
    assert codes[0] == codes[1] == codec.n_bins  # the zero cell follows the bins
    decoded = codec.decode(np.repeat(codes, 200), np.random.default_rng(1)).to_numpy().reshape(5, 200)
    assert (decoded[0] == 0).all()
    assert (decoded[2:] != 0).all()


def test_log_scale_edges_are_geometric():
    codec = build_codec(col("numerical", lower=0, upper=1e6, bins=6, scale="log"))
    widths = np.diff(codec.edges)
    assert (np.diff(widths) > 0).all()


def test_values_outside_numeric_domain_are_clipped_into_end_bins():
    codec = build_codec(col("numerical", lower=0, upper=10, bins=5))
    assert codec.encode(pd.Series([-5.0, 50.0])).tolist() == [0, 4]


def test_decimals_are_kept():
    codec = build_codec(col("numerical", lower=0, upper=1, bins=4, decimals=2))
    out = codec.decode(np.array([0, 1, 2, 3] * 10), np.random.default_rng(0))
    assert np.allclose(out, out.round(2))


def test_categories_round_trip_with_their_original_type():
    codec = build_codec(col("categorical", categories=[1, 2]))
    codes = codec.encode(pd.Series(["1", "2", "2"]))
    out = codec.decode(codes, np.random.default_rng(0))
    assert out.tolist() == [1, 2, 2] and out.dtype == np.int64


def test_unknown_category_is_a_data_error():
    codec = build_codec(col("categorical", categories=["a", "b"]))
    with pytest.raises(DataError, match="not in its declared categories"):
        codec.encode(pd.Series(["a", "zzz"]))


def test_missing_values_need_a_nullable_column_and_get_their_own_cell():
    strict = build_codec(col("categorical", categories=["a"]))
    with pytest.raises(DataError, match="nullable"):
        strict.encode(pd.Series(["a", None]))
    nullable = build_codec(col("integer", nullable=True, lower=0, upper=9))
    codes = nullable.encode(pd.Series([1, None, 3], dtype="Int64"))
    assert codes[1] == nullable.null_code
    out = nullable.decode(codes, np.random.default_rng(0))
    assert out.isna().tolist() == [False, True, False] and str(out.dtype) == "Int64"


def test_datetime_round_trip_keeps_format():
    codec = build_codec(col("datetime", lower="2020-01-01", upper="2020-12-31", format="%Y-%m-%d", bins=12))
    values = pd.Series(["2020-01-05", "2020-06-30", "2020-12-31"])
    out = codec.decode(codec.encode(values), np.random.default_rng(0))
    assert out.str.match(r"^2020-\d\d-\d\d$").all()
    assert (codec.encode(out) == codec.encode(values)).all()


def test_booleans_parse_common_spellings():
    codec = build_codec(ColumnSchema(name="b", type=ColumnType.BOOLEAN, domain=Domain()))
    assert codec.encode(pd.Series(["true", "False", "1", "no"])).tolist() == [1, 0, 1, 0]
    assert codec.decode(np.array([0, 1]), np.random.default_rng(0)).tolist() == [False, True]


def test_missing_domain_is_a_schema_error():
    with pytest.raises(SchemaError):
        build_codec(ColumnSchema(name="x", type=ColumnType.INTEGER))


def test_coarse_groups_have_equal_mass_and_keep_special_cells_apart():
    codec = build_codec(col("integer", nullable=True, lower=0, upper=99, bins=20, point_masses=[0]))
    fine = np.r_[np.full(20, 100.0), 500.0, 30.0]  # 20 bins, the zero cell, the null cell
    groups = coarse_groups(codec, fine, max_groups=6, min_count=10)
    bins = groups[:20]
    assert (np.diff(bins) >= 0).all()  # runs of consecutive bins
    assert len(set(bins)) == 4
    assert groups[20] not in bins and groups[21] not in bins and groups[20] != groups[21]


def test_coarse_groups_pool_rare_categories():
    codec = build_codec(col("categorical", categories=list("abcdef")))
    groups = coarse_groups(codec, np.array([500, 400, 3, 2, 1, 300.0]), max_groups=8, min_count=10)
    assert len({groups[0], groups[1], groups[5]}) == 3
    assert groups[2] == groups[3] == groups[4]


def test_dp_discovered_categories_pool_unreleased_values_in_an_other_cell():
    codec = build_codec(col("categorical", categories=["a", "b"], source="dp_estimated"))
    codes = codec.encode(pd.Series(["a", "rare-key", "b"]))
    assert codes.tolist() == [0, codec.other_code, 1]
    out = codec.decode(np.full(50, codec.other_code), np.random.default_rng(0))
    assert set(out) <= {"a", "b"}  # the rare value itself is never released


def test_booleans_declared_with_their_spelling_keep_it():
    codec = build_codec(ColumnSchema(name="b", type=ColumnType.BOOLEAN, domain=Domain(categories=("no", "yes"))))
    codes = codec.encode(pd.Series(["yes", "no", "yes"]))
    assert codec.decode(codes, np.random.default_rng(0)).tolist() == ["yes", "no", "yes"]
