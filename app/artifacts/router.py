"""HTTP routes of artifacts and signing keys."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, PlainTextResponse
from sqlalchemy.orm import Session

from app.artifacts import service
from app.artifacts.exceptions import SigningKeyNotFound
from app.artifacts.schemas import ArtifactRead, SigningKeyList, SigningKeyRead
from app.artifacts.signing import ALGORITHM, Signer
from app.db import get_session
from app.errors import Problem

router = APIRouter(tags=["artifacts"])

SessionDep = Annotated[Session, Depends(get_session)]


class DataFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


@router.get("/artifacts/{artifact_id}", response_model=ArtifactRead, name="get_artifact")
def get_artifact(artifact_id: str, session: SessionDep) -> ArtifactRead:
    """The artifact's signed manifest (save it as MANIFEST.json for `pwsim verify`)."""
    a = service.get_artifact(session=session, artifact_id=artifact_id)
    return ArtifactRead(
        id=a.id,
        job_id=a.job_id,
        dataset_id=a.dataset_id,
        status=a.status,
        sha256=a.sha256,
        size_bytes=a.size_bytes,
        rows=a.rows,
        created_at=a.created_at,
        manifest=a.manifest,
        signature=a.signature,
        signature_algorithm=ALGORITHM,
        key_id=a.key_id,
    )


@router.get(
    "/artifacts/{artifact_id}/data",
    name="download_artifact_data",
    response_class=FileResponse,
    responses={
        200: {"content": {t: {} for t in service.FORMATS.values()}, "description": "The synthetic table."},
        403: {"model": Problem, "description": "Rejected by its validation gates (code release_rejected)."},
    },
)
def download_artifact_data(
    artifact_id: str, request: Request, session: SessionDep, format: DataFormat = DataFormat.csv
) -> FileResponse:
    """Stream the synthetic table as CSV or Parquet (403 release_rejected if its gates refused it)."""
    artifact = service.get_artifact(session=session, artifact_id=artifact_id)
    path, entry = service.data_file(settings=request.app.state.settings, artifact=artifact, fmt=format.value)
    return FileResponse(
        path,
        media_type=service.FORMATS[format.value],
        filename=f"pwsim-{artifact.id}.{format.value}",
        headers={"ETag": f'"{entry["sha256"]}"', "X-Content-SHA256": entry["sha256"]},
    )


def _signer(request: Request) -> Signer:
    return request.app.state.signer


@router.get("/signing-keys", response_model=SigningKeyList, name="list_signing_keys")
def list_signing_keys(signer: Annotated[Signer, Depends(_signer)]) -> SigningKeyList:
    """Public keys that verify artifact signatures, the current one first."""
    return SigningKeyList(
        items=[
            SigningKeyRead(key_id=k.key_id, algorithm=ALGORITHM, public_key_pem=k.public_key_pem, current=k.current)
            for k in signer.public_keys()
        ]
    )


@router.get(
    "/signing-keys/{key_id}.pem",
    name="get_signing_key_pem",
    response_class=PlainTextResponse,
    responses={200: {"content": {"application/x-pem-file": {}}, "description": "PEM public key."}},
)
def get_signing_key_pem(key_id: str, signer: Annotated[Signer, Depends(_signer)]) -> PlainTextResponse:
    """One public key as a PEM file (`current` names the current key), for `pwsim verify --public-key`."""
    key = signer.public_key_for(signer.key_id if key_id == "current" else key_id)
    if key is None:
        raise SigningKeyNotFound(f"no signing key with id {key_id}")
    return PlainTextResponse(key.public_key_pem, media_type="application/x-pem-file")
