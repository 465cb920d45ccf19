"""A job's validation gates: the policy it recorded applied to its release, on capped samples,
with BLAS/OpenMP threads limited so a worker never oversubscribes its cores."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import OpenBLASController, threadpool_limits

from app.engine.schema import TableSchema
from app.policies import service as policies_service
from app.validation import Metadata, MetadataError, Verdict, evaluate

_limits_lock = threading.Lock()
_limits_users = 0
_limiter: Any = None


@contextmanager
def limited_threads(threads: int) -> Iterator[None]:
    """Cap BLAS and OpenMP threads while a job's gates run.

    OpenMP limits are per thread (each job thread sets and restores its own); BLAS limits are
    process-wide, so with several job threads (embedded mode) the first to enter sets them and the
    last to leave restores them: one job finishing must not lift the cap under another still running.
    threadpoolctl lets only one "controlling" thread change a pthreads OpenBLAS (others are silently
    ignored) and keeps it until that thread ends: the controller is released around each change, so
    the thread that restores need not be the one that set, and a long-lived thread that set a cap
    once does not lock every later job out of setting its own.
    """
    global _limits_users, _limiter
    with _limits_lock:
        if _limits_users == 0:
            with _released_openblas():
                _limiter = threadpool_limits(limits=threads, user_api="blas")
        _limits_users += 1
    try:
        with threadpool_limits(limits=threads, user_api="openmp"):
            yield
    finally:
        with _limits_lock:
            _limits_users -= 1
            if _limits_users == 0:
                with _released_openblas():
                    _limiter.restore_original_limits()
                _limiter = None


@contextmanager
def _released_openblas() -> Iterator[None]:
    """No thread controls OpenBLAS before and after the block (so this thread's change applies)."""
    OpenBLASController.clear_controlling_thread(force=True)
    try:
        yield
    finally:
        OpenBLASController.clear_controlling_thread(force=True)


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
    with limited_threads(threads):
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
