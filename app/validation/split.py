"""The train/holdout split every evaluation needs, reproducible and recorded without content.

The holdout must never reach the generator: it is the yardstick for utility (TSTR vs TRTR) and
privacy (members vs controls). :func:`holdout_split` makes the split from a seed and records it
in the lineage as a hash of the held-out row positions, never of their values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class HoldoutSplit:
    """The two parts and the JSON-ready lineage record of how they were made."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    lineage: dict[str, Any]


def holdout_split(data: pd.DataFrame, *, fraction: float = 0.2, seed: int = 0, stratify: str | None = None) -> HoldoutSplit:
    """Hold out ``fraction`` of the rows at random (within each ``stratify`` class if given).

    Returns:
        :class:`HoldoutSplit`; ``lineage`` holds the method, fraction, seed, stratify column,
        row counts and ``holdout_index_sha256``, the SHA-256 of the held-out row positions
        (sorted, little-endian int64) in ``data``: enough to prove or redo the split, and
        nothing about what the rows contain.

    Raises:
        ValueError: ``fraction`` outside (0, 1), or a split that leaves either side empty.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError("fraction must be between 0 and 1")
    rng = np.random.default_rng(seed)
    n = len(data)
    if stratify is None:
        groups = [np.arange(n)]
    else:
        codes = pd.factorize(data[stratify], use_na_sentinel=False)[0]
        groups = [np.flatnonzero(codes == c) for c in np.unique(codes)]
    held = np.sort(np.concatenate([rng.permutation(g)[: round(fraction * len(g))] for g in groups]))
    mask = np.zeros(n, dtype=bool)
    mask[held] = True
    if mask.all() or not mask.any():
        raise ValueError(f"a {fraction:g} holdout of {n} rows leaves one side empty")
    digest = hashlib.sha256(held.astype("<i8").tobytes()).hexdigest()
    lineage = {
        "method": "random" if stratify is None else "stratified",
        "fraction": fraction,
        "seed": seed,
        "stratify": stratify,
        "rows": {"train": int(n - mask.sum()), "holdout": int(mask.sum())},
        "holdout_index_sha256": digest,
    }
    return HoldoutSplit(train=data.iloc[~mask], holdout=data.iloc[mask], lineage=lineage)
