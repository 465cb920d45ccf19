"""Optional non-DP engines: SDV GaussianCopula, CTGAN and TVAE behind one function.

These engines give **no formal privacy guarantee**; they exist so users can compare PWSIM with the
open tools they already know. SDV is under the Business Source License, so it is an optional extra
(``pip install -e '.[sdv]'``, after a CPU build of torch) and is imported lazily: this module imports
without it, and :func:`fit_sample` raises :class:`~app.engine.errors.EngineNotAvailable` with the
install command when it is missing.

The caller passes only modeled columns (identifiers and free text are handled outside) with their
SDV semantic type. A seed makes a run reproducible: the global numpy, ``random`` and torch generators
that SDV, CTGAN and TVAE use internally are seeded for the duration of the call and restored after.

>>> set(available_engines()) <= set(ENGINES)
True
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from app.engine.errors import DataError, EngineError, EngineNotAvailable, SchemaError

EngineKind = Literal["gaussian_copula", "ctgan", "tvae"]

ENGINES: tuple[str, ...] = ("gaussian_copula", "ctgan", "tvae")
SDTYPES: frozenset[str] = frozenset({"numerical", "categorical", "boolean", "datetime"})
INSTALL_HINT = "pip install torch==2.13.0 && pip install -e '.[sdv]'"

_SYNTHESIZER_CLASSES = {
    "gaussian_copula": "GaussianCopulaSynthesizer",
    "ctgan": "CTGANSynthesizer",
    "tvae": "TVAESynthesizer",
}
_TABLE_NAME = "table"


def available_engines() -> list[str]:
    """Names of the SDV engines that can run here: all three when SDV is installed, else none."""
    if importlib.util.find_spec("sdv") is None:
        return []
    return list(ENGINES)


def fit_sample(
    kind: EngineKind,
    frame: pd.DataFrame,
    *,
    metadata: Mapping[str, str],
    rows: int,
    seed: int | None,
    epochs: int | None = None,
) -> pd.DataFrame:
    """Fit the SDV single-table synthesizer ``kind`` on ``frame`` and sample ``rows`` rows.

    Args:
        kind: ``"gaussian_copula"``, ``"ctgan"`` or ``"tvae"``.
        frame: the modeled columns only (no identifiers); it is not modified.
        metadata: column -> ``"numerical" | "categorical" | "boolean" | "datetime"``, one entry for
            every column of ``frame``.
        rows: how many rows to sample (> 0).
        seed: same inputs and seed give the same output; ``None`` draws a fresh seed.
        epochs: training epochs for CTGAN/TVAE (SDV's default, 300, when ``None``); ignored by
            GaussianCopula.

    Returns:
        A new DataFrame with ``rows`` rows and the columns of ``frame`` in the same order.

    Raises:
        EngineNotAvailable: unknown ``kind``, or SDV is not installed.
        SchemaError: ``metadata`` does not match the columns or names an unknown type.
        DataError: ``frame`` has no rows.
        EngineError: ``rows`` or ``epochs`` is not positive.
    """
    if kind not in _SYNTHESIZER_CLASSES:
        raise EngineNotAvailable(f"unknown SDV engine {kind!r}; expected one of {', '.join(ENGINES)}")
    _check_inputs(frame, metadata, rows=rows, epochs=epochs)
    single_table = _import_sdv()
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    seed = int(seed) % 2**32

    sdv_metadata = _sdv_metadata(frame, metadata)
    params: dict[str, Any] = {}
    if kind in ("ctgan", "tvae"):
        params["enable_gpu"] = False
        if epochs is not None:
            params["epochs"] = int(epochs)
    synth_cls = getattr(single_table, _SYNTHESIZER_CLASSES[kind])

    data = frame.reset_index(drop=True)
    with _seeded_globals(seed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesizer = synth_cls(sdv_metadata, **params)
        synthesizer.fit({_TABLE_NAME: data})  # SDV 2 takes and returns {table name: frame}
        # SDV seeds its sampler with a fixed constant unless told otherwise; use ours.
        synthesizer._set_random_state(seed)
        out = synthesizer.sample(num_rows=int(rows))[_TABLE_NAME]
    return out[list(frame.columns)].reset_index(drop=True)


def _check_inputs(frame: pd.DataFrame, metadata: Mapping[str, str], *, rows: int, epochs: int | None) -> None:
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows <= 0:
        raise EngineError(f"rows must be a positive integer, got {rows!r}")
    if epochs is not None and (isinstance(epochs, bool) or int(epochs) <= 0):
        raise EngineError(f"epochs must be a positive integer, got {epochs!r}")
    if len(frame) == 0:
        raise DataError("cannot fit an SDV synthesizer on an empty table")
    if frame.columns.has_duplicates:
        raise SchemaError("duplicate column names in the data")
    columns = [str(c) for c in frame.columns]
    missing = [c for c in columns if c not in metadata]
    extra = [c for c in metadata if c not in columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"columns without metadata: {', '.join(missing)}")
        if extra:
            parts.append(f"metadata for columns not in the data: {', '.join(extra)}")
        raise SchemaError("; ".join(parts))
    bad = {c: t for c, t in metadata.items() if t not in SDTYPES}
    if bad:
        name, sdtype = next(iter(bad.items()))
        raise SchemaError(f"column {name!r}: unsupported SDV type {sdtype!r}; expected one of {', '.join(sorted(SDTYPES))}")


def _import_sdv() -> Any:
    try:
        from sdv import single_table
    except ImportError as exc:
        raise EngineNotAvailable(
            f"the SDV engines need the optional 'sdv' extra ({exc}); install it with: {INSTALL_HINT}"
        ) from None
    return single_table


def _sdv_metadata(frame: pd.DataFrame, metadata: Mapping[str, str]) -> Any:
    from sdv.metadata import Metadata

    columns: dict[str, dict[str, str]] = {}
    for name in frame.columns:
        columns[str(name)] = {"sdtype": metadata[str(name)]}
    doc = {"METADATA_SPEC_VERSION": "V1", "tables": {_TABLE_NAME: {"columns": columns}}}
    return Metadata.load_from_dict(doc)


@contextlib.contextmanager
def _seeded_globals(seed: int) -> Iterator[None]:
    """Seed numpy's, Python's and torch's global generators; restore them on exit.

    SDV and CTGAN draw from these globals while fitting (no generator can be passed in), so this
    is the narrowest way to make a fit reproducible. Not thread-safe: concurrent SDV fits in one
    process would share these generators anyway.
    """
    np_state = np.random.get_state()
    py_state = random.getstate()
    torch = _optional_torch()
    torch_state = torch.get_rng_state() if torch is not None else None
    np.random.seed(seed)
    random.seed(seed)
    if torch is not None:
        torch.manual_seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
        if torch is not None and torch_state is not None:
            torch.set_rng_state(torch_state)


def _optional_torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch
