"""Job request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.policies.service import REFERENCE_PATTERN
from app.reports.schemas import VerdictSummary

JobStatus = Literal["queued", "running", "validating", "released", "rejected", "failed", "cancelled"]
DeploymentMode = Literal["dev-only", "hybrid-split", "production-substitute"]
Label = str | int | float | bool


class ValidationRoles(BaseModel):
    """Analysis roles for the validation gates, beyond what the dataset's schema declares.

    The schema's column roles (target, treatment, outcome, subgroup, confounder) are used as they
    are; these fields add what it cannot say, or override it for this job.
    """

    model_config = ConfigDict(extra="forbid")

    positive_label: Label | None = Field(None, description="The target label counted as positive (ROC AUC).")
    treatment: str | None = Field(None, description="Treatment column of the causal-effect gates.")
    treated_value: Label | None = Field(
        None, description="Treated when the treatment equals this label, or for a number exceeds it."
    )
    outcome: str | None = None
    outcome_positive: Label | None = None
    confounders: list[str] | None = None
    subgroups: list[str] | None = Field(None, description="Columns of the subgroup-fairness gates.")


class JobCreate(BaseModel):
    """A synthesis request. ``delta`` defaults to the dataset budget's delta; without ``rows`` the engine
    samples a differentially private estimate of the fitted row count (the exact count is never released)."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str
    engine: str = "pwsim"
    epsilon: float = Field(gt=0, allow_inf_nan=False, description="Privacy cost of this job.")
    delta: float | None = Field(None, gt=0, lt=1)
    rows: int | None = Field(
        None, gt=0, description="Synthetic rows; default: a DP estimate of the fitted rows, never the exact count."
    )
    seed: int | None = Field(None, ge=0, lt=2**63)
    mode: DeploymentMode | None = Field(
        None,
        description=(
            "Deployment mode; default from PWSIM_DEFAULT_MODE. It picks the default policy: dev-only (lenient"
            " utility, strict privacy), hybrid-split (synthetic rare-class replicates by conditional sampling,"
            " gated on the rare-class recall lift; needs rare_class), production-substitute (every gate"
            " blocking, DP engines only)."
        ),
    )
    policy: str | None = Field(
        None,
        pattern=REFERENCE_PATTERN,
        description="Validation policy, 'name' (latest version) or 'name@version'; default: the mode's policy.",
    )
    allow_non_dp: bool = Field(
        False,
        description=(
            "Required for engines without a DP guarantee (SDV); such a release spends the dataset's whole remaining"
            " budget. Never allowed in production-substitute mode."
        ),
    )
    trust_inferred_domain: bool = Field(
        False, description="Accept domains read off the data as if public (the guarantee then excludes them)."
    )
    rare_class: str | None = Field(
        None,
        max_length=200,
        description="hybrid-split: the target class sampled conditionally as synthetic rare-event replicates.",
    )
    validation_roles: ValidationRoles | None = None


class JobBudget(BaseModel):
    """The job's privacy cost as zCDP rho (None when that ledger step has not happened)."""

    reserved: float | None
    charged: float | None
    released: float | None


class JobError(BaseModel):
    code: str
    message: str


class JobPolicy(BaseModel):
    """The validation policy resolved when the job was created."""

    name: str
    version: int
    digest: str

    @classmethod
    def of(cls, job: Any) -> JobPolicy | None:
        """The policy a job recorded; None for a job from before validation policies existed."""
        if job.policy is None or job.policy_version is None or job.policy_digest is None:
            return None
        return cls(name=job.policy, version=job.policy_version, digest=job.policy_digest)


class JobRead(BaseModel):
    id: str
    dataset_id: str
    schema_version: int
    engine: str
    epsilon: float
    delta: float
    rho: float
    rows: int | None
    seed: int | None
    mode: str
    allow_non_dp: bool
    trust_inferred_domain: bool
    rare_class: str | None
    validation_roles: dict[str, Any] | None
    policy: JobPolicy | None
    status: JobStatus
    progress: float = Field(description="Percent done, 0-100.")
    stage: str | None
    cancel_requested: bool
    attempts: int
    budget: JobBudget
    error: JobError | None
    verdict: VerdictSummary | None = Field(description="The gates' decision, once they have run.")
    artifact_id: str | None
    holdout: dict[str, Any] | None = Field(
        description="How the real rows were split into fit and holdout parts (held-out rows by index hash)."
    )
    timings: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobList(BaseModel):
    items: list[JobRead]
    total: int
    limit: int
    offset: int


class CurrentRelease(BaseModel):
    """A dataset's current release: the newest job that passed its gates and was released."""

    dataset_id: str
    job_id: str
    artifact_id: str
    released_at: datetime | None
    policy: JobPolicy | None
    verdict: VerdictSummary | None
    manifest_url: str
    data_url: str
