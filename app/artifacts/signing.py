"""Ed25519 signing keys: created on first start in the data directory, or loaded from a path.

A key id is the first 16 hex digits of the sha256 of the raw public key, so a verifier can tell
which key signed a manifest, and keys can be rotated: every public key ever used stays in
``keys/public/<key_id>.pem`` and is listed by ``GET /v1/signing-keys``.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.config import Settings

ALGORITHM = "ed25519"
DEFAULT_KEY_FILE = "signing-key.pem"


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verify(public_key: Ed25519PublicKey, signature_b64: str, message: bytes) -> bool:
    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class PublicKeyInfo:
    key_id: str
    public_key_pem: str
    current: bool


class Signer:
    """The current signing key plus every public key kept for verification."""

    def __init__(self, private_key: Ed25519PrivateKey, public_dir: Path) -> None:
        self._private = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)
        self.public_dir = public_dir
        public_dir.mkdir(parents=True, exist_ok=True)
        published = public_dir / f"{self.key_id}.pem"
        if not published.exists():
            published.write_text(public_pem(self.public_key))

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._private.sign(message)).decode()

    def public_keys(self) -> list[PublicKeyInfo]:
        keys = {self.key_id: PublicKeyInfo(self.key_id, public_pem(self.public_key), True)}
        for path in sorted(self.public_dir.glob("*.pem")):
            if path.stem not in keys:
                pem = path.read_text()
                keys[path.stem] = PublicKeyInfo(key_id(load_public_key(pem.encode())), pem, False)
        return list(keys.values())

    def public_key_for(self, wanted: str) -> PublicKeyInfo | None:
        return next((k for k in self.public_keys() if k.key_id == wanted), None)


def load_signer(settings: Settings) -> Signer:
    """Load the configured key, or the data directory's key, creating it on first start."""
    passphrase = settings.signing_key_passphrase.get_secret_value().encode() if settings.signing_key_passphrase else None
    public_dir = settings.keys_dir / "public"
    if settings.signing_key_path is not None:
        return Signer(_load_private(settings.signing_key_path, passphrase), public_dir)
    path = settings.keys_dir / DEFAULT_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        try:  # link() is atomic and refuses to overwrite: when two processes start together, one key wins
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return Signer(_load_private(path, passphrase), public_dir)


def _load_private(path: Path, passphrase: bytes | None) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key
