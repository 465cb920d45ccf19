"""Metadata: the plain mapping, the engine's schema document and TableSchema-like objects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.validation import Metadata, MetadataError, infer_metadata
from app.validation.metadata import category_codes, numeric_array

ADULT_SCHEMA = Path(__file__).resolve().parents[3] / "bench" / "adult_schema.json"

PLAIN = {
    "columns": {
        "age": {"type": "integer", "lower": 17, "upper": 90},
        "joined": {"type": "datetime", "lower": "2020-01-01", "upper": "2020-12-31"},
        "plan": {"type": "categorical", "categories": ["basic", "pro"]},
        "churned": {"type": "boolean"},
    },
    "target": "churned",
    "treatment": "plan",
    "treated_value": "pro",
    "outcome": "churned",
    "confounders": ["age"],
    "subgroups": "age",
}


def test_plain_mapping_round_trips():
    meta = Metadata.from_any(PLAIN)
    assert meta.names == ["age", "joined", "plan", "churned"]
    assert meta.column("churned").categories == ("False", "True")
    assert meta.subgroups == ("age",)
    joined = meta.column("joined")
    assert joined.upper - joined.lower == pytest.approx(365.0)  # datetimes in days
    assert Metadata.from_any(meta.to_dict()) == meta
    json.dumps(meta.to_dict())


def test_engine_document_and_object_give_the_same_metadata():
    from app.engine.schema import TableSchema  # the tests may import the engine; the library never does

    doc = json.loads(ADULT_SCHEMA.read_text())
    from_doc = Metadata.from_any(doc, positive_label=">50K")
    from_obj = Metadata.from_any(TableSchema.from_dict(doc), positive_label=">50K")
    assert from_doc == from_obj
    assert from_doc.target == "income" and from_doc.positive_label == ">50K"
    assert "age" in from_doc.quasi_identifiers and from_doc.subgroups
    assert from_doc.column("fnlwgt").scale == "log"


def test_complete_fills_undeclared_domains_and_names_them():
    data = pd.DataFrame({"x": [1.0, 5.0, np.nan], "c": ["a", "b", None]})
    meta = Metadata.from_any({"columns": {"x": {"type": "numerical"}, "c": {"type": "categorical"}}})
    done = meta.complete(data)
    assert (done.column("x").lower, done.column("x").upper) == (1.0, 5.0)
    assert done.column("c").categories == ("a", "b")
    assert done.inferred == ("x", "c")


def test_infer_metadata_types():
    data = pd.DataFrame(
        {
            "n": [1.5, 2.5],
            "i": [1, 2],
            "b": [True, False],
            "d": pd.to_datetime(["2020-01-01", "2021-01-01"]),
            "s": ["x", "y"],
            "i3": [1, 2],
        }
    )
    meta = infer_metadata(pd.concat([data, data.assign(i=3)]))
    kinds = {c.name: c.type for c in meta.columns}
    assert kinds == {
        "n": "numerical",
        "i": "integer",
        "b": "boolean",
        "d": "datetime",
        "s": "categorical",
        "i3": "categorical",
    }


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"columns": {"a": {"type": "float"}}}, "unknown type"),
        ({"columns": {"a": {"type": "integer"}}, "target": "b"}, "target 'b' is not a column"),
        ({"columns": {"a": {"type": "integer"}}, "subgroups": ["z"]}, "unknown columns"),
        ({"columns": {"a": {"type": "integer"}}, "colour": "red"}, "unknown metadata keys"),
        ({"target": "a"}, "needs 'columns'"),
    ],
)
def test_bad_metadata_is_refused(doc, message):
    with pytest.raises(MetadataError, match=message):
        Metadata.from_any(doc)


def test_complete_refuses_missing_columns():
    with pytest.raises(MetadataError, match="not in data"):
        Metadata.from_any({"columns": {"a": {"type": "integer"}}}).complete(pd.DataFrame({"b": [1]}))


def test_decoding_helpers():
    meta = Metadata.from_any(PLAIN)
    codes = category_codes(pd.Series(["pro", "gold", None]), meta.column("plan"), ["basic", "pro"])
    assert codes.tolist() == [1, 2, -1]  # declared, undeclared, missing
    flags = category_codes(pd.Series([1, 0, "yes"]), meta.column("churned"), ["False", "True"])
    assert flags.tolist() == [1, 0, 1]
    days = numeric_array(pd.Series(["2020-01-02", None]), meta.column("joined"))
    assert days[0] == pytest.approx(18263.0) and np.isnan(days[1])
