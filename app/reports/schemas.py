"""Validation report bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class GateRead(BaseModel):
    """One gate applied: the metric's value against the policy's threshold."""

    id: str
    metric: str
    value: float | None = Field(
        description="What was compared with the threshold: the point estimate, or for basis ci_bound the interval "
        "bound nearest to passing (the lower bound for < and <=, the upper bound for > and >=)."
    )
    comparison: str
    threshold: float
    blocking: bool
    status: Literal["pass", "fail", "skipped"]
    passed: bool | None
    description: str = ""
    reason: str = ""
    basis: Literal["estimate", "ci_bound"] = Field(
        default="estimate",
        description="estimate: the gate compared the metric's point estimate; ci_bound: a bound of its confidence "
        "interval, so it fails only when the metric is beyond the threshold with the interval's confidence.",
    )
    estimate: float | None = Field(
        default=None, description="The metric's point estimate (equal to value when basis is estimate); null if not computed."
    )
    interval: tuple[float | None, float | None] | None = Field(
        default=None,
        description="[low, high] of the metric's confidence interval (<metric>_low, <metric>_high) for basis ci_bound; "
        "null for basis estimate.",
    )


class ReportPolicy(BaseModel):
    name: str
    version: int
    digest: str
    mode: str | None = None
    use_case: str | None = None
    lineage: list[str] = []


class VerdictSummary(BaseModel):
    """The decision of a job's gates in one line."""

    passed: bool
    decision: Literal["release", "reject"]
    message: str
    failed_gates: list[str] = Field(description="Blocking gates that failed (they rejected the job).")
    advisory_failures: list[str] = Field(description="Advisory gates that failed (reported only).")


class ReportRead(BaseModel):
    """A job's validation report. Computed on the real data: not differentially private."""

    job_id: str
    dataset_id: str
    job_status: str
    passed: bool
    decision: Literal["release", "reject"]
    message: str
    failed_gates: list[str]
    advisory_failures: list[str]
    skipped_gates: list[str]
    policy: ReportPolicy
    gates: list[GateRead]
    business: dict[str, Any] | None = Field(description="The utility delta in money, when the policy gives a value per point.")
    timings: dict[str, Any] = Field(description="`gates`: seconds per metric family; `job`: the job's stages.")
    rows: dict[str, int] = Field(description="Rows the gates read: train (fit part), holdout, synthetic.")
    holdout: dict[str, Any] = Field(description="How the real rows were split; held-out rows by index hash only.")
    metrics: dict[str, Any]
    warnings: list[str]
    notice: str
    created_at: datetime
