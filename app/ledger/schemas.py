"""Budget views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class BudgetAmount(BaseModel):
    """An amount of privacy budget as zCDP rho and as epsilon at the budget's delta (CKS20)."""

    rho: float
    epsilon: float
    delta: float


class BudgetSummary(BaseModel):
    total: BudgetAmount
    charged: BudgetAmount
    reserved: BudgetAmount
    remaining: BudgetAmount
    delta: float
    chain_valid: bool


class LedgerEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    kind: str
    job_id: str | None
    rho: float
    epsilon: float | None
    delta: float | None
    details: dict[str, Any]
    created_at: datetime
    prev_hash: str
    entry_hash: str


class BudgetRead(BudgetSummary):
    dataset_id: str
    entries: list[LedgerEntryRead]
