"""Store released data content-addressed (sha256) and sign its manifest."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.artifacts.exceptions import ArtifactDataGone, ArtifactNotFound, ReleaseRejected
from app.artifacts.manifest import MANIFEST_VERSION, file_digest, jsonable, signed_bytes
from app.artifacts.models import Artifact
from app.artifacts.signing import ALGORITHM, Signer
from app.config import Settings
from app.db import utcnow
from app.db_types import new_id
from app.engine import io as engine_io

FORMATS = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


def _store(settings: Settings, frame: pd.DataFrame, fmt: str) -> dict[str, Any]:
    """Write ``frame`` once and keep it under its own sha256 (identical outputs share a file)."""
    tmp_dir = settings.artifacts_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = engine_io.write_table(frame, tmp_dir / f"{uuid.uuid4().hex}.{fmt}")
    size, digest = file_digest(tmp)
    relative = Path("artifacts") / digest[:2] / f"{digest}.{fmt}"
    target = settings.data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        tmp.unlink()
    else:
        shutil.move(tmp, target)
    return {"sha256": digest, "size_bytes": size, "path": str(relative)}


def _digest_only(settings: Settings, frame: pd.DataFrame) -> dict[str, Any]:
    """sha256 and size of the CSV ``frame`` would be, without keeping it (a rejected release)."""
    tmp_dir = settings.artifacts_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = engine_io.write_table(frame, tmp_dir / f"{uuid.uuid4().hex}.csv")
    try:
        size, digest = file_digest(tmp)
    finally:
        tmp.unlink(missing_ok=True)
    return {"sha256": digest, "size_bytes": size}


def create_artifact(
    *,
    session: Session,
    settings: Settings,
    signer: Signer,
    job_id: str,
    dataset_id: str,
    dataset_sha256: str,
    schema_version: int,
    parameters: dict[str, Any],
    charged: dict[str, float],
    result: Any,
    validation: dict[str, Any] | None = None,
    lineage: dict[str, Any] | None = None,
    status: str = "released",
) -> Artifact:
    """Build and sign the manifest and add the row; store the table as CSV and Parquet if released.

    A ``rejected`` artifact keeps only its signed manifest (with the digest of the data it
    describes, for the audit trail): the data itself is never written, so it can never be served.
    """
    frame: pd.DataFrame = result.data
    if status == "released":
        files = {fmt: _store(settings, frame, fmt) for fmt in FORMATS}
        main = files["csv"]
    else:
        files, main = {}, _digest_only(settings, frame)
    artifact_id = new_id()
    created_at = utcnow()
    manifest = jsonable(
        {
            "manifest_version": MANIFEST_VERSION,
            "artifact_id": artifact_id,
            "status": status,
            "job_id": job_id,
            "dataset_id": dataset_id,
            "sha256": main["sha256"],
            "size_bytes": main["size_bytes"],
            "format": "csv",
            "rows": len(frame),
            "columns": [str(c) for c in frame.columns],
            "files": {fmt: {"sha256": f["sha256"], "size_bytes": f["size_bytes"]} for fmt, f in files.items()},
            "dataset_sha256": dataset_sha256,
            "schema_version": schema_version,
            "engine": {"name": result.engine, "version": result.engine_version, "dp": result.dp},
            "parameters": parameters,
            "seed": parameters.get("seed"),
            "privacy": {
                "charged": charged,
                "engine_spent": {"rho": result.rho, "epsilon": result.epsilon, "delta": result.delta},
                "phases": result.phases,
            },
            "allocation": result.allocation,
            "validation": validation,
            "lineage": lineage,
            "warnings": list(result.warnings),
            "created_at": created_at.isoformat(timespec="microseconds"),
            "key_id": signer.key_id,
            "signature_algorithm": ALGORITHM,
        }
    )
    artifact = Artifact(
        id=artifact_id,
        job_id=job_id,
        dataset_id=dataset_id,
        status=status,
        sha256=main["sha256"],
        size_bytes=main["size_bytes"],
        rows=len(frame),
        files=files,
        manifest=manifest,
        signature=signer.sign(signed_bytes(manifest)),
        key_id=signer.key_id,
        created_at=created_at,
    )
    session.add(artifact)
    session.flush()
    return artifact


def get_artifact(*, session: Session, artifact_id: str) -> Artifact:
    artifact = session.get(Artifact, artifact_id)
    if artifact is None:
        raise ArtifactNotFound(f"no artifact with id {artifact_id}")
    return artifact


def artifact_for_job(*, session: Session, job_id: str) -> Artifact | None:
    return session.scalars(select(Artifact).where(Artifact.job_id == job_id)).one_or_none()


def data_file(*, settings: Settings, artifact: Artifact, fmt: str) -> tuple[Path, dict[str, Any]]:
    """The stored file of a released artifact; ReleaseRejected for one its gates refused."""
    if artifact.status == "rejected":
        failed = ((artifact.manifest.get("validation") or {}).get("verdict") or {}).get("failed_gates") or []
        raise ReleaseRejected(
            f"artifact {artifact.id} was rejected by its validation gates"
            + (f" ({', '.join(failed)})" if failed else "")
            + "; its data is never downloadable. See the job's report.",
            job_id=artifact.job_id,
            failed_gates=failed,
        )
    entry = artifact.files[fmt]
    path = settings.data_dir / entry["path"]
    if not path.exists():
        raise ArtifactDataGone(f"the {fmt} data of artifact {artifact.id} is no longer stored")
    return path, entry
