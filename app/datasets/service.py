"""Dataset rules: validate the upload and its schema first, then write (file moved into place last,
and removed again if the transaction rolls back)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.datasets.exceptions import (
    DatasetBusy,
    DatasetDeleted,
    DatasetNotFound,
    InvalidData,
    InvalidSchema,
    SchemaMismatch,
)
from app.datasets.models import Dataset, DatasetSchemaVersion
from app.datasets.upload import StagedUpload
from app.db import after_commit, on_rollback, utcnow
from app.db_types import new_id
from app.engine import infer as engine_infer
from app.engine import io as engine_io
from app.engine.errors import DataError, SchemaError
from app.engine.schema import TableSchema
from app.jobs.models import ACTIVE_STATUSES, Job
from app.ledger import service as ledger_service

log = logging.getLogger(__name__)


def create_dataset(
    *,
    session: Session,
    settings: Settings,
    upload: StagedUpload,
    name: str | None,
    schema_text: str | None,
    epsilon: float,
    delta: float | None,
) -> Dataset:
    """Register an uploaded table with its schema (declared or inferred) and its privacy budget."""
    delta = settings.default_delta if delta is None else delta
    ledger_service.to_rho(epsilon=epsilon, delta=delta)  # reject a bad budget before any work
    if upload.size_bytes == 0:
        raise InvalidData("the uploaded file is empty")
    try:
        info = engine_io.validate_table(upload.path)
    except DataError as exc:
        raise InvalidData(str(exc)) from None
    if schema_text is not None and schema_text.strip():
        schema = parse_schema(schema_text)
        check_header(schema, list(info.columns))
        source = "declared"
    else:
        try:
            schema = engine_infer.infer_schema(upload.path)
        except (DataError, SchemaError) as exc:
            raise InvalidData(str(exc)) from None
        source = "inferred"

    dataset_id = new_id()
    relative = Path("sources") / dataset_id / f"source.{info.format}"
    dataset = Dataset(
        id=dataset_id,
        name=(name or upload.filename or "dataset")[:200],
        format=info.format,
        filename=upload.filename,
        size_bytes=upload.size_bytes,
        sha256=upload.sha256,
        rows=info.rows,
        storage_path=str(relative),
        current_schema_version=1,
        created_at=utcnow(),
    )
    session.add(dataset)
    session.flush()
    session.add(DatasetSchemaVersion(dataset_id=dataset_id, version=1, source=source, document=schema.to_dict()))
    ledger_service.open_budget(session=session, dataset_id=dataset_id, epsilon=epsilon, delta=delta)
    session.flush()

    target = settings.data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(upload.path, target)
    on_rollback(session, lambda: shutil.rmtree(target.parent, ignore_errors=True))
    return dataset


def parse_schema(text: str | bytes | dict[str, Any]) -> TableSchema:
    try:
        return TableSchema.from_dict(text) if isinstance(text, dict) else TableSchema.from_json(text)
    except SchemaError as exc:
        raise InvalidSchema(str(exc)) from None


def check_header(schema: TableSchema, header: list[str]) -> None:
    try:
        schema.check_header(header)
    except SchemaError as exc:
        raise SchemaMismatch(str(exc)) from None


def get_dataset(*, session: Session, dataset_id: str) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise DatasetNotFound(f"no dataset with id {dataset_id}")
    return dataset


def get_active_dataset(*, session: Session, dataset_id: str) -> Dataset:
    dataset = get_dataset(session=session, dataset_id=dataset_id)
    if dataset.status != "active":
        raise DatasetDeleted(f"dataset {dataset_id} was deleted; its source data is gone")
    return dataset


def list_datasets(*, session: Session, limit: int, offset: int, include_deleted: bool = False) -> tuple[list[Dataset], int]:
    query = select(Dataset)
    if not include_deleted:
        query = query.where(Dataset.status == "active")
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(Dataset.created_at.desc(), Dataset.id).limit(limit).offset(offset))
    return list(items), total


def schema_version(dataset: Dataset, version: int | None = None) -> DatasetSchemaVersion:
    wanted = dataset.current_schema_version if version is None else version
    for row in dataset.schemas:
        if row.version == wanted:
            return row
    raise DatasetNotFound(f"dataset {dataset.id} has no schema version {wanted}")


def schema_for(dataset: Dataset, version: int | None = None) -> TableSchema:
    """The dataset's schema (its current version unless ``version`` is given), parsed."""
    return TableSchema.from_dict(schema_version(dataset, version).document)


def add_schema_version(*, session: Session, settings: Settings, dataset_id: str, document: dict[str, Any]) -> Dataset:
    """Store a new schema version (checked against the data's header) and make it current."""
    dataset = get_active_dataset(session=session, dataset_id=dataset_id)
    schema = parse_schema(document)
    try:
        header = engine_io.read_header(source_path(settings, dataset))
    except DataError as exc:
        raise InvalidData(str(exc)) from None
    check_header(schema, list(header))
    version = dataset.current_schema_version + 1
    session.add(DatasetSchemaVersion(dataset_id=dataset.id, version=version, source="declared", document=schema.to_dict()))
    dataset.current_schema_version = version
    session.flush()
    session.refresh(dataset, attribute_names=["schemas"])
    return dataset


def delete_dataset(*, session: Session, settings: Settings, dataset_id: str) -> Dataset:
    """Purge the source data; the row, its ledger and its artifacts' lineage stay."""
    dataset = get_dataset(session=session, dataset_id=dataset_id)
    if dataset.status == "deleted":
        return dataset
    if _active_jobs(session, dataset_id):
        raise DatasetBusy("the dataset has queued or running jobs; cancel them first")
    folder = (settings.data_dir / dataset.storage_path).parent if dataset.storage_path else None
    dataset.status = "deleted"
    dataset.storage_path = None
    dataset.deleted_at = utcnow()
    for version in dataset.schemas:
        if version.source == "inferred":  # domains read off the data are data too: drop them
            version.document = _without_domains(version.document)
    session.flush()
    if folder is not None:
        after_commit(session, lambda: shutil.rmtree(folder, ignore_errors=True))
    return dataset


def _active_jobs(session: Session, dataset_id: str) -> int:
    """Jobs of the dataset still queued, running or validating: they will read its source data."""
    return session.scalar(select(func.count()).where(Job.dataset_id == dataset_id, Job.status.in_(ACTIVE_STATUSES))) or 0


def _without_domains(document: dict[str, Any]) -> dict[str, Any]:
    columns = [{k: v for k, v in column.items() if k != "domain"} for column in document.get("columns", [])]
    return {**document, "columns": columns}


def source_path(settings: Settings, dataset: Dataset) -> Path:
    if dataset.storage_path is None:
        raise DatasetDeleted(f"dataset {dataset.id} was deleted; its source data is gone")
    return settings.data_dir / dataset.storage_path


def load_for_job(*, session: Session, settings: Settings, dataset_id: str, version: int) -> tuple[Dataset, Path, TableSchema]:
    """What a job needs: the dataset, its source file and the schema version the job recorded."""
    dataset = get_active_dataset(session=session, dataset_id=dataset_id)
    row = schema_version(dataset, version)
    return dataset, source_path(settings, dataset), TableSchema.from_dict(row.document)
