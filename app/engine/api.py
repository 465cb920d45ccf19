"""The engine's front door: ``synthesize`` and ``plan``, used by the CLI, the API and the workers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from app.engine.schema import TableSchema

# progress(fraction in [0, 1], stage). Stages in order: "read", "domain", "measure", "select",
# "estimate", "sample", "decode", "done". Noise is first drawn in "domain" (when a domain is paid
# for) or "measure": a caller that sees one of NOISE_STAGES must treat the budget as consumed.
ProgressFn = Callable[[float, str], None]
NOISE_STAGES = frozenset({"domain", "measure", "select", "estimate", "sample", "decode", "done"})


@dataclass(frozen=True)
class SynthesisResult:
    """What one synthesis run produced and what it cost.

    ``allocation`` is JSON-ready: per column and per measurement the weight, rho share, noise
    sigma and bins. ``phases`` lists every charged phase as ``{"name", "rho", ...}``; their rhos
    sum to ``rho``. Non-DP engines report ``dp=False`` and zero cost.
    """

    data: pd.DataFrame
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
            "rows": int(len(self.data)),
            "phases": self.phases,
            "allocation": self.allocation,
            "timings": self.timings,
            "warnings": self.warnings,
        }


def synthesize(
    source: str | Path | pd.DataFrame,
    schema: TableSchema,
    *,
    epsilon: float,
    delta: float = 1e-9,
    rows: int | None = None,
    seed: int | None = None,
    engine: str = "pwsim",
    trust_inferred_domain: bool = False,
    conditions: Mapping[str, Any] | None = None,
    progress: ProgressFn | None = None,
) -> SynthesisResult:
    """Fit ``engine`` on ``source`` (a CSV/Parquet path or a DataFrame) and sample ``rows`` rows.

    Raises:
        SchemaError, DataError, BudgetError, EngineNotAvailable: bad input, nothing spent.
        SynthesisFailed: failed after noise was drawn; ``rho_spent`` says how much.
    """
    raise NotImplementedError("landing in the engine work of issue 2")
