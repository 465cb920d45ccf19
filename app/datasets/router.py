"""HTTP routes of datasets: parse, call the service, return a schema."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, status
from sqlalchemy.orm import Session

from app.artifacts import service as artifacts_service
from app.datasets import service
from app.datasets.exceptions import InvalidUpload
from app.datasets.models import Dataset
from app.datasets.schemas import ColumnRead, DatasetList, DatasetRead, SchemaVersionList, SchemaVersionRead
from app.datasets.upload import StagedUpload, receive_upload
from app.db import get_session
from app.engine.schema import TableSchema
from app.jobs import service as jobs_service
from app.jobs.exceptions import NoRelease
from app.jobs.schemas import CurrentRelease, JobPolicy
from app.ledger import service as ledger_service
from app.ledger.schemas import BudgetSummary
from app.reports import service as reports_service
from app.reports.schemas import VerdictSummary

router = APIRouter(prefix="/datasets", tags=["datasets"])

SessionDep = Annotated[Session, Depends(get_session)]

# The upload is parsed by the streaming receiver, not by FastAPI, so its form is described here and
# published as the named component ``DatasetUpload`` (see ``app.main``).
UPLOAD_SCHEMA = {
    "title": "DatasetUpload",
    "type": "object",
    "required": ["file", "epsilon"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "CSV or Parquet table."},
        "schema": {
            "type": "string",
            "description": "PWSIM schema JSON (text or file); inferred from the data if absent.",
        },
        "name": {"type": "string"},
        "epsilon": {"type": "number", "exclusiveMinimum": 0, "description": "Total budget."},
        "delta": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    },
}
EXTRA_SCHEMAS = {"DatasetUpload": UPLOAD_SCHEMA}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {"$ref": "#/components/schemas/DatasetUpload"}}},
    }
}


def _float_field(upload: StagedUpload, key: str, *, required: bool) -> float | None:
    raw = upload.fields.get(key)
    if raw is None or not raw.strip():
        if required:
            raise InvalidUpload(f"form field {key!r} is required")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidUpload(f"form field {key!r} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise InvalidUpload(f"form field {key!r} must be finite")
    return value


def to_read(session: Session, dataset: Dataset) -> DatasetRead:
    current = service.schema_version(dataset)
    schema = TableSchema.from_dict(current.document)
    summary = ledger_service.summary(session=session, dataset_id=dataset.id)
    return DatasetRead(
        id=dataset.id,
        name=dataset.name,
        status=dataset.status,
        format=dataset.format,
        filename=dataset.filename,
        size_bytes=dataset.size_bytes,
        sha256=dataset.sha256,
        rows=dataset.rows,
        schema_version=dataset.current_schema_version,
        schema_source=current.source,
        columns=[
            ColumnRead(
                name=c.name,
                type=str(c.type),
                sensitivity=str(c.sensitivity),
                special_category=c.special_category,
                sensitivity_score=c.score,
                nullable=c.nullable,
                modeled=c.modeled,
                domain_source=str(c.domain.source) if c.domain else None,
            )
            for c in schema.columns
        ],
        budget=BudgetSummary.model_validate({k: v for k, v in summary.items() if k != "entries"}),
        created_at=dataset.created_at,
        deleted_at=dataset.deleted_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetRead,
    openapi_extra=UPLOAD_BODY,
    name="create_dataset",
)
def create_dataset(
    request: Request, session: SessionDep, upload: Annotated[StagedUpload, Depends(receive_upload)]
) -> DatasetRead:
    """Upload a CSV or Parquet table with an optional schema and a total privacy budget."""
    dataset = service.create_dataset(
        session=session,
        settings=request.app.state.settings,
        upload=upload,
        name=upload.fields.get("name"),
        schema_text=upload.fields.get("schema"),
        epsilon=_float_field(upload, "epsilon", required=True),
        delta=_float_field(upload, "delta", required=False),
    )
    return to_read(session, dataset)


@router.get("", response_model=DatasetList, name="list_datasets")
def list_datasets(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    include_deleted: bool = False,
) -> DatasetList:
    """List datasets, newest first."""
    items, total = service.list_datasets(session=session, limit=limit, offset=offset, include_deleted=include_deleted)
    return DatasetList(items=[to_read(session, d) for d in items], total=total, limit=limit, offset=offset)


@router.get("/{dataset_id}", response_model=DatasetRead, name="get_dataset")
def get_dataset(dataset_id: str, session: SessionDep) -> DatasetRead:
    """Get one dataset with its columns and budget."""
    return to_read(session, service.get_dataset(session=session, dataset_id=dataset_id))


@router.put("/{dataset_id}/schema", response_model=DatasetRead, name="update_dataset_schema")
def update_dataset_schema(
    dataset_id: str,
    request: Request,
    session: SessionDep,
    document: Annotated[dict[str, Any], Body(description="A PWSIM schema document.")],
) -> DatasetRead:
    """Store a new schema version; later jobs use it, earlier jobs keep the version they recorded."""
    dataset = service.add_schema_version(
        session=session, settings=request.app.state.settings, dataset_id=dataset_id, document=document
    )
    return to_read(session, dataset)


@router.get("/{dataset_id}/schemas", response_model=SchemaVersionList, name="list_dataset_schemas")
def list_dataset_schemas(dataset_id: str, session: SessionDep) -> SchemaVersionList:
    """Every schema version of a dataset."""
    dataset = service.get_dataset(session=session, dataset_id=dataset_id)
    return SchemaVersionList(
        items=[
            SchemaVersionRead(version=s.version, source=s.source, created_at=s.created_at, document=s.document)
            for s in dataset.schemas
        ]
    )


@router.get("/{dataset_id}/current-release", response_model=CurrentRelease, name="get_current_release")
def get_current_release(dataset_id: str, session: SessionDep) -> CurrentRelease:
    """The dataset's current release: the newest job that passed its gates (404 no_release if none)."""
    dataset = service.get_dataset(session=session, dataset_id=dataset_id)
    job = jobs_service.current_release(session=session, dataset_id=dataset.id)
    artifact = artifacts_service.artifact_for_job(session=session, job_id=job.id)
    if artifact is None:
        raise NoRelease(f"dataset {dataset.id}: its released job {job.id} has no artifact")
    verdict = reports_service.summary(reports_service.find_report(session=session, job_id=job.id))
    return CurrentRelease(
        dataset_id=dataset.id,
        job_id=job.id,
        artifact_id=artifact.id,
        released_at=job.finished_at,
        policy=JobPolicy.of(job),
        verdict=VerdictSummary.model_validate(verdict) if verdict else None,
        manifest_url=f"/v1/artifacts/{artifact.id}",
        data_url=f"/v1/artifacts/{artifact.id}/data",
    )


@router.delete("/{dataset_id}", response_model=DatasetRead, name="delete_dataset")
def delete_dataset(dataset_id: str, request: Request, session: SessionDep) -> DatasetRead:
    """Purge the dataset's source data; its ledger and artifacts' lineage are kept."""
    dataset = service.delete_dataset(session=session, settings=request.app.state.settings, dataset_id=dataset_id)
    return to_read(session, dataset)
