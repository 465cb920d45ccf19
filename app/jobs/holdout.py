"""The fit/holdout split of a job's real rows, made before the engine reads any of them.

The engine fits only on the fit part, streamed into a scratch file; the held-out rows are the
yardstick of the validation gates (utility on data the generator never saw, members vs
non-members for the privacy attacks). Both passes over the source stream it in chunks: memory
holds the split column and the rows the gates will read, at most ``max_rows`` of each part
(a seeded sample), never the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.engine import io as engine_io
from app.engine.errors import DataError
from app.engine.schema import ColumnType, TableSchema
from app.validation import holdout_split

STRATIFIABLE = (ColumnType.CATEGORICAL, ColumnType.BOOLEAN)


@dataclass(frozen=True)
class PreparedSplit:
    """The fit part on disk, the samples the gates read, and the lineage record of the split."""

    fit_path: Path
    fit_rows: int
    train: pd.DataFrame
    holdout: pd.DataFrame
    lineage: dict[str, Any]


def stratify_column(schema: TableSchema) -> str | None:
    """The declared target if it is a class label (a split per class keeps rare classes in both parts)."""
    target = schema.target
    if target is None or schema.column(target).type not in STRATIFIABLE:
        return None
    return target


def split_source(
    *, source: Path, schema: TableSchema, work_dir: Path, fraction: float, seed: int, max_rows: int
) -> PreparedSplit:
    """Split ``source`` with :func:`app.validation.holdout_split` and write the fit part to ``work_dir``.

    The fit part keeps the source's format (CSV text is copied as read, so the engine parses it
    exactly as it would the source). ``lineage`` is the split's record (method, fraction, seed,
    stratify column, row counts and the sha256 of the held-out row positions: no content) plus the
    number of rows of each part the gates read.

    Raises:
        DataError: the source cannot be read, or it is too small to leave rows on both sides.
    """
    stratify = stratify_column(schema)
    first = stratify or schema.names[0]
    column = [chunk[first] for chunk in engine_io.iter_chunks(source, columns=[first])]
    n = sum(len(c) for c in column)
    frame = pd.DataFrame({stratify: pd.concat(column, ignore_index=True)}) if stratify else pd.DataFrame(index=pd.RangeIndex(n))
    del column
    try:
        split = holdout_split(frame, fraction=fraction, seed=seed, stratify=stratify)
    except ValueError as exc:
        raise DataError(f"cannot hold out rows for validation: {exc}") from None
    held = np.zeros(n, dtype=bool)
    held[split.holdout.index.to_numpy(np.int64)] = True
    rng = np.random.default_rng([seed, 1])
    read_train = _pick(np.flatnonzero(~held), max_rows, n, rng)
    read_holdout = _pick(np.flatnonzero(held), max_rows, n, rng)
    lineage = dict(split.lineage)
    del frame, split

    train_parts: list[pd.DataFrame] = []
    holdout_parts: list[pd.DataFrame] = []
    fit_rows = 0

    def fit_chunks():
        nonlocal fit_rows
        offset = 0
        for chunk in engine_io.iter_chunks(source):
            if offset + len(chunk) > n:
                raise DataError(f"the source changed while it was read (more than {n} rows)")
            rows = slice(offset, offset + len(chunk))
            offset += len(chunk)
            hold = held[rows]
            if read_train[rows].any():
                train_parts.append(chunk[read_train[rows]])
            if read_holdout[rows].any():
                holdout_parts.append(chunk[read_holdout[rows]])
            fit = chunk[~hold]
            if len(fit):
                fit_rows += len(fit)
                yield fit.reset_index(drop=True)
        if offset != n:
            raise DataError(f"the source changed while it was read ({offset} rows, then {n})")

    suffix = ".parquet" if engine_io.detect_format(source) == "parquet" else ".csv"
    work_dir.mkdir(parents=True, exist_ok=True)
    fit_path = engine_io.write_chunks(fit_chunks(), work_dir / f"fit{suffix}")
    lineage["validation_rows"] = {"train": int(read_train.sum()), "holdout": int(read_holdout.sum())}
    return PreparedSplit(
        fit_path=fit_path,
        fit_rows=fit_rows,
        train=pd.concat(train_parts, ignore_index=True),
        holdout=pd.concat(holdout_parts, ignore_index=True),
        lineage=lineage,
    )


def _pick(positions: np.ndarray, k: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """A mask over ``n`` rows marking ``positions``, or a seeded sample of ``k`` of them."""
    mask = np.zeros(n, dtype=bool)
    mask[positions if len(positions) <= k else rng.choice(positions, k, replace=False)] = True
    return mask
