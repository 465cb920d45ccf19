"""The core flow on both databases (parametrised URL): register, job, released, download, verify;
and the validation gates: policies, released and rejected jobs, reports, the current release."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.artifacts.manifest import verify_files
from app.main import create_app
from tests.conftest import create_pg_database, drop_pg_database, make_settings
from tests.factories import create_dataset, small_schema, wait_for_job


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(request, tmp_path):
    if request.param == "sqlite":
        yield make_settings(tmp_path / "data", migrate_on_start=True)
        return
    url = create_pg_database()
    yield make_settings(tmp_path / "data", database_url=url, migrate_on_start=True)
    drop_pg_database(url)


def test_core_flow(settings, tmp_path):
    with TestClient(create_app(settings)) as client:
        ds = create_dataset(client, schema=small_schema())
        job = client.post("/v1/jobs", json={"dataset_id": ds["id"], "epsilon": 1, "rows": 25, "seed": 5})
        assert job.status_code == 202
        done = wait_for_job(client, job.json()["id"])
        assert done["status"] == "released", done["error"]
        artifact = client.get(f"/v1/artifacts/{done['artifact_id']}").json()
        data = tmp_path / "out.csv"
        data.write_bytes(client.get(f"/v1/artifacts/{artifact['id']}/data").content)
        pem = client.get("/v1/signing-keys/current.pem").content
        assert verify_files(data, artifact, pem) == []
        budget = client.get(f"/v1/datasets/{ds['id']}/budget").json()
        assert [e["kind"] for e in budget["entries"]] == ["grant", "reserve", "charge"] and budget["chain_valid"]


def test_gates_flow(settings):
    """Policy upload, a released and a rejected job, reports and the current release, on both databases."""
    impossible = {
        "name": "impossible",
        "version": 1,
        "extends": "dev-only",
        "gates": [{"id": "tvd-below-zero", "metric": "columns.tvd_max", "comparison": "<", "threshold": 0}],
    }
    with TestClient(create_app(settings)) as client:
        created = client.post("/v1/policies", json=impossible)
        assert created.status_code == 201, created.text
        conflict = client.post("/v1/policies", json={**impossible, "description": "changed"})
        assert conflict.status_code == 409 and conflict.json()["code"] == "policy_version_conflict"
        ds = create_dataset(client, schema=small_schema())
        assert client.get(f"/v1/datasets/{ds['id']}/current-release").json()["code"] == "no_release"
        body = {"dataset_id": ds["id"], "epsilon": 0.5, "rows": 25}
        released = wait_for_job(client, client.post("/v1/jobs", json={**body, "seed": 1}).json()["id"])
        rejected = wait_for_job(client, client.post("/v1/jobs", json={**body, "seed": 2, "policy": "impossible@1"}).json()["id"])
        assert released["status"] == "released" and released["policy"]["name"] == "dev-only"
        assert rejected["status"] == "rejected" and rejected["verdict"]["failed_gates"] == ["tvd-below-zero"]
        assert rejected["budget"]["charged"] == pytest.approx(rejected["rho"])
        data = client.get(f"/v1/artifacts/{rejected['artifact_id']}/data")
        assert data.status_code == 403 and data.json()["code"] == "release_rejected"
        for job in (released, rejected):
            report = client.get(f"/v1/jobs/{job['id']}/report")
            assert report.status_code == 200 and report.json()["holdout"]["rows"] == {"train": 48, "holdout": 12}
            assert client.get(f"/v1/jobs/{job['id']}/report.html").status_code == 200
        assert client.get(f"/v1/datasets/{ds['id']}/current-release").json()["job_id"] == released["id"]
