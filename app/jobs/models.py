"""A synthesis job and its state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Float, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.db_types import UTCDateTime, new_id

STATUSES = ("queued", "running", "validating", "released", "rejected", "failed", "cancelled")
ACTIVE_STATUSES = ("queued", "running", "validating")
FINAL_STATUSES = ("released", "rejected", "failed", "cancelled")
MODES = ("dev-only", "hybrid-split", "production-substitute")


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")", name="status"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("dataset.id"), index=True)
    schema_version: Mapped[int] = mapped_column(Integer)
    engine: Mapped[str] = mapped_column(String(64))
    epsilon: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)
    rho: Mapped[float] = mapped_column(Float)
    rows: Mapped[int | None] = mapped_column(BigInteger)  # None: a DP estimate, never the exact count
    seed: Mapped[int | None] = mapped_column(BigInteger)
    # Deployment mode (MODES); it picks the default policy and what engines may run.
    mode: Mapped[str] = mapped_column(String(32), default="dev-only")
    allow_non_dp: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    trust_inferred_domain: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The validation policy resolved when the job was created: name, version, digest, and a snapshot
    # of the flat policy ({"resolved", "lineage"}) so the gates applied are the ones recorded.
    policy: Mapped[str | None] = mapped_column(String(200))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    policy_digest: Mapped[str | None] = mapped_column(String(64))
    policy_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # hybrid-split: the target class sampled conditionally as rare-event replicates
    rare_class: Mapped[str | None] = mapped_column(String(200))
    # analysis roles for the gates the schema cannot say (positive label, treated value, ...)
    validation_roles: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # how the real rows were split into fit and holdout parts (held-out rows by index hash only)
    lineage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(32))
    noise_drawn: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    # When the job was last handed to a dispatcher; a job still queued long after it is sent again
    # (a message lost between commit and broker must not leave it queued forever).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(2000))
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
