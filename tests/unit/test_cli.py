"""The engine's command line: schema, plan and synth, and one-line errors for bad input."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from app.cli import main
from tests.unit.conftest import ROOT

SCHEMA = str(ROOT / "bench" / "adult_schema.json")


@pytest.fixture()
def adult_csv(adult, tmp_path):
    path = tmp_path / "adult.csv"
    adult.head(3000).to_csv(path, index=False)
    return path


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def test_plan_prints_the_allocation_without_data():
    res = run("plan", "--schema", SCHEMA, "--epsilon", 1, "--rows-estimate", 39000)
    assert res.exit_code == 0, res.output
    assert "rho=0.0149731" in res.output and "income x education-num" in res.output
    doc = json.loads(run("plan", "--schema", SCHEMA, "--epsilon", 1, "--json").output)
    assert sum(doc["phases"].values()) == pytest.approx(doc["rho"])


def test_synth_writes_rows_and_a_summary(adult_csv, tmp_path):
    out, summary = tmp_path / "syn.parquet", tmp_path / "s.json"
    res = run(
        "synth",
        "--input",
        adult_csv,
        "--schema",
        SCHEMA,
        "--epsilon",
        1,
        "--rows",
        1234,
        "--seed",
        1,
        "--out",
        out,
        "--summary-json",
        summary,
    )
    assert res.exit_code == 0, res.output
    frame = pd.read_parquet(out)
    assert len(frame) == 1234 and list(frame.columns) == list(pd.read_csv(adult_csv, nrows=1).columns)
    doc = json.loads(summary.read_text())
    # 3,000 rows at epsilon 1 are a small table: target star, no tree phases
    assert doc["dp"] and doc["epsilon"] == 1 and {p["name"] for p in doc["phases"]} == {"one_way", "forced"}
    assert doc["allocation"]["structure"] == "target-star"
    assert "rho spent" in res.output


def test_synth_without_schema_needs_trust_or_pays(adult_csv, tmp_path):
    res = run(
        "synth", "--input", adult_csv, "--epsilon", 1, "--rows", 100, "--out", tmp_path / "o.csv", "--trust-inferred-domain"
    )
    assert res.exit_code == 0, res.output
    assert "trusted" in res.output


def test_schema_infer_flags_identifiers(adult, tmp_path):
    path = tmp_path / "people.csv"
    frame = adult.head(300).copy()
    frame.insert(0, "email", [f"user{i}@mail.example.com" for i in range(300)])
    frame.to_csv(path, index=False)
    res = CliRunner().invoke(main, ["schema", "infer", str(path)])
    assert res.exit_code == 0, res.output
    assert "direct identifiers detected: email (email)" in res.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["--epsilon", "0"], "epsilon"),
        (["--epsilon", "-1"], "epsilon"),
        (["--epsilon", "1", "--rows", "0"], "--rows"),
        (["--epsilon", "1", "--delta", "2"], "delta"),
    ],
)
def test_bad_parameters_exit_non_zero_with_one_line(adult_csv, tmp_path, args, message):
    res = run("synth", "--input", adult_csv, "--schema", SCHEMA, "--out", tmp_path / "o.csv", *args)
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("pwsim: error:") and message in lines[0]


def test_unreadable_input_and_unknown_schema_column(tmp_path):
    bogus = tmp_path / "x.csv"
    bogus.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    res = run("synth", "--input", bogus, "--schema", SCHEMA, "--epsilon", 1, "--out", tmp_path / "o.csv")
    assert res.exit_code == 2 and res.output.startswith("pwsim: error:")
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    res = run("synth", "--input", other, "--schema", SCHEMA, "--epsilon", 1, "--out", tmp_path / "o.csv")
    assert res.exit_code == 2 and "not in data" in res.output
