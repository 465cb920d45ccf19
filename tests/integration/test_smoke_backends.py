"""The core flow on both databases (parametrised URL): register, job, released, download, verify."""

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
        assert [e["kind"] for e in budget["entries"]] == ["grant", "reserve", "charge"] and budget[
            "chain_valid"
        ]
