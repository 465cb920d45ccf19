"""Paid domain estimation: DP bounds, quantile edges, zero point masses and thresholded categories."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.engine.accountant import Accountant, gaussian_sigma
from app.engine.domain_estimation import EstimatedDomains, estimate_domains
from app.engine.errors import BudgetError, DataError, SchemaError
from app.engine.schema import ColumnSchema, ColumnType, Domain, DomainSource, Sensitivity, TableSchema

ADULT = Path("/work/shared/data/adult.csv")
N = 20_000


def _schema(*cols: tuple[str, ColumnType] | ColumnSchema, k: int = 1) -> TableSchema:
    built = tuple(c if isinstance(c, ColumnSchema) else ColumnSchema(c[0], c[1]) for c in cols)
    return TableSchema(built, max_rows_per_person=k)


def _chunked(df: pd.DataFrame, rows: int = 7_000):
    """A re-readable source yielding ``df`` in chunks, counting how often it is read."""

    def chunks():
        chunks.calls += 1
        return (df.iloc[i : i + rows] for i in range(0, len(df), rows))

    chunks.calls = 0
    return chunks


def _estimate(df, schema, columns, *, rho=1.0, delta=1e-6, seed=0, budget=None, bins=32):
    acct = Accountant(rho if budget is None else budget)
    out = estimate_domains(
        _chunked(df),
        schema,
        columns,
        accountant=acct,
        rho=rho,
        delta=delta,
        rng=np.random.default_rng(seed),
        bins=bins,
    )
    return out, acct


def _check_edges(dom: Domain, *, integer: bool = False, bins: int = 32) -> None:
    edges = np.asarray(dom.edges)
    assert edges.size >= 2 and edges.size <= bins + 1
    assert np.all(np.diff(edges) > 0)
    assert edges[0] == float(dom.lower) and edges[-1] == float(dom.upper)
    if integer:
        assert np.all(edges == np.round(edges))


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return pd.read_csv(ADULT, dtype=str, usecols=["age", "capital-gain", "workclass", "sex"])


# --- numeric ---------------------------------------------------------------------------------


SAMPLES = {
    "normal": lambda rng: rng.normal(50.0, 10.0, N),
    "standard_normal": lambda rng: rng.normal(0.0, 1.0, N),
    "lognormal": lambda rng: rng.lognormal(0.0, 1.0, N),
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_bounds_cover_the_bulk_without_revealing_min_or_max(kind):
    x = SAMPLES[kind](np.random.default_rng(1))
    out, acct = _estimate(pd.DataFrame({"x": x}), _schema(("x", ColumnType.NUMERICAL)), ["x"])
    dom = out.schema.column("x").domain
    assert dom.public is True and dom.source == DomainSource.DP_ESTIMATED
    lo, hi = np.percentile(x, [1, 99])
    assert dom.lower <= lo and dom.upper >= hi
    assert dom.lower != x.min() and dom.upper != x.max()
    assert dom.upper - dom.lower < 4 * (x.max() - x.min())  # tightened well inside the power-of-two grid
    _check_edges(dom)
    assert dom.point_masses == ()
    assert dom.scale == ("log" if kind == "lognormal" else "linear")
    # quantile-like edges: each bin holds roughly 1/32 of the data
    share = np.histogram(np.clip(x, dom.lower, dom.upper), bins=np.asarray(dom.edges))[0] / N
    assert share.max() < 3 / 32
    assert acct.spent == pytest.approx(1.0, rel=1e-12)
    assert out.delta_used == 0.0


@pytest.mark.parametrize("seed", range(10))
def test_a_single_far_outlier_does_not_move_the_upper_bound(seed):
    x = np.append(np.random.default_rng(seed).normal(50.0, 10.0, N), 1e12)
    out, _ = _estimate(pd.DataFrame({"x": x}), _schema(("x", ColumnType.NUMERICAL)), ["x"], rho=4.0, seed=seed)
    assert out.schema.column("x").domain.upper < 1e3


def test_adult_capital_gain_keeps_its_zeros_and_top_values(adult):
    schema = _schema(("capital-gain", ColumnType.INTEGER), ("age", ColumnType.INTEGER))
    out, acct = _estimate(adult, schema, ["capital-gain", "age"], rho=2.0)
    gain = out.schema.column("capital-gain").domain
    assert gain.point_masses == (0.0,)
    assert gain.lower == 0 and gain.upper >= 99_999  # 99999 (159 rows) is not clipped away
    assert gain.scale == "log"
    assert isinstance(gain.lower, int) and isinstance(gain.upper, int)
    _check_edges(gain, integer=True)
    age = out.schema.column("age").domain
    assert age.point_masses == ()
    assert 10 <= age.lower <= 17 and 90 <= age.upper <= 128  # data range is 17..90
    _check_edges(age, integer=True)
    assert acct.spent == pytest.approx(2.0, rel=1e-12)


def test_integer_edges_are_aligned_and_small_ranges_use_one_cell_per_integer():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 21, N)
    out, _ = _estimate(pd.DataFrame({"n": x}), _schema(("n", ColumnType.INTEGER)), ["n"], rho=2.0)
    dom = out.schema.column("n").domain
    assert (dom.lower, dom.upper) == (1, 20)
    _check_edges(dom, integer=True)
    # 20 values, at most 32 bins: every integer is an edge (the last bin, [19, 20], is closed)
    assert dom.edges == tuple(float(v) for v in range(1, 21))


def test_datetime_bounds_are_iso_dates_and_edges_are_days():
    rng = np.random.default_rng(4)
    days = rng.integers(0, 3_650, N)
    stamps = pd.Timestamp("2000-01-01") + pd.to_timedelta(days, unit="D")
    df = pd.DataFrame({"d": stamps.strftime("%d/%m/%Y")})
    col = ColumnSchema("d", ColumnType.DATETIME, domain=Domain(format="%d/%m/%Y", public=False, source=DomainSource.INFERRED))
    out, _ = _estimate(df, _schema(col), ["d"], rho=2.0)
    dom = out.schema.column("d").domain
    assert dom.format == "%d/%m/%Y" and dom.public and dom.source == DomainSource.DP_ESTIMATED
    lower, upper = pd.Timestamp(dom.lower), pd.Timestamp(dom.upper)
    assert pd.Timestamp("1999-06-01") <= lower <= pd.Timestamp("2000-01-10")
    assert pd.Timestamp("2009-12-20") <= upper <= pd.Timestamp("2010-06-01")
    epoch_days = np.asarray(dom.edges)
    assert epoch_days[0] == (lower - pd.Timestamp(0)).days and epoch_days[-1] == (upper - pd.Timestamp(0)).days
    assert np.all(np.diff(epoch_days) > 0) and np.all(epoch_days == np.round(epoch_days))
    assert dom.point_masses == ()


def test_declared_decimals_and_nullable_are_kept_and_missing_values_ignored():
    x = np.random.default_rng(5).normal(10.0, 2.0, N)
    x[::10] = np.nan
    cols = (
        ColumnSchema(
            "a",
            ColumnType.NUMERICAL,
            domain=Domain(decimals=2, public=False, source=DomainSource.INFERRED),
            nullable=True,
        ),
        ColumnSchema("b", ColumnType.NUMERICAL, nullable=False),  # nulls are not checked here: no leak
    )
    out, _ = _estimate(pd.DataFrame({"a": x, "b": x}), _schema(*cols), ["a", "b"], rho=2.0)
    a, b = out.schema.column("a"), out.schema.column("b")
    assert a.nullable is True and b.nullable is False
    assert a.domain.decimals == 2 and b.domain.decimals is None
    assert a.domain.lower <= np.nanpercentile(x, 1) and a.domain.upper >= np.nanpercentile(x, 99)


# --- categories ------------------------------------------------------------------------------


def _keys_frame() -> pd.DataFrame:
    keys = ["red"] * 5_000 + ["blue"] * 3_000 + ["green"] * 200 + ["mauve"] + [None] * 50
    return pd.DataFrame({"colour": keys})


def test_common_keys_are_released_sorted_and_a_singleton_is_not():
    out, acct = _estimate(_keys_frame(), _schema(("colour", ColumnType.CATEGORICAL)), ["colour"], rho=1.0)
    dom = out.schema.column("colour").domain
    assert dom.categories == ("blue", "green", "red")
    assert dom.public and dom.source == DomainSource.DP_ESTIMATED
    assert out.delta_used == 1e-6
    (charge,) = acct.charges
    assert charge.details["method"] == "thresholded_key_histogram"
    assert charge.details["delta"] == 1e-6


def test_numeric_category_keys_come_back_as_numbers():
    df = pd.DataFrame({"code": [3] * 400 + [1] * 300 + [2] * 200 + [99]})
    out, _ = _estimate(df, _schema(("code", ColumnType.CATEGORICAL)), ["code"], rho=1.0)
    assert out.schema.column("code").domain.categories == (1, 2, 3)


@pytest.mark.parametrize("k", [1, 2])
def test_a_key_held_by_one_person_is_released_at_most_delta_often(k):
    """One person's k rows of a key are released with probability exactly delta/k <= delta.

    With 400 seeds and delta = 0.1 the count is Binomial(400, 0.1/k): the bound below is its
    mean plus 4 standard deviations (false alarm about 3e-5), and the floor checks that the
    threshold is calibrated rather than needlessly high.
    """
    delta, seeds = 0.1, 400
    df = pd.DataFrame({"c": ["common"] * 2_000 + ["rare"] * k})
    schema = _schema(("c", ColumnType.CATEGORICAL), k=k)
    released = 0
    for seed in range(seeds):
        out, _ = _estimate(df, schema, ["c"], rho=2.0, delta=delta, seed=seed)
        released += "rare" in out.schema.column("c").domain.categories
    p = delta / k
    assert released <= seeds * p + 4 * math.sqrt(seeds * p * (1 - p))
    assert released >= seeds * p / 4


def test_booleans_are_free_and_unchanged():
    schema = _schema(("flag", ColumnType.BOOLEAN))
    out, acct = _estimate(pd.DataFrame({"flag": [True, False] * 10}), schema, ["flag"])
    assert out.schema == schema and out.phases == [] and out.delta_used == 0.0
    assert acct.spent == 0.0


# --- budget ----------------------------------------------------------------------------------


def test_spend_is_split_evenly_and_adds_up_to_rho():
    rng = np.random.default_rng(6)
    df = pd.DataFrame(
        {
            "x": rng.normal(0, 1, N),
            "n": rng.integers(0, 50, N),
            "c": rng.choice(["a", "b", "c"], N),
            "d": rng.choice(["u", "v"], N),
            "flag": rng.random(N) < 0.5,
        }
    )
    schema = _schema(
        ("x", ColumnType.NUMERICAL),
        ("n", ColumnType.INTEGER),
        ("c", ColumnType.CATEGORICAL),
        ("d", ColumnType.CATEGORICAL),
        ("flag", ColumnType.BOOLEAN),
        k=3,
    )
    rho, delta = 0.8, 1e-5
    out, acct = _estimate(df, schema, ["flag", "d", "c", "n", "x"], rho=rho, delta=delta, budget=2.0)
    assert acct.spent == pytest.approx(rho, rel=1e-12) and acct.spent <= rho * (1 + 1e-12)
    assert out.delta_used == delta
    assert out.phases == acct.to_list()
    per_column: dict[str, float] = {}
    for charge in acct.charges:
        assert charge.name == "domain"
        assert charge.details["sigma"] == pytest.approx(gaussian_sigma(3, charge.rho))
        per_column[charge.details["column"]] = per_column.get(charge.details["column"], 0.0) + charge.rho
        if charge.details["method"] == "thresholded_key_histogram":
            assert charge.details["delta"] == pytest.approx(delta / 2)
    assert sorted(per_column) == ["c", "d", "n", "x"]
    assert all(v == pytest.approx(rho / 4) for v in per_column.values())
    methods = [(c.details["column"], c.details["method"]) for c in acct.charges]
    assert methods.count(("x", "bounds_histogram")) == 1 and methods.count(("x", "quantile_histogram")) == 1
    assert acct.charges[0].rho == pytest.approx(rho / 8)
    assert out.schema.column("flag") == schema.column("flag")
    # the result is a valid, publishable schema document
    assert TableSchema.from_dict(out.schema.to_dict()) == out.schema


def test_spending_the_whole_budget_is_allowed_and_never_exceeds_it():
    rng = np.random.default_rng(7)
    df = pd.DataFrame({f"x{i}": rng.normal(0, 1, 2_000) for i in range(7)})
    schema = _schema(*((f"x{i}", ColumnType.NUMERICAL) for i in range(7)))
    rho = 0.3
    _, acct = _estimate(df, schema, list(df.columns), rho=rho, budget=rho)
    assert acct.spent <= rho * (1 + 1e-12) and acct.spent == pytest.approx(rho, rel=1e-12)
    assert len(acct.charges) == 14


def test_at_most_two_passes_over_the_data():
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"x": rng.normal(0, 1, 5_000), "c": rng.choice(["a", "b"], 5_000)})
    schema = _schema(("x", ColumnType.NUMERICAL), ("c", ColumnType.CATEGORICAL))
    for columns, passes in ((["x", "c"], 2), (["c"], 1)):
        chunks = _chunked(df)
        estimate_domains(
            chunks,
            schema,
            columns,
            accountant=Accountant(1.0),
            rho=1.0,
            delta=1e-6,
            rng=np.random.default_rng(0),
        )
        assert chunks.calls == passes


def test_same_seed_same_domains_whatever_the_column_order():
    rng = np.random.default_rng(9)
    df = pd.DataFrame({"x": rng.lognormal(3, 1, 5_000), "c": rng.choice(list("abcdef"), 5_000)})
    schema = _schema(("x", ColumnType.NUMERICAL), ("c", ColumnType.CATEGORICAL))
    first, _ = _estimate(df, schema, ["x", "c"], rho=0.5, seed=11)
    again, _ = _estimate(df, schema, ["c", "x"], rho=0.5, seed=11)
    other, _ = _estimate(df, schema, ["x", "c"], rho=0.5, seed=12)
    assert isinstance(first, EstimatedDomains)
    assert first == again
    assert first.schema.column("x").domain != other.schema.column("x").domain


def test_the_histogram_sensitivity_scales_with_rows_per_person():
    df = pd.DataFrame({"x": np.random.default_rng(10).normal(0, 1, 5_000)})
    _, one = _estimate(df, _schema(("x", ColumnType.NUMERICAL), k=1), ["x"])
    _, five = _estimate(df, _schema(("x", ColumnType.NUMERICAL), k=5), ["x"])
    for a, b in zip(one.charges, five.charges, strict=True):
        assert b.details["sigma"] == pytest.approx(5 * a.details["sigma"])
        assert a.rho == b.rho


# --- refusals --------------------------------------------------------------------------------


def _never_read():
    raise AssertionError("data must not be read when the request is invalid")


NUMERIC_SCHEMA = _schema(
    ("x", ColumnType.NUMERICAL),
    ("c", ColumnType.CATEGORICAL),
    ("flag", ColumnType.BOOLEAN),
    ColumnSchema("email", ColumnType.IDENTIFIER),
    ColumnSchema("ssn", ColumnType.CATEGORICAL, sensitivity=Sensitivity.DIRECT_IDENTIFIER),
)


@pytest.mark.parametrize(
    ("columns", "kwargs", "error"),
    [
        (["x"], {"rho": 0.0}, BudgetError),
        (["x"], {"rho": -1.0}, BudgetError),
        (["x"], {"rho": math.nan}, BudgetError),
        (["x"], {"rho": math.inf}, BudgetError),
        (["x"], {"rho": 2.0}, BudgetError),  # more than the accountant's 1.0
        (["x"], {"delta": -0.1}, BudgetError),
        (["x"], {"delta": 1.0}, BudgetError),
        (["c"], {"delta": 0.0}, BudgetError),  # category discovery needs delta
        (["nope"], {}, SchemaError),
        (["x", "x"], {}, SchemaError),
        (["email"], {}, SchemaError),
        (["ssn"], {}, SchemaError),
        ("x", {}, SchemaError),
        (["x"], {"bins": 1}, SchemaError),
        (["x"], {"bins": True}, SchemaError),
        (["x"], {"bins": 10_000}, SchemaError),
    ],
)
def test_invalid_requests_are_refused_before_reading_or_spending(columns, kwargs, error):
    acct = Accountant(1.0)
    args = {"rho": 0.5, "delta": 1e-6, "bins": 32, **kwargs}
    with pytest.raises(error):
        estimate_domains(_never_read, NUMERIC_SCHEMA, columns, accountant=acct, rng=np.random.default_rng(0), **args)
    assert acct.spent == 0.0


def test_numeric_x_without_delta_is_fine():
    df = pd.DataFrame({"x": np.random.default_rng(12).normal(0, 1, 5_000)})
    out, _ = _estimate(df, _schema(("x", ColumnType.NUMERICAL)), ["x"], delta=0.0)
    assert out.delta_used == 0.0


def test_bad_values_and_missing_columns_raise_data_error_and_cost_nothing():
    schema = _schema(("x", ColumnType.INTEGER))
    for df in (pd.DataFrame({"x": ["1", "2", "three"]}), pd.DataFrame({"y": [1, 2, 3]})):
        acct = Accountant(1.0)
        with pytest.raises(DataError):
            estimate_domains(_chunked(df), schema, ["x"], accountant=acct, rho=1.0, delta=0.0, rng=np.random.default_rng(0))
        assert acct.spent == 0.0


def test_too_little_budget_to_find_categories_raises_after_charging():
    df = pd.DataFrame({"c": ["a", "b", "c"] * 3})
    acct = Accountant(1.0)
    with pytest.raises(SchemaError, match="declare its categories"):
        estimate_domains(
            _chunked(df),
            _schema(("c", ColumnType.CATEGORICAL)),
            ["c"],
            accountant=acct,
            rho=1e-4,
            delta=1e-9,
            rng=np.random.default_rng(0),
        )
    assert acct.spent == pytest.approx(1e-4)  # the noise was drawn: the charge stands


def test_too_little_data_to_find_bounds_raises():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    acct = Accountant(1.0)
    with pytest.raises(SchemaError, match="declare its bounds"):
        estimate_domains(
            _chunked(df),
            _schema(("x", ColumnType.NUMERICAL)),
            ["x"],
            accountant=acct,
            rho=1e-3,
            delta=0.0,
            rng=np.random.default_rng(0),
        )
    assert acct.spent == pytest.approx(5e-4)  # pass 1 only


def test_rng_must_be_a_generator():
    with pytest.raises(TypeError):
        estimate_domains(_never_read, NUMERIC_SCHEMA, ["x"], accountant=Accountant(1.0), rho=0.5, delta=0.0, rng=0)  # type: ignore[arg-type]
