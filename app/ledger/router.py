"""HTTP routes of the ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.datasets import service as datasets_service
from app.db import get_session
from app.ledger import service
from app.ledger.schemas import BudgetRead

router = APIRouter(prefix="/datasets", tags=["budget"])


@router.get("/{dataset_id}/budget", response_model=BudgetRead, name="get_dataset_budget")
def get_dataset_budget(dataset_id: str, session: Annotated[Session, Depends(get_session)]) -> BudgetRead:
    """Total, charged, reserved and remaining budget of a dataset, and its hash-chained ledger."""
    datasets_service.get_dataset(session=session, dataset_id=dataset_id)
    summary = service.summary(session=session, dataset_id=dataset_id)
    return BudgetRead.model_validate({**summary, "dataset_id": dataset_id})
