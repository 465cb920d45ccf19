"""Budget balance and ledger entries (append-only: no code path updates or deletes an entry)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.db_types import UTCDateTime


class Budget(Base):
    """The total budget of a dataset and what is left of it, in zCDP rho."""

    __tablename__ = "budget"
    __table_args__ = (
        CheckConstraint("rho_remaining >= 0", name="rho_remaining_nonnegative"),
        CheckConstraint("rho_remaining <= rho_total", name="rho_remaining_le_total"),
    )

    dataset_id: Mapped[str] = mapped_column(ForeignKey("dataset.id"), primary_key=True)
    epsilon: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)
    rho_total: Mapped[float] = mapped_column(Float)
    rho_remaining: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(Base):
    """One movement of budget. ``entry_hash`` = sha256(prev_hash + canonical content)."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("job_id", "kind"),
        UniqueConstraint("dataset_id", "seq"),
        CheckConstraint("kind IN ('grant', 'reserve', 'charge', 'release')", name="kind"),
        CheckConstraint("rho >= 0", name="rho_nonnegative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("dataset.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("job.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    rho: Mapped[float] = mapped_column(Float)
    epsilon: Mapped[float | None] = mapped_column(Float)
    delta: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
