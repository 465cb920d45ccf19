"""False rejections: honest DP releases must pass the service default's privacy gates.

PWSIM at epsilon = 1 on the first 2,000 and 8,000 rows of Adult (20 % holdout, as a job splits
them), twelve seeds each, judged by the privacy gates of ``dev-only`` (the service's default
policy, strictest on privacy). When these gates compared point estimates with fixed thresholds
they rejected 9 of these 12 releases at 2,000 rows and 6 of 12 at 8,000 (18 and 11 of 24 seeds;
bench/VALIDATION.md); a gate that rejects honest output that often cannot tell a leak from bad
luck. Judged on confidence bounds none of 24 per size was rejected when this test was written (tree
model); with the small-table target-star model at 2,000 rows one of these twelve is (seed 4,
attribute_inference.significant; re-fitting that split with 24 other seeds, none was). The
test allows one of twelve per size so that an unlucky seed does not make it flaky, which still bounds
the false-rejection rate well below the old ~50 %. The leak tests in ``test_privacy.py`` show the
same gates still reject a 5 % verbatim or perturbed copy; the last test here that they reject
the same DP releases once 5 % of their rows are replaced by training rows.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.engine.api import synthesize
from app.engine.schema import TableSchema
from app.validation import Metadata, evaluate, holdout_split

PRIVACY = ("exact_copies", "dcr", "membership", "singling_out", "linkability", "attribute_inference")
SCHEMA = Path(__file__).resolve().parents[3] / "bench" / "adult_schema.json"
SEEDS = range(12)
MAX_REJECTED = 1  # of 12 per table size


@pytest.mark.slow
@pytest.mark.parametrize("rows", [2000, 8000])
def test_dp_releases_pass_the_default_privacy_gates(adult_all, build, rows):
    schema = TableSchema.from_json(SCHEMA.read_text())
    meta = Metadata.from_any(schema)
    policy = build.only("dev-only", *PRIVACY)
    data = adult_all.iloc[:rows].reset_index(drop=True)
    rejected: dict[int, list[str]] = {}
    for seed in SEEDS:
        split = holdout_split(data, seed=seed)
        train, holdout = split.train.reset_index(drop=True), split.holdout.reset_index(drop=True)
        release = synthesize(train, schema, epsilon=1.0, rows=len(train), seed=seed)
        verdict = evaluate(train, holdout, release.data, metadata=meta, policy=policy, seed=seed)
        assert not verdict.skipped_gates, verdict.skipped_gates  # every privacy gate measured
        if not verdict.passed:
            rejected[seed] = verdict.failed_gates
    by_gate = Counter(g for gates in rejected.values() for g in gates)
    assert len(rejected) <= MAX_REJECTED, f"{len(rejected)} of {len(SEEDS)} honest releases rejected: {dict(by_gate)}"


@pytest.mark.slow
@pytest.mark.parametrize("perturbed", [False, True], ids=["verbatim", "perturbed"])
def test_dp_releases_with_leaked_rows_are_rejected(adult_all, build, perturbed):
    """The power side: 5 % of the release swapped for training rows (verbatim or lightly perturbed)."""
    schema = TableSchema.from_json(SCHEMA.read_text())
    meta = Metadata.from_any(schema)
    policy = build.only("dev-only", *PRIVACY)
    data = adult_all.iloc[:2000].reset_index(drop=True)
    for seed in range(6):
        split = holdout_split(data, seed=seed)
        train, holdout = split.train.reset_index(drop=True), split.holdout.reset_index(drop=True)
        release = synthesize(train, schema, epsilon=1.0, rows=len(train), seed=seed).data
        k = round(0.05 * len(release))
        leaked = train.iloc[np.random.default_rng(seed).choice(len(train), k, replace=False)]
        if perturbed:
            leaked = build.perturb(leaked, meta, seed)
        verdict = evaluate(
            train, holdout, pd.concat([release.iloc[k:], leaked], ignore_index=True), metadata=meta, policy=policy, seed=seed
        )
        assert not verdict.passed, seed
        assert "dcr.near_copy_excess" in verdict.failed_gates, (seed, verdict.failed_gates)
        if not perturbed:
            assert "exact_copies.excess" in verdict.failed_gates, (seed, verdict.failed_gates)
