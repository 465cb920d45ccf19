"""Job errors a caller can cause."""

from __future__ import annotations

from app.errors import AppError, Conflict, NotFound


class JobNotFound(NotFound):
    code = "job_not_found"
    title = "Job not found"


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused with a different request"


class JobNotCancellable(Conflict):
    code = "job_not_cancellable"
    title = "Job already finished"


class EngineNotAvailable(AppError):
    status_code = 422
    code = "engine_not_available"
    title = "Engine not available"


class RowsAboveLimit(AppError):
    status_code = 422
    code = "rows_above_limit"
    title = "Too many rows requested"


class EngineNotDP(AppError):
    status_code = 422
    code = "engine_not_dp"
    title = "Engine gives no differential-privacy guarantee"


class PolicyModeMismatch(AppError):
    status_code = 422
    code = "policy_mode_mismatch"
    title = "Policy written for another deployment mode"


class InvalidRareClass(AppError):
    status_code = 422
    code = "invalid_rare_class"
    title = "Invalid rare class for hybrid-split mode"


class ModeNotSupported(AppError):
    status_code = 422
    code = "mode_not_supported"
    title = "Deployment mode not supported for this request"


class InvalidValidationRoles(AppError):
    status_code = 422
    code = "invalid_validation_roles"
    title = "Invalid validation roles"


class NoRelease(NotFound):
    code = "no_release"
    title = "No release yet"
