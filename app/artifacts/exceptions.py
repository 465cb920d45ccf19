"""Artifact errors a caller can cause."""

from __future__ import annotations

from app.errors import NotFound


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
