"""Job request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["queued", "running", "validating", "released", "rejected", "failed", "cancelled"]
JobMode = Literal["standard", "trust_inferred_domain", "non_dp"]


class JobCreate(BaseModel):
    """A synthesis request. ``delta`` defaults to the dataset budget's delta, ``rows`` to its row count."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str
    engine: str = "pwsim"
    epsilon: float = Field(gt=0, allow_inf_nan=False, description="Privacy cost of this job.")
    delta: float | None = Field(None, gt=0, lt=1)
    rows: int | None = Field(None, gt=0, description="Synthetic rows; default: as many as the source.")
    seed: int | None = Field(None, ge=0, lt=2**63)
    policy: str | None = Field(None, max_length=200, description="Validation policy (gates) to apply.")
    mode: JobMode = Field(
        "standard",
        description=(
            "trust_inferred_domain: accept domains read off the data (leaks them). non_dp: required for"
            " engines without a DP guarantee (SDV); such a release spends the dataset's whole remaining budget."
        ),
    )


class JobBudget(BaseModel):
    """The job's privacy cost as zCDP rho (None when that ledger step has not happened)."""

    reserved: float | None
    charged: float | None
    released: float | None


class JobError(BaseModel):
    code: str
    message: str


class JobRead(BaseModel):
    id: str
    dataset_id: str
    schema_version: int
    engine: str
    epsilon: float
    delta: float
    rho: float
    rows: int
    seed: int | None
    policy: str | None
    mode: str
    status: JobStatus
    progress: float = Field(description="Percent done, 0-100.")
    stage: str | None
    cancel_requested: bool
    attempts: int
    budget: JobBudget
    error: JobError | None
    artifact_id: str | None
    timings: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobList(BaseModel):
    items: list[JobRead]
    total: int
    limit: int
    offset: int
