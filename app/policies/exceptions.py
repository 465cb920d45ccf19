"""Policy errors a caller can cause."""

from __future__ import annotations

from app.errors import AppError, Conflict, NotFound


class PolicyNotFound(NotFound):
    code = "policy_not_found"
    title = "Policy not found"


class InvalidPolicy(AppError):
    status_code = 422
    code = "invalid_policy"
    title = "Invalid policy document"


class PolicyVersionConflict(Conflict):
    code = "policy_version_conflict"
    title = "Policy version already exists with other content"


class PolicyNameReserved(Conflict):
    code = "policy_name_reserved"
    title = "Policy name is built in"


class PolicyTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    title = "Policy document too large"


class PolicyMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"
