"""Health, readiness, metrics, OpenAPI and the error shape."""

from __future__ import annotations

from tests.api.test_datasets import assert_problem


def test_health_and_ready(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready == {"status": "ready", "checks": {"database": "ok", "broker": "in-process"}}


def test_metrics(client):
    client.get("/healthz")
    body = client.get("/metrics").text
    assert "pwsim_http_requests_total" in body and 'route="/healthz"' in body


def test_openapi_is_31_with_stable_operation_ids(client):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {
        "create_dataset",
        "list_datasets",
        "get_dataset",
        "update_dataset_schema",
        "delete_dataset",
        "get_dataset_budget",
        "create_job",
        "get_job",
        "list_jobs",
        "cancel_job",
        "get_artifact",
        "download_artifact_data",
        "list_signing_keys",
        "healthz",
        "readyz",
    } <= ids
    schemas = spec["components"]["schemas"]
    assert {"DatasetRead", "JobCreate", "JobRead", "ArtifactRead", "BudgetRead", "Problem"} <= set(schemas)
    upload = spec["paths"]["/v1/datasets"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload == {"$ref": "#/components/schemas/DatasetUpload"}
    assert {"file", "epsilon"} <= set(schemas["DatasetUpload"]["required"])
    assert client.get("/docs").status_code == 200


def test_unknown_route_and_method_are_problems(client):
    assert_problem(client.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(client.patch("/v1/datasets"), 405, "method_not_allowed")


def test_request_id_echoed(client):
    response = client.get("/v1/jobs/nope", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"


def test_placeholder_secrets_refused_outside_local(tmp_path):
    import pytest
    from pydantic import ValidationError

    from tests.conftest import make_settings

    with pytest.raises(ValidationError, match="placeholder"):
        make_settings(tmp_path, environment="production", database_url="postgresql+psycopg://pwsim:changeme@db/pwsim")
    make_settings(tmp_path, environment="production", database_url="postgresql+psycopg://pwsim:Xk29-long@db/pwsim")


def test_not_ready_when_broker_unreachable(embedded_settings):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_settings

    settings = make_settings(embedded_settings.data_dir, broker_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as client:
        body = assert_problem(client.get("/readyz"), 503, "not_ready")
        assert body["checks"] == {"database": "ok", "broker": "unreachable"}
        assert client.get("/healthz").status_code == 200
