"""One immutable version of an uploaded validation policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.db_types import UTCDateTime, new_id


class PolicyVersion(Base):
    __tablename__ = "policy_version"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str | None] = mapped_column(String(32))
    use_case: Mapped[str | None] = mapped_column(String(64))
    # The document as uploaded (parsed), and the flat policy it resolved to when it was uploaded:
    # a base named without a version is pinned then, so a version never changes meaning later.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    resolved: Mapped[dict[str, Any]] = mapped_column(JSON)
    lineage: Mapped[list[str]] = mapped_column(JSON)
    # sha256 of the resolved policy (what verdicts and jobs record) and of the uploaded document
    # (what decides whether a repeated upload is the same version or a conflicting one).
    digest: Mapped[str] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
