"""The job's fit/holdout split on real files: the fit part the engine reads holds exactly the rows
that were not held out, the lineage names the held-out rows by position hash only, and the
samples the gates read are capped."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from app.engine.schema import TableSchema
from app.jobs.holdout import split_source
from app.validation import holdout_split
from tests.factories import ADULT_SCHEMA, adult_sample


@pytest.fixture
def adult_3000(tmp_path, adult_csv):
    return adult_sample(adult_csv, 3000, tmp_path / "adult.csv")


def read_text_frame(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_fit_part_is_exactly_the_rows_not_held_out(tmp_path, adult_3000, fmt):
    source = adult_3000
    if fmt == "parquet":
        source = tmp_path / "adult.parquet"
        read_text_frame(adult_3000).to_parquet(source, index=False)
    schema = TableSchema.from_json(ADULT_SCHEMA.read_text())
    prepared = split_source(source=source, schema=schema, work_dir=tmp_path / "work", fraction=0.2, seed=5, max_rows=50_000)
    original = read_text_frame(adult_3000)
    expected = holdout_split(original, fraction=0.2, seed=5, stratify="income")
    assert prepared.lineage["holdout_index_sha256"] == expected.lineage["holdout_index_sha256"]
    positions = np.sort(expected.holdout.index.to_numpy()).astype("<i8")
    assert prepared.lineage["holdout_index_sha256"] == hashlib.sha256(positions.tobytes()).hexdigest()
    assert prepared.lineage["rows"] == {"train": 2400, "holdout": 600} and prepared.fit_rows == 2400
    assert prepared.fit_path.suffix == f".{fmt}"

    fit = read_text_frame(prepared.fit_path) if fmt == "csv" else pd.read_parquet(prepared.fit_path)
    pd.testing.assert_frame_equal(fit, expected.train.reset_index(drop=True), check_dtype=False)
    pd.testing.assert_frame_equal(
        prepared.holdout.astype(str), expected.holdout.reset_index(drop=True).astype(str), check_dtype=False
    )
    # nothing about the rows' content is in the lineage
    text = json.dumps(prepared.lineage)
    assert "Private" not in text and ">50K" not in text


def test_validation_samples_are_capped_and_seeded(tmp_path, adult_3000):
    schema = TableSchema.from_json(ADULT_SCHEMA.read_text())
    runs = [
        split_source(source=adult_3000, schema=schema, work_dir=tmp_path / f"w{i}", fraction=0.2, seed=5, max_rows=500)
        for i in range(2)
    ]
    first, second = runs
    assert first.lineage["validation_rows"] == {"train": 500, "holdout": 500}
    assert len(first.train) == 500 and len(first.holdout) == 500 and first.fit_rows == 2400
    pd.testing.assert_frame_equal(first.train, second.train)
    held = set(map(tuple, first.holdout.to_numpy()))
    fit = set(map(tuple, read_text_frame(first.fit_path).to_numpy()))
    assert set(map(tuple, first.train.to_numpy())) <= fit
    # Adult has duplicate rows, so a held-out row may equal a fit row; most do not
    assert len(held - fit) > 0.9 * len(held)


def test_no_target_means_a_random_split(tmp_path):
    source = tmp_path / "t.csv"
    source.write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(100)))
    schema = TableSchema.from_dict(
        {
            "columns": [
                {"name": "a", "type": "integer", "domain": {"lower": 0, "upper": 100}},
                {"name": "b", "type": "categorical", "domain": {"categories": ["0", "1", "2"]}},
            ]
        }
    )
    prepared = split_source(source=source, schema=schema, work_dir=tmp_path / "w", fraction=0.25, seed=1, max_rows=1000)
    assert prepared.lineage["method"] == "random" and prepared.lineage["stratify"] is None
    assert prepared.lineage["rows"] == {"train": 75, "holdout": 25}
    assert sorted(
        read_text_frame(prepared.fit_path)["a"].astype(int).tolist() + prepared.holdout["a"].astype(int).tolist()
    ) == list(range(100))


def test_too_small_to_split(tmp_path):
    from app.engine.errors import DataError

    source = tmp_path / "t.csv"
    source.write_text("a\n1\n")
    schema = TableSchema.from_dict({"columns": [{"name": "a", "type": "integer", "domain": {"lower": 0, "upper": 9}}]})
    with pytest.raises(DataError, match="cannot hold out rows"):
        split_source(source=source, schema=schema, work_dir=tmp_path / "w", fraction=0.2, seed=1, max_rows=1000)
