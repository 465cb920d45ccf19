"""Datasets over HTTP: uploads, schemas, versions, pagination, deletion, and every bad input."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.factories import SMALL_CSV, create_dataset, small_schema, snapshot, staged_uploads, upload


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"].endswith(code) and body["title"] and body["detail"] and body["instance"]
    return body


def test_upload_with_inferred_schema(client):
    body = create_dataset(client)
    assert body["status"] == "active" and body["format"] == "csv"
    assert body["rows"] == 60 and body["size_bytes"] == len(SMALL_CSV)
    import hashlib

    assert body["sha256"] == hashlib.sha256(SMALL_CSV).hexdigest()
    assert [c["name"] for c in body["columns"]] == ["age", "color", "score"]
    assert body["schema_source"] == "inferred" and body["schema_version"] == 1
    assert {c["sensitivity"] for c in body["columns"]} <= {
        "quasi_identifier",
        "ordinary",
        "special_category",
        "direct_identifier",
    }
    assert body["budget"]["total"]["epsilon"] == pytest.approx(3.0)
    assert body["budget"]["remaining"]["rho"] == body["budget"]["total"]["rho"] > 0
    assert body["budget"]["chain_valid"] is True


def test_upload_with_declared_schema_and_parquet(client):
    table = pa.table({"age": [30, 40, 50], "color": ["red", "blue", "red"], "score": [1, 2, 3]})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    body = create_dataset(client, content=buf.getvalue(), filename="t.parquet", schema=small_schema(), delta=1e-6)
    assert body["format"] == "parquet" and body["rows"] == 3
    assert body["schema_source"] == "declared"
    assert body["budget"]["delta"] == 1e-6
    assert all(c["domain_source"] == "declared" for c in body["columns"])


def test_list_paginates_and_get(client):
    ids = [create_dataset(client, name=f"d{i}")["id"] for i in range(3)]
    page = client.get("/v1/datasets", params={"limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["limit"] == 2
    rest = client.get("/v1/datasets", params={"limit": 2, "offset": 2}).json()
    assert {d["id"] for d in page["items"] + rest["items"]} == set(ids)
    assert client.get(f"/v1/datasets/{ids[0]}").json()["id"] == ids[0]


def test_schema_versions(client, embedded_settings):
    ds = create_dataset(client)
    doc = small_schema()
    doc["columns"][1]["sensitivity"] = "special_category"
    doc["columns"][1]["special_category"] = "health"
    response = client.put(f"/v1/datasets/{ds['id']}/schema", json=doc)
    assert response.status_code == 200, response.text
    assert response.json()["schema_version"] == 2 and response.json()["schema_source"] == "declared"
    versions = client.get(f"/v1/datasets/{ds['id']}/schemas").json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert [v["source"] for v in versions] == ["inferred", "declared"]


def test_delete_purges_data_keeps_ledger(client, embedded_settings):
    ds = create_dataset(client)
    source_dir = embedded_settings.data_dir / "sources" / ds["id"]
    assert source_dir.exists()
    response = client.delete(f"/v1/datasets/{ds['id']}")
    assert response.status_code == 200 and response.json()["status"] == "deleted"
    assert not source_dir.exists()
    after = client.get(f"/v1/datasets/{ds['id']}").json()
    assert after["status"] == "deleted" and after["sha256"] == ds["sha256"]
    budget = client.get(f"/v1/datasets/{ds['id']}/budget").json()
    assert [e["kind"] for e in budget["entries"]] == ["grant"] and budget["chain_valid"]
    versions = client.get(f"/v1/datasets/{ds['id']}/schemas").json()["items"]
    assert all("domain" not in c for v in versions for c in v["document"]["columns"]), "inferred domains purged"
    assert client.get("/v1/datasets").json()["total"] == 0
    assert client.get("/v1/datasets", params={"include_deleted": True}).json()["total"] == 1
    # a job on a deleted dataset is refused
    assert_problem(client.post("/v1/jobs", json={"dataset_id": ds["id"], "epsilon": 0.5}), 410, "dataset_deleted")
    assert_problem(client.put(f"/v1/datasets/{ds['id']}/schema", json=small_schema()), 410, "dataset_deleted")


BAD_UPLOADS = [
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image.png", id="not-csv-or-parquet"),
    pytest.param(b"PK\x03\x04" + b"\x00" * 64, "book.xlsx", id="spreadsheet"),
    pytest.param(b"", "empty.csv", id="empty"),
    pytest.param(b"a,b,c\n", "header.csv", id="header-only"),
    pytest.param(b"a,b,a\n1,2,3\n", "dupes.csv", id="duplicate-columns"),
    pytest.param(b"a,,c\n1,2,3\n", "blank.csv", id="empty-column-name"),
    pytest.param(b"a,b,c\n1,2,3\n4,5\n", "ragged.csv", id="ragged-rows"),
]


@pytest.mark.parametrize(("content", "filename"), BAD_UPLOADS)
def test_bad_files_are_rejected_and_nothing_changes(client, embedded_settings, content, filename):
    create_dataset(client)
    before = snapshot(embedded_settings)
    body = assert_problem(upload(client, content=content, filename=filename), 422, "invalid_data")
    assert body["detail"]
    assert snapshot(embedded_settings) == before
    assert staged_uploads(embedded_settings) == []


def test_too_large_is_rejected_while_streaming(tmp_path, sqlite_template):
    import shutil

    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "d", max_upload_bytes=1000)
    settings.data_dir.mkdir()
    shutil.copy(sqlite_template, settings.data_dir / "pwsim.db")
    with TestClient(create_app(settings)) as client:
        before = snapshot(settings)
        big = b"a,b\n" + b"1,2\n" * 5000
        # a chunked body without Content-Length: the limit must be enforced on the stream itself
        boundary = "xyzBOUNDARY"

        def body():
            yield f'--{boundary}\r\nContent-Disposition: form-data; name="epsilon"\r\n\r\n1\r\n'.encode()
            yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.csv"\r\n\r\n'.encode()
            for i in range(0, len(big), 512):
                yield big[i : i + 512]
            yield f"\r\n--{boundary}--\r\n".encode()

        response = client.post(
            "/v1/datasets",
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        assert_problem(response, 413, "payload_too_large")
        assert_problem(upload(client, content=big), 413, "payload_too_large")  # with Content-Length
        assert snapshot(settings) == before
        assert staged_uploads(settings) == []
        assert upload(client, content=b"a,b\n1,2\n").status_code == 201


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        pytest.param(
            {"schema": {"format_version": 1, "columns": [{"name": "age", "type": "integer"}]}},
            422,
            "schema_mismatch",
            id="schema-misses-columns",
        ),
        pytest.param({"schema": "{not json"}, 422, "invalid_schema", id="schema-not-json"),
        pytest.param(
            {"schema": {"columns": [{"name": "age", "type": "blob"}]}},
            422,
            "invalid_schema",
            id="schema-invalid",
        ),
        pytest.param({"epsilon": 0}, 422, "invalid_budget", id="epsilon-zero"),
        pytest.param({"epsilon": -1}, 422, "invalid_budget", id="epsilon-negative"),
        pytest.param({"delta": 1}, 422, "invalid_budget", id="delta-one"),
        pytest.param({"delta": 0}, 422, "invalid_budget", id="delta-zero"),
        pytest.param({"epsilon": None}, 422, "invalid_upload", id="epsilon-missing"),
        pytest.param({"epsilon": "abc"}, 422, "invalid_upload", id="epsilon-not-a-number"),
    ],
)
def test_bad_upload_parameters(client, embedded_settings, kwargs, status, code):
    create_dataset(client)
    before = snapshot(embedded_settings)
    assert_problem(upload(client, **kwargs), status, code)
    assert snapshot(embedded_settings) == before
    assert staged_uploads(embedded_settings) == []


def test_not_multipart(client, embedded_settings):
    before = snapshot(embedded_settings)
    assert_problem(client.post("/v1/datasets", json={"file": "a,b\n1,2\n"}), 415, "unsupported_media_type")
    assert_problem(
        client.post("/v1/datasets", files={"other": ("x.csv", b"a\n1\n")}, data={"epsilon": "1"}),
        422,
        "invalid_upload",
    )
    assert snapshot(embedded_settings) == before


def test_schema_update_errors_leave_version(client, embedded_settings):
    ds = create_dataset(client)
    before = snapshot(embedded_settings)
    wrong = small_schema()
    wrong["columns"][0]["name"] = "years"
    assert_problem(client.put(f"/v1/datasets/{ds['id']}/schema", json=wrong), 422, "schema_mismatch")
    assert_problem(client.put(f"/v1/datasets/{ds['id']}/schema", json={"columns": []}), 422, "invalid_schema")
    assert snapshot(embedded_settings) == before
    assert client.get(f"/v1/datasets/{ds['id']}").json()["schema_version"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/datasets/nope"),
        ("delete", "/v1/datasets/nope"),
        ("get", "/v1/datasets/nope/budget"),
        ("get", "/v1/datasets/nope/schemas"),
    ],
)
def test_unknown_dataset(client, embedded_settings, method, path):
    before = snapshot(embedded_settings)
    assert_problem(getattr(client, method)(path), 404, "dataset_not_found")
    assert_problem(client.put("/v1/datasets/nope/schema", json=small_schema()), 404, "dataset_not_found")
    assert snapshot(embedded_settings) == before


def test_pagination_bounds(client):
    body = assert_problem(client.get("/v1/datasets", params={"limit": 0}), 422, "validation_error")
    assert body["errors"][0]["loc"] == ["query", "limit"]
    json.dumps(body)


def test_sqlite_ledger_is_append_only(client, embedded_settings):
    import sqlite3

    create_dataset(client)
    conn = sqlite3.connect(embedded_settings.data_dir / "pwsim.db")
    try:
        for statement in ("UPDATE ledger_entry SET rho = 0", "DELETE FROM ledger_entry"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
    finally:
        conn.close()
