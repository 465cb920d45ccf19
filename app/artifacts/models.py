"""A released artifact and its signed manifest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.db_types import UTCDateTime, new_id

ARTIFACT_STATUSES = ("released", "rejected")


class Artifact(Base):
    """A job's output. ``rejected``: the gates refused it; its data was never stored, only its manifest."""

    __tablename__ = "artifact"
    __table_args__ = (CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in ARTIFACT_STATUSES) + ")", name="status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("job.id"), unique=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("dataset.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="released", server_default="released")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    # {"csv": {"sha256", "size_bytes", "path"}, "parquet": {...}}; paths relative to the data dir.
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
