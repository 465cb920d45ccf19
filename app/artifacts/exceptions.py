"""Artifact errors a caller can cause."""

from __future__ import annotations

from app.errors import AppError, NotFound


class ArtifactNotFound(NotFound):
    code = "artifact_not_found"
    title = "Artifact not found"


class ArtifactDataGone(NotFound):
    status_code = 410
    code = "artifact_data_gone"
    title = "Artifact data is no longer stored"


class SigningKeyNotFound(NotFound):
    code = "signing_key_not_found"
    title = "Signing key not found"


class ReleaseRejected(AppError):
    status_code = 403
    code = "release_rejected"
    title = "Release rejected by its validation gates"
