"""The stored verdict of one job's validation gates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.db_types import UTCDateTime, new_id


class ValidationReport(Base):
    __tablename__ = "validation_report"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("job.id"), unique=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("dataset.id"), index=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    decision: Mapped[str] = mapped_column(String(16))  # release | reject
    policy_name: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    policy_digest: Mapped[str] = mapped_column(String(64))
    failed_gates: Mapped[list[str]] = mapped_column(JSON)
    # The verdict (app.validation Verdict.to_dict()) plus the holdout lineage.
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
