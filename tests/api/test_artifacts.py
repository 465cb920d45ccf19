"""Artifacts over HTTP: manifest, signature, streamed downloads, keys, and offline verification."""

from __future__ import annotations

import hashlib
import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from app.cli import main as cli
from tests.api.test_datasets import assert_problem
from tests.factories import create_dataset, small_schema, snapshot, wait_for_job


@pytest.fixture
def released(client):
    ds = create_dataset(client, schema=small_schema())
    job = client.post("/v1/jobs", json={"dataset_id": ds["id"], "epsilon": 1, "rows": 30, "seed": 3}).json()
    done = wait_for_job(client, job["id"])
    assert done["status"] == "released", done["error"]
    return client.get(f"/v1/artifacts/{done['artifact_id']}").json()


def test_manifest_fields(released):
    m = released["manifest"]
    for key in (
        "sha256",
        "size_bytes",
        "rows",
        "dataset_sha256",
        "schema_version",
        "engine",
        "parameters",
        "seed",
        "privacy",
        "allocation",
        "created_at",
        "key_id",
    ):
        assert key in m, key
    assert m["engine"]["name"] and m["engine"]["version"]
    assert set(m["privacy"]["charged"]) == {"rho", "epsilon", "delta"}
    assert m["parameters"]["seed"] == 3 == m["seed"]
    assert released["key_id"] == m["key_id"] and released["signature_algorithm"] == "ed25519"


def test_downloads_match_manifest(client, released):
    m = released["manifest"]
    csv = client.get(f"/v1/artifacts/{released['id']}/data")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert hashlib.sha256(csv.content).hexdigest() == m["sha256"] == m["files"]["csv"]["sha256"]
    parquet = client.get(f"/v1/artifacts/{released['id']}/data", params={"format": "parquet"})
    assert hashlib.sha256(parquet.content).hexdigest() == m["files"]["parquet"]["sha256"]
    frame = pd.read_parquet(io.BytesIO(parquet.content))
    assert list(frame.columns) == ["age", "color", "score"] and len(frame) == 30


def test_verify_cli(client, released, tmp_path):
    data = tmp_path / "data.csv"
    data.write_bytes(client.get(f"/v1/artifacts/{released['id']}/data").content)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(released))
    key = tmp_path / "key.pem"
    key.write_text(client.get(f"/v1/signing-keys/{released['key_id']}.pem").text)
    runner = CliRunner()
    ok = runner.invoke(cli, ["verify", str(data), str(manifest), "--public-key", str(key)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["verified"] is True

    tampered = tmp_path / "tampered.csv"
    tampered.write_bytes(data.read_bytes().replace(b"\n", b"\n ", 1))
    bad = runner.invoke(cli, ["verify", str(tampered), str(manifest), "--public-key", str(key)])
    assert bad.exit_code == 1 and "matches none" in bad.output

    edited = json.loads(manifest.read_text())
    edited["manifest"]["rows"] += 1
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(edited))
    bad = runner.invoke(cli, ["verify", str(data), str(forged), "--public-key", str(key)])
    assert bad.exit_code == 1 and "signature does not verify" in bad.output

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = tmp_path / "other.pem"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    bad = runner.invoke(cli, ["verify", str(data), str(manifest), "--public-key", str(other)])
    assert bad.exit_code == 1 and "key id mismatch" in bad.output


def test_signing_keys(client, released):
    keys = client.get("/v1/signing-keys").json()["items"]
    assert [k["current"] for k in keys] == [True]
    assert keys[0]["key_id"] == released["key_id"] and keys[0]["algorithm"] == "ed25519"
    assert "BEGIN PUBLIC KEY" in keys[0]["public_key_pem"]
    assert client.get("/v1/signing-keys/current.pem").text == keys[0]["public_key_pem"]


def test_key_persists_and_rotates(embedded_settings):
    from app.artifacts.signing import load_signer

    first = load_signer(embedded_settings)
    assert load_signer(embedded_settings).key_id == first.key_id
    (embedded_settings.keys_dir / "signing-key.pem").rename(embedded_settings.keys_dir / "retired.pem")
    rotated = load_signer(embedded_settings)
    assert rotated.key_id != first.key_id
    assert {k.key_id: k.current for k in rotated.public_keys()} == {rotated.key_id: True, first.key_id: False}


def test_configured_key_path(embedded_settings, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.artifacts.signing import key_id, load_signer
    from tests.conftest import make_settings

    key = Ed25519PrivateKey.generate()
    path = tmp_path / "configured.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"s3cret-pass"),
        )
    )
    settings = make_settings(embedded_settings.data_dir, signing_key_path=path, signing_key_passphrase="s3cret-pass")
    assert load_signer(settings).key_id == key_id(key.public_key())


def test_artifact_errors(client, embedded_settings, released):
    before = snapshot(embedded_settings)
    assert_problem(client.get("/v1/artifacts/nope"), 404, "artifact_not_found")
    assert_problem(client.get("/v1/artifacts/nope/data"), 404, "artifact_not_found")
    assert_problem(client.get(f"/v1/artifacts/{released['id']}/data", params={"format": "xlsx"}), 422, "validation_error")
    assert_problem(client.get("/v1/signing-keys/0000000000000000.pem"), 404, "signing_key_not_found")
    assert snapshot(embedded_settings) == before
