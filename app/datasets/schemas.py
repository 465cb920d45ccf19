"""Dataset request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from app.ledger.schemas import BudgetSummary


class ColumnRead(BaseModel):
    name: str
    type: str
    sensitivity: str
    special_category: str | None = None
    sensitivity_score: float
    nullable: bool
    modeled: bool
    domain_source: str | None = None


class SchemaVersionRead(BaseModel):
    version: int
    source: Literal["declared", "inferred"]
    created_at: datetime
    document: dict[str, Any]


class DatasetRead(BaseModel):
    id: str
    name: str
    status: Literal["active", "deleted"]
    format: str
    filename: str | None
    size_bytes: int
    sha256: str
    rows: int
    schema_version: int
    schema_source: Literal["declared", "inferred"]
    columns: list[ColumnRead]
    budget: BudgetSummary
    created_at: datetime
    deleted_at: datetime | None


class DatasetList(BaseModel):
    items: list[DatasetRead]
    total: int
    limit: int
    offset: int


class SchemaVersionList(BaseModel):
    items: list[SchemaVersionRead]
