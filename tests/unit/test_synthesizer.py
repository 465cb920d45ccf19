"""End-to-end behaviour of the PWSIM engine through its facade."""

import numpy as np
import pandas as pd
import pytest

from app.engine import io
from app.engine.allocation import make_plan
from app.engine.api import synthesize
from app.engine.errors import DataError, EngineError, SchemaError
from app.engine.schema import TableSchema


def tvd(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return 0.5 * pa.subtract(pb, fill_value=0).abs().sum()


def test_same_seed_gives_byte_identical_output(adult, adult_schema, tmp_path):
    paths = []
    for i, seed in enumerate((7, 7, 8)):
        res = synthesize(adult, adult_schema, epsilon=1.0, rows=3000, seed=seed)
        paths.append(io.write_table(res.data, tmp_path / f"out{i}.csv"))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_streamed_output_equals_in_memory_output(adult, adult_schema, tmp_path):
    res = synthesize(adult, adult_schema, epsilon=1.0, rows=2000, seed=3)
    streamed = synthesize(adult, adult_schema, epsilon=1.0, rows=2000, seed=3, out=tmp_path / "s.csv")
    assert streamed.data is None and streamed.rows == 2000
    assert io.write_table(res.data, tmp_path / "m.csv").read_bytes() == (tmp_path / "s.csv").read_bytes()


def test_types_order_and_domains_are_kept(adult, adult_schema):
    out = synthesize(adult, adult_schema, epsilon=1.0, rows=4000, seed=0).data
    assert list(out.columns) == list(adult.columns)
    for col in adult_schema.columns:
        if col.type == "integer":
            assert out[col.name].dtype == np.int64
            assert out[col.name].between(col.domain.lower, col.domain.upper).all()
        else:
            assert set(out[col.name]) <= set(col.domain.categories)
    assert out.isna().sum().sum() == 0  # the input has no missing values, none are invented
    zero_share = (out["capital-gain"] == 0).mean()
    assert zero_share == pytest.approx((adult["capital-gain"] == 0).mean(), abs=0.03)


def test_budget_is_spent_exactly_once_and_reported(adult, adult_schema):
    res = synthesize(adult, adult_schema, epsilon=1.0, delta=1e-9, rows=100, seed=0)
    plan = make_plan(adult_schema, epsilon=1.0, delta=1e-9)
    assert res.rho <= plan.rho * (1 + 1e-9)
    assert res.rho == pytest.approx(plan.rho, rel=1e-6)
    assert sum(p["rho"] for p in res.phases) == pytest.approx(res.rho)
    assert {p["name"] for p in res.phases} == {"one_way", "forced", "select", "tree"}
    alloc = res.allocation
    assert len(alloc["selected_edges"]) == plan.tree_slots
    assert all(m["sigma"] > 0 and m["rho"] > 0 for m in alloc["measurements"])


def test_default_row_count_is_a_noisy_estimate(adult, adult_schema):
    res = synthesize(adult, adult_schema, epsilon=1.0, seed=0)
    assert abs(res.rows - len(adult)) < 0.05 * len(adult)


def test_marginals_are_recovered_at_high_epsilon(adult, adult_schema):
    out = synthesize(adult, adult_schema, epsilon=200.0, rows=len(adult), seed=1).data
    # tolerances: sampling error of 8,000 rows plus coarse-group smoothing
    for name in ("workclass", "education", "marital-status", "relationship", "sex", "income"):
        assert tvd(out[name], adult[name]) < 0.03, name
    for a, b in (("income", "education"), ("income", "relationship"), ("education", "education-num")):
        assert tvd(out[a] + "|" + out[b].astype(str), adult[a] + "|" + adult[b].astype(str)) < 0.08, (a, b)


def test_weaker_privacy_means_smaller_error(adult, adult_schema):
    def error(eps):
        out = synthesize(adult, adult_schema, epsilon=eps, rows=len(adult), seed=2).data
        return np.mean([tvd(out[c], adult[c]) for c in ("workclass", "education", "occupation", "native-country")])

    assert error(50.0) < error(0.05)


def test_direct_identifiers_never_reach_the_output(adult, adult_schema):
    frame = adult.head(3000).copy()
    frame.insert(0, "email", [f"person{i}@corp.test" for i in range(len(frame))])
    frame.insert(1, "ssn", [f"{100 + i % 500:03d}-{10 + i % 80:02d}-{1000 + i:04d}" for i in range(len(frame))])
    frame["note"] = "free text about " + frame["occupation"]
    doc = adult_schema.to_dict()
    doc["columns"] = [
        {"name": "email", "type": "identifier", "sensitivity": "direct_identifier", "pii": "email"},
        {"name": "ssn", "type": "identifier", "sensitivity": "direct_identifier", "pii": "ssn", "identifier_handling": "fake"},
        *doc["columns"],
        {"name": "note", "type": "text", "sensitivity": "ordinary"},
    ]
    out = synthesize(frame, TableSchema.from_dict(doc), epsilon=1.0, rows=3000, seed=0).data
    assert "note" not in out.columns  # free text is dropped
    assert list(out.columns[:2]) == ["email", "ssn"]
    assert not set(out["email"]) & set(frame["email"])
    assert not set(out["ssn"]) & set(frame["ssn"])
    assert out["email"].str.contains("@").all()


def test_inferred_domains_are_paid_for_with_dp_unless_trusted(adult, adult_schema):
    doc = adult_schema.to_dict()
    doc["columns"][0]["domain"].update(public=False, source="inferred")  # age
    doc["columns"][1]["domain"].update(public=False, source="inferred")  # workclass
    schema = TableSchema.from_dict(doc)
    paid = synthesize(adult, schema, epsilon=1.0, rows=2000, seed=0)
    phases = {p["name"]: p for p in paid.phases}
    assert phases["domain"]["releases"] == 3  # age: bounds and edges; workclass: thresholded keys
    assert paid.rho == pytest.approx(make_plan(adult_schema, epsilon=1.0, delta=0.5e-9).rho, rel=1e-6)
    assert any("estimated with DP" in w for w in paid.warnings)
    assert set(paid.data["workclass"]) <= set(adult["workclass"])
    trusted = synthesize(adult, schema, epsilon=1.0, rows=10, seed=0, trust_inferred_domain=True)
    assert "domain" not in {p["name"] for p in trusted.phases}
    assert any("trusted" in w for w in trusted.warnings)


def test_values_outside_declared_categories_fail_before_any_noise(adult, adult_schema):
    bad = adult.head(500).copy()
    bad.loc[3, "workclass"] = "Astronaut"
    with pytest.raises(DataError, match="Astronaut") as info:
        synthesize(bad, adult_schema, epsilon=1.0, rows=10, seed=0)
    assert not hasattr(info.value, "rho_spent")


def test_schema_must_match_the_header(adult, adult_schema):
    with pytest.raises(SchemaError, match="not in data: income"):
        synthesize(adult.drop(columns=["income"]), adult_schema, epsilon=1.0, rows=10)


@pytest.mark.parametrize(
    "kwargs",
    [{"epsilon": 0}, {"epsilon": -1}, {"epsilon": 1, "delta": 0}, {"epsilon": 1, "rows": 0}, {"epsilon": 1, "engine": "gan9000"}],
)
def test_bad_parameters_are_refused(adult, adult_schema, kwargs):
    with pytest.raises(EngineError):
        synthesize(adult, adult_schema, **kwargs)


def test_conditional_sampling_fixes_the_target(adult, adult_schema):
    out = synthesize(adult, adult_schema, epsilon=3.0, rows=2000, seed=0, conditions={"income": ">50K"}).data
    assert (out["income"] == ">50K").all()
    rich = adult[adult["income"] == ">50K"]
    assert (out["relationship"] == "Husband").mean() == pytest.approx((rich["relationship"] == "Husband").mean(), abs=0.08)


def test_conditioning_on_a_non_root_column_uses_rejection(adult, adult_schema):
    out = synthesize(adult, adult_schema, epsilon=3.0, rows=500, seed=0, conditions={"sex": "Female"}).data
    assert (out["sex"] == "Female").all()


def test_unknown_condition_is_refused_before_spending(adult, adult_schema):
    with pytest.raises(EngineError, match="not a modeled column") as info:
        synthesize(adult, adult_schema, epsilon=1.0, rows=10, conditions={"nope": 1})
    assert not hasattr(info.value, "rho_spent")


def test_missing_values_are_reproduced_at_their_rate(adult):
    frame = adult[["age", "income"]].head(6000).copy()
    frame["age"] = frame["age"].astype("Int64")
    frame.loc[frame.index[::10], "age"] = pd.NA
    schema = TableSchema.from_dict(
        {
            "columns": [
                {"name": "age", "type": "integer", "nullable": True, "domain": {"lower": 16, "upper": 100}},
                {"name": "income", "type": "categorical", "roles": ["target"], "domain": {"categories": ["<=50K", ">50K"]}},
            ]
        }
    )
    out = synthesize(frame, schema, epsilon=5.0, rows=6000, seed=0).data
    assert out["age"].isna().mean() == pytest.approx(0.1, abs=0.02)
    assert out["income"].notna().all()


def test_file_sources_are_streamed(adult, adult_schema, tmp_path):
    path = tmp_path / "in.parquet"
    io.write_table(adult, path)
    res = synthesize(path, adult_schema, epsilon=1.0, rows=500, seed=0)
    assert len(res.data) == 500 and list(res.data.columns) == list(adult.columns)


@pytest.mark.parametrize("name,target", [("insurance", "charges"), ("german_credit", "default"), ("insurance", None)])
def test_other_public_datasets_keep_dtypes_with_any_target(name, target):
    from app.engine.infer import infer_schema
    from tests.unit.conftest import DATA

    path = DATA / f"{name}.csv"
    doc = infer_schema(path).to_dict()
    for col in doc["columns"]:
        col["roles"] = ["target"] if col["name"] == target else []
    res = synthesize(path, TableSchema.from_dict(doc), epsilon=1.0, seed=0, trust_inferred_domain=True)
    real = pd.read_csv(path)
    assert res.data.dtypes.to_dict() == real.dtypes.to_dict()
    # 1,000-1,338 rows: with a target they are small tables, modeled as a target star (no tree)
    assert res.allocation["structure"] == ("target-star" if target else "tree")
    assert len(res.allocation["selected_edges"]) == (0 if target else len(real.columns) - 1)


@pytest.mark.parametrize("three_way", [False, True])
def test_measured_triples_capture_interactions_no_pair_shows(three_way):
    from sklearn.metrics import roc_auc_score

    from app.engine.allocation import PWSIMConfig
    from app.engine.api import chunk_source
    from app.engine.synthesizer import PWSIMSynthesizer

    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 2, 20_000), rng.integers(0, 2, 20_000)
    y = (a ^ b) ^ (rng.random(20_000) < 0.05)
    frame = pd.DataFrame({"a": a.astype(str), "b": b.astype(str), "y": y.astype(int).astype(str)})
    schema = TableSchema.from_dict(
        {
            "columns": [
                {"name": "a", "type": "categorical", "domain": {"categories": ["0", "1"]}},
                {"name": "b", "type": "categorical", "domain": {"categories": ["0", "1"]}},
                {"name": "y", "type": "categorical", "domain": {"categories": ["0", "1"]}, "roles": ["target"]},
            ]
        }
    )
    synth = PWSIMSynthesizer(PWSIMConfig(three_way=three_way))
    synth.fit(chunk_source(frame, schema), schema, epsilon=5.0, delta=1e-9, rng=np.random.default_rng(1))
    out = synth.sample(20_000, np.random.default_rng(2))
    score = (out["a"] != out["b"]).astype(int)  # the XOR rule, read off the synthetic rows
    auc = roc_auc_score(out["y"].astype(int), score)
    assert [len(m.clique) for m in synth.measurements_].count(3) == (1 if three_way else 0)
    if three_way:
        assert auc > 0.9
    else:
        assert abs(auc - 0.5) < 0.05  # a maximum-entropy model from pairs cannot see it
