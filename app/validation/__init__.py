"""Validation of synthetic releases: metrics, policies as code, gate verdicts and reports.

A pure library (numpy, pandas, scipy, scikit-learn, PyYAML, jsonschema): DataFrames in, numbers
and a verdict out. The entry point is :func:`evaluate`::

    from app.validation import evaluate
    verdict = evaluate(train, holdout, synthetic, metadata=meta, policy="default")
    verdict.passed, verdict.failed_gates, verdict.to_dict()

and :func:`render_html` turns a verdict (or its dict) into a self-contained HTML report.
"""

from app.validation.errors import MetadataError, PolicyError, ValidationLibraryError
from app.validation.gates import GateResult, Verdict, evaluate
from app.validation.metadata import ColumnMeta, Metadata, infer_metadata
from app.validation.policy import Gate, Policy, builtin_names, builtin_policy, json_schema, load_policy
from app.validation.report import render_html
from app.validation.split import HoldoutSplit, holdout_split
from app.validation.suite import metric_names

__all__ = [
    "ColumnMeta",
    "Gate",
    "GateResult",
    "HoldoutSplit",
    "Metadata",
    "MetadataError",
    "Policy",
    "PolicyError",
    "ValidationLibraryError",
    "Verdict",
    "builtin_names",
    "builtin_policy",
    "evaluate",
    "holdout_split",
    "infer_metadata",
    "json_schema",
    "load_policy",
    "metric_names",
    "render_html",
]
