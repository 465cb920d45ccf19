"""Canonical JSON: the exact bytes that hashes (ledger chain) and signatures (manifests) cover."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(doc: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, no NaN/Infinity: one byte string per document."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
