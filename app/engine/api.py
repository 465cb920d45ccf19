"""The engine's front door: ``synthesize`` and ``plan``, used by the CLI, the API and the workers."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.engine import io, sdv_engines
from app.engine.accountant import validate_epsilon_delta
from app.engine.discretize import build_codec
from app.engine.errors import BudgetError, DataError, EngineError, EngineNotAvailable, SynthesisFailed
from app.engine.identifiers import fake_values
from app.engine.schema import ColumnType, TableSchema
from app.engine.synthesizer import PWSIMSynthesizer

# progress(fraction in [0, 1], stage). Stages in order: "read", "domain", "measure", "select",
# "estimate", "sample", "decode", "done". Noise is first drawn in "domain" (when a domain is paid
# for) or "measure": a caller that sees one of NOISE_STAGES must treat the budget as consumed.
ProgressFn = Callable[[float, str], None]
NOISE_STAGES = frozenset({"domain", "measure", "select", "estimate", "sample", "decode", "done"})


@dataclass(frozen=True)
class SynthesisResult:
    """What one synthesis run produced and what it cost.

    ``allocation`` is JSON-ready: per column and per measurement the weight, rho share, noise
    sigma and bins; ``structure`` (``tree`` or ``target-star``), the phase split actually used, and
    ``structure_choice`` (why: the tree plan's joint groups at the noisy row count against
    ``star_max_groups``). ``phases`` lists every charged phase as ``{"name", "rho", ...}``; their rhos
    sum to ``rho``. Non-DP engines report ``dp=False`` and zero cost.
    """

    data: pd.DataFrame | None
    rows: int
    engine: str
    engine_version: str
    dp: bool
    epsilon: float | None
    delta: float | None
    rho: float
    phases: list[dict[str, Any]] = field(default_factory=list)
    allocation: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (everything but the data)."""
        return {
            "engine": self.engine,
            "engine_version": self.engine_version,
            "dp": self.dp,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "rows": self.rows,
            "phases": self.phases,
            "allocation": self.allocation,
            "timings": self.timings,
            "warnings": self.warnings,
        }


ENGINES = ("pwsim", "gaussian_copula", "ctgan", "tvae")
ENGINE_VERSION = "pwsim-0.1"


def synthesize(
    source: str | Path | pd.DataFrame,
    schema: TableSchema,
    *,
    epsilon: float | None = None,
    delta: float = 1e-9,
    rows: int | None = None,
    seed: int | None = None,
    engine: str = "pwsim",
    trust_inferred_domain: bool = False,
    conditions: Mapping[str, Any] | None = None,
    progress: ProgressFn | None = None,
    out: str | Path | None = None,
) -> SynthesisResult:
    """Fit ``engine`` on ``source`` (a CSV/Parquet path or a DataFrame) and sample ``rows`` rows.

    Args:
        source: the real table; its columns must be exactly the schema's.
        schema: column metadata.
        epsilon, delta: the privacy budget of a DP engine (all of it is spent).
        rows: rows to sample; by default the DP estimate of the input's row count (the exact
            count is never released).
        seed: same input, schema, parameters and seed give byte-identical output.
        engine: ``pwsim`` (DP, default) or an SDV engine (no formal guarantee).
        trust_inferred_domain: use domains read off the data as if they were public.
        conditions: column -> value fixed in every sampled row (rare-event augmentation).
        progress: ``(fraction, stage)`` callback.
        out: stream the rows to this CSV/Parquet file in chunks (``data`` is then None), so
            memory does not grow with ``rows``.

    Raises:
        SchemaError, DataError, BudgetError, EngineNotAvailable: bad input, nothing spent.
        SynthesisFailed: failed after noise was drawn; ``rho_spent`` says how much.
    """
    report = progress or (lambda f, s: None)
    if engine not in ENGINES:
        raise EngineNotAvailable(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if rows is not None and (isinstance(rows, bool) or int(rows) != rows or rows <= 0):
        raise EngineError("rows must be a positive integer")
    chunks = chunk_source(source, schema)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    if engine != "pwsim":
        return _synthesize_sdv(
            engine, chunks, schema, rows=rows, seed=seed, rng=rng, conditions=conditions, report=report, started=started, out=out
        )
    if epsilon is None:
        raise BudgetError("epsilon is required for the pwsim engine")
    validate_epsilon_delta(epsilon, delta)
    _check_conditions(schema, conditions or {})
    synth = PWSIMSynthesizer()
    try:
        synth.fit(
            chunks, schema, epsilon=epsilon, delta=delta, rng=rng, progress=report, trust_inferred_domain=trust_inferred_domain
        )
        fitted = time.perf_counter()
        report(0.85, "sample")
        n = int(rows) if rows is not None else max(round(synth.rows_estimate_), 1)
        if out is None:
            data = synth.sample(n, rng, conditions=conditions)
        else:
            data = None
            io.write_chunks(synth.sample_chunks(n, rng, conditions=conditions), out)
    except EngineError as exc:
        spent = synth.accountant_.spent if hasattr(synth, "accountant_") else 0.0
        if spent > 0 and not isinstance(exc, SynthesisFailed):
            raise SynthesisFailed(str(exc), rho_spent=spent) from exc
        raise
    done = time.perf_counter()
    report(1.0, "done")
    acc = synth.accountant_
    return SynthesisResult(
        data=data,
        rows=n,
        engine="pwsim",
        engine_version=ENGINE_VERSION,
        dp=True,
        epsilon=epsilon,
        delta=delta,
        rho=acc.spent,
        phases=_phase_totals(acc.to_list()),
        allocation=synth.allocation(),
        timings={"fit_seconds": fitted - started, "sample_seconds": done - fitted, "total_seconds": done - started},
        warnings=list(synth.warnings_),
    )


def chunk_source(source: str | Path | pd.DataFrame, schema: TableSchema, chunk_rows: int = 200_000):
    """A re-callable chunk iterator over ``source`` after checking its header against the schema."""
    if isinstance(source, pd.DataFrame):
        schema.check_header(list(source.columns))
        frame = source
        return lambda: (frame.iloc[i : i + chunk_rows] for i in range(0, len(frame), chunk_rows))
    path = Path(source)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    schema.check_header(io.read_header(path))
    numeric = {c.name: "float64" for c in schema.columns if c.type in (ColumnType.NUMERICAL, ColumnType.INTEGER)}
    return lambda: io.iter_chunks(path, chunk_rows=chunk_rows, column_types=numeric)


def _check_conditions(schema: TableSchema, conditions: Mapping[str, Any]) -> None:
    """Refuse conditions on unknown or unmodeled columns, or on values outside the domain."""
    for name, value in conditions.items():
        col = next((c for c in schema.columns if c.name == name), None)
        if col is None or not col.modeled:
            raise EngineError(f"cannot condition on {name!r}: not a modeled column")
        build_codec(col).encode(pd.Series([value]))


def _phase_totals(charges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per phase with its summed rho and number of noisy releases."""
    totals: dict[str, dict[str, Any]] = {}
    for ch in charges:
        entry = totals.setdefault(ch["name"], {"name": ch["name"], "rho": 0.0, "releases": 0})
        entry["rho"] += ch["rho"]
        entry["releases"] += 1
    return list(totals.values())


_SDV_TYPES = {
    ColumnType.NUMERICAL: "numerical",
    ColumnType.INTEGER: "numerical",
    ColumnType.CATEGORICAL: "categorical",
    ColumnType.BOOLEAN: "boolean",
    ColumnType.DATETIME: "datetime",
}


def _synthesize_sdv(engine, chunks, schema, *, rows, seed, rng, conditions, report, started, out) -> SynthesisResult:
    """Run an SDV engine on the modeled columns; identifiers are handled as for PWSIM."""
    if conditions:
        raise EngineError(f"conditional sampling is only supported by the pwsim engine, not {engine}")
    modeled = [c for c in schema.columns if c.modeled]
    report(0.02, "read")
    frame = pd.concat([chunk[[c.name for c in modeled]] for chunk in chunks()], ignore_index=True)
    if frame.empty:
        raise DataError("the input has no rows")
    n = int(rows) if rows is not None else len(frame)
    report(0.2, "estimate")
    sampled = sdv_engines.fit_sample(engine, frame, metadata={c.name: _SDV_TYPES[c.type] for c in modeled}, rows=n, seed=seed)
    fitted = time.perf_counter()
    columns = {}
    for col in schema.columns:
        if col.modeled:
            columns[col.name] = _enforce_domain(sampled[col.name], col)
        elif col.identifier_handling == "fake" and col.type != ColumnType.TEXT:
            columns[col.name] = pd.Series(fake_values(col.pii, n, rng), dtype=object)
    data = pd.DataFrame(columns)
    if out is not None:
        io.write_table(data, out)
    report(1.0, "done")
    done = time.perf_counter()
    return SynthesisResult(
        data=None if out is not None else data,
        rows=n,
        engine=engine,
        engine_version=f"sdv-{metadata.version('sdv')}",
        dp=False,
        epsilon=None,
        delta=None,
        rho=0.0,
        timings={"fit_seconds": fitted - started, "sample_seconds": done - fitted, "total_seconds": done - started},
        warnings=[f"{engine} carries no formal privacy guarantee: it was fit on the raw data without noise"],
    )


def _enforce_domain(values: pd.Series, col) -> pd.Series:
    """Clip numbers into declared bounds and round integers (SDV output may stray)."""
    dom = col.domain
    if col.type in (ColumnType.NUMERICAL, ColumnType.INTEGER) and dom is not None and dom.lower is not None:
        values = values.clip(float(dom.lower), float(dom.upper))
    if col.type == ColumnType.INTEGER:
        values = values.round().astype("Int64" if values.isna().any() else np.int64)
    return values.reset_index(drop=True)
