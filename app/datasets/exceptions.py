"""Dataset errors a caller can cause."""

from __future__ import annotations

from app.errors import AppError, Conflict, NotFound


class DatasetNotFound(NotFound):
    code = "dataset_not_found"
    title = "Dataset not found"


class DatasetDeleted(Conflict):
    status_code = 410
    code = "dataset_deleted"
    title = "Dataset deleted"


class DatasetBusy(Conflict):
    code = "dataset_busy"
    title = "Dataset has active jobs"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    title = "Upload too large"


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class InvalidUpload(AppError):
    status_code = 422
    code = "invalid_upload"
    title = "Invalid upload"


class InvalidData(AppError):
    status_code = 422
    code = "invalid_data"
    title = "The data cannot be used"


class InvalidSchema(AppError):
    status_code = 422
    code = "invalid_schema"
    title = "Invalid schema"


class SchemaMismatch(AppError):
    status_code = 422
    code = "schema_mismatch"
    title = "The schema does not match the data"
