"""Artifact and signing-key bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ArtifactRead(BaseModel):
    """The signed manifest. Save this body as MANIFEST.json for ``pwsim verify``."""

    id: str
    job_id: str
    dataset_id: str
    status: Literal["released", "rejected"] = Field(
        description="rejected: the validation gates refused it; only this manifest exists, no data."
    )
    sha256: str
    size_bytes: int
    rows: int
    created_at: datetime
    manifest: dict[str, Any]
    signature: str
    signature_algorithm: str
    key_id: str


class SigningKeyRead(BaseModel):
    key_id: str
    algorithm: str
    public_key_pem: str
    current: bool


class SigningKeyList(BaseModel):
    items: list[SigningKeyRead]
