"""A job's validation gates: the policy it recorded applied to its release, on capped samples,
with BLAS/OpenMP threads limited so a worker never oversubscribes its cores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from app.engine.schema import TableSchema
from app.policies import service as policies_service
from app.validation import Metadata, MetadataError, Verdict, evaluate


def metadata_for(schema: TableSchema, roles: dict[str, Any] | None, rare_class: str | None) -> Metadata:
    """The gates' metadata: the dataset's schema (types, public domains, roles) plus the job's roles.

    Raises:
        MetadataError: a role names a column the schema does not model.
    """
    overrides = {k: v for k, v in (roles or {}).items() if v is not None}
    if rare_class is not None:
        overrides["rare_class"] = rare_class
    return Metadata.from_any(schema, **overrides)


def check_roles(schema: TableSchema, roles: dict[str, Any] | None, rare_class: str | None) -> None:
    """Raise MetadataError now, at job creation, for roles the gates could not use later."""
    metadata_for(schema, roles, rare_class)


def run_gates(
    *,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    snapshot: dict[str, Any],
    roles: dict[str, Any] | None,
    rare_class: str | None,
    seed: int,
    release: dict[str, Any],
    max_rows: int,
    threads: int,
) -> Verdict:
    """Evaluate the job's policy snapshot (``{"resolved", "lineage"}``) on its release.

    The synthetic table is sampled down to ``max_rows`` rows (seeded) like the real parts were.
    """
    if len(synthetic) > max_rows:
        rng = np.random.default_rng([seed, 2])
        synthetic = synthetic.iloc[np.sort(rng.choice(len(synthetic), max_rows, replace=False))]
    policy = policies_service.to_policy(snapshot["resolved"], snapshot["lineage"])
    with threadpool_limits(limits=threads):
        return evaluate(
            train,
            holdout,
            synthetic.reset_index(drop=True),
            metadata=metadata_for(schema, roles, rare_class),
            policy=policy,
            seed=seed,
            release=release,
        )


__all__ = ["MetadataError", "check_roles", "metadata_for", "run_gates"]
