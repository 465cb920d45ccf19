"""The signed manifest of an artifact and its offline verification (used by ``pwsim verify``)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from app.artifacts import signing
from app.canonical import canonical_json

MANIFEST_VERSION = 2  # 2: status, validation verdict, holdout lineage


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars become Python numbers, non-finite floats become None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def signed_bytes(manifest: dict[str, Any]) -> bytes:
    """Exactly what the signature covers."""
    return canonical_json(manifest)


def file_digest(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def verify_files(data_file: Path, document: dict[str, Any], public_key_pem: bytes) -> list[str]:
    """Every reason ``data_file`` and ``document`` (a ``GET /v1/artifacts/{id}`` body) fail; [] if valid."""
    problems: list[str] = []
    manifest = document.get("manifest")
    signature = document.get("signature")
    if not isinstance(manifest, dict) or not isinstance(signature, str):
        return ["the manifest file needs 'manifest' (object) and 'signature' (base64 string)"]
    try:
        public_key = signing.load_public_key(public_key_pem)
    except ValueError as exc:
        return [f"public key unusable: {exc}"]
    kid = signing.key_id(public_key)
    for where, claimed in (("document", document.get("key_id")), ("manifest", manifest.get("key_id"))):
        if claimed is not None and claimed != kid:
            problems.append(f"key id mismatch: {where} names {claimed}, the public key is {kid}")
    if not signing.verify(public_key, signature, signed_bytes(manifest)):
        problems.append("signature does not verify: the manifest was altered or signed by another key")
    if manifest.get("status") == "rejected":
        problems.append("the manifest records a rejected release: its validation gates refused this data")
    size, digest = file_digest(data_file)
    files = manifest.get("files") or {}
    matches = [fmt for fmt, f in files.items() if isinstance(f, dict) and f.get("sha256") == digest]
    if not matches:
        problems.append(f"data file sha256 {digest} matches none of the manifest's files")
    elif files[matches[0]].get("size_bytes") != size:
        problems.append(f"data file size {size} differs from the manifest's {files[matches[0]].get('size_bytes')}")
    return problems


def load_document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
