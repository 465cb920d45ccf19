"""Policies as code over HTTP: built-ins listed, uploads validated against the published JSON Schema,
versions immutable, and every bad document a problem+json with a stable code that changes nothing."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import yaml

from tests.api.test_datasets import assert_problem
from tests.factories import create_dataset, small_schema, snapshot, wait_for_job

BUILTINS = {"churn", "default", "dev-only", "hybrid-split", "personalization", "production-substitute"}
# every built-in name@version and the digest it always resolves to (tests/unit/validation/test_policy_versions.py)
BUILTIN_DIGESTS = json.loads(resources.files("app.validation.policies").joinpath("digests.json").read_text("utf-8"))

STRICT_YAML = """\
# a stricter dev-only: the joint distribution must be close too
format_version: 1
name: team-strict
version: 1
description: dev-only plus a blocking Cramér's V gate
extends: dev-only@2
gates:
  - {metric: joint.cramers_v_diff_max, comparison: "<=", threshold: 0.15, blocking: true}
"""


def post_yaml(client, text: str, content_type: str = "application/yaml"):
    return client.post("/v1/policies", content=text.encode(), headers={"Content-Type": content_type})


def test_builtins_are_listed_with_their_resolved_form(client):
    items = {p["name"]: p for p in client.get("/v1/policies").json()["items"]}
    assert BUILTINS <= set(items)
    assert all(items[n]["builtin"] and items[n]["versions"] == [1, 2] and items[n]["latest"]["version"] == 2 for n in BUILTINS)
    dev = client.get("/v1/policies/dev-only").json()
    assert dev["builtin"] and [v["reference"] for v in dev["items"]] == ["dev-only@1", "dev-only@2"]
    two = client.get("/v1/policies/dev-only/2").json()
    assert two["mode"] == "dev-only" and two["lineage"] == ["dev-only@2", "default@2"]
    assert two["digest"] == BUILTIN_DIGESTS["dev-only@2"] and two["document"]["extends"] == "default@2"
    assert "extends" not in two["resolved"] and len(two["resolved"]["gates"]) > len(two["document"]["gates"])
    assert items["dev-only"]["latest"] == two == dev["items"][1]
    assert_problem(client.get("/v1/policies/dev-only/3"), 404, "policy_not_found")
    assert_problem(client.get("/v1/policies/nope"), 404, "policy_not_found")
    assert_problem(client.get("/v1/policies/nope/1"), 404, "policy_not_found")


def test_archived_builtin_versions_stay_resolvable(client):
    """A built-in version never changes: dev-only@1 is still the point-estimate policy jobs recorded before."""
    one = client.get("/v1/policies/dev-only/1").json()
    assert one["reference"] == "dev-only@1" and one["builtin"] and one["lineage"] == ["dev-only@1", "default@1"]
    assert one["digest"] == BUILTIN_DIGESTS["dev-only@1"] != BUILTIN_DIGESTS["dev-only@2"]
    assert one["document"]["version"] == 1 and one["document"]["extends"] == "default@1"
    assert not any("basis" in g for g in one["resolved"]["gates"])  # v1 judged point estimates
    two = client.get("/v1/policies/dev-only/2").json()
    assert {g["id"]: g.get("basis") for g in two["resolved"]["gates"]}["membership.auc"] == "ci_bound"
    for reference, digest in BUILTIN_DIGESTS.items():
        name, _, version = reference.partition("@")
        assert client.get(f"/v1/policies/{name}/{version}").json()["digest"] == digest, reference

    # an upload may extend an archived built-in; a built-in's name stays reserved
    old_base = post_yaml(client, STRICT_YAML.replace("team-strict", "team-old").replace("dev-only@2", "dev-only@1"))
    assert old_base.status_code == 201, old_base.text
    assert old_base.json()["lineage"] == ["team-old@1", "dev-only@1", "default@1"]
    assert_problem(client.post("/v1/policies", json={"name": "dev-only", "version": 3}), 409, "policy_name_reserved")
    assert_problem(client.post("/v1/policies", json={"name": "default", "version": 1}), 409, "policy_name_reserved")


def test_a_job_naming_an_archived_builtin_is_judged_by_it(client):
    dataset = create_dataset(client, epsilon=5.0, schema=small_schema())
    v1 = client.get("/v1/policies/default/1").json()
    body = {"dataset_id": dataset["id"], "epsilon": 0.5, "seed": 7, "rows": 40}
    created = client.post("/v1/jobs", json={**body, "policy": "default@1"})
    assert created.status_code == 202, created.text
    expected = {"name": "default", "version": 1, "digest": BUILTIN_DIGESTS["default@1"]}
    assert created.json()["policy"] == expected
    done = wait_for_job(client, created.json()["id"])
    assert done["policy"] == expected and done["status"] in ("released", "rejected"), done["error"]
    report = client.get(f"/v1/jobs/{done['id']}/report").json()
    assert report["policy"]["digest"] == v1["digest"] and report["policy"]["lineage"] == ["default@1"]
    applied = [(g["id"], g["threshold"], g["blocking"], g["description"]) for g in report["gates"]]
    assert applied == [(g["id"], g["threshold"], g["blocking"], g.get("description", "")) for g in v1["resolved"]["gates"]]
    # v1's point-estimate attack gates, not v2's confidence-bound ones
    auc = {g["id"]: g for g in report["gates"]}["membership.auc"]
    assert auc["description"] == "density-ratio membership-inference attack AUC"

    # no policy named: the mode's newest built-in
    plain = client.post("/v1/jobs", json={**body, "seed": 8})
    assert plain.status_code == 202, plain.text
    assert plain.json()["policy"] == {"name": "dev-only", "version": 2, "digest": BUILTIN_DIGESTS["dev-only@2"]}
    assert_problem(client.post("/v1/jobs", json={**body, "policy": "default@7"}), 404, "policy_not_found")
    wait_for_job(client, plain.json()["id"])


def test_published_json_schema_and_openapi(client):
    schema = client.get("/v1/policy-schema").json()
    assert schema["$schema"].endswith("2020-12/schema") and "gate" in schema["$defs"]
    spec = client.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    assert {"PolicyDocument", "PolicyGate", "PolicyBusiness", "PolicyRead", "ReportRead"} <= set(components)
    assert components["PolicyDocument"]["properties"]["gates"]["items"] == {"$ref": "#/components/schemas/PolicyGate"}
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {
        "create_policy",
        "list_policies",
        "list_policy_versions",
        "get_policy_version",
        "get_policy_schema",
        "get_job_report",
        "get_job_report_html",
        "get_current_release",
    } <= ops


def test_upload_is_immutable_per_version(client, embedded_settings):
    created = post_yaml(client, STRICT_YAML)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == "/v1/policies/team-strict/1"
    assert body["reference"] == "team-strict@1" and not body["builtin"]
    assert body["mode"] == "dev-only" and body["lineage"] == ["team-strict@1", "dev-only@2", "default@2"]
    assert body["document"]["extends"] == "dev-only@2"
    assert any(g["id"] == "joint.cramers_v_diff_max" and g["blocking"] for g in body["resolved"]["gates"])

    # the same document again, as YAML or as JSON: the same version, not a new one
    again = post_yaml(client, STRICT_YAML)
    assert again.status_code == 200 and again.json()["digest"] == body["digest"]
    as_json = client.post("/v1/policies", json=yaml.safe_load(STRICT_YAML))
    assert as_json.status_code == 200 and as_json.json()["digest"] == body["digest"]

    # other content under the same name and version: refused, nothing stored
    before = snapshot(embedded_settings)
    conflict = assert_problem(post_yaml(client, STRICT_YAML.replace("0.15", "0.1")), 409, "policy_version_conflict")
    assert conflict["digest"] == body["digest"]
    assert snapshot(embedded_settings) == before

    # a new version is a new row; the name's latest is the highest version
    v2 = post_yaml(client, STRICT_YAML.replace("\nversion: 1", "\nversion: 2").replace("0.15", "0.1"))
    assert v2.status_code == 201 and v2.json()["digest"] != body["digest"]
    versions = client.get("/v1/policies/team-strict").json()
    assert [v["version"] for v in versions["items"]] == [1, 2] and not versions["builtin"]
    assert client.get("/v1/policies/team-strict/1").json()["digest"] == body["digest"]
    listed = {p["name"]: p for p in client.get("/v1/policies").json()["items"]}
    assert listed["team-strict"]["versions"] == [1, 2] and listed["team-strict"]["latest"]["version"] == 2


def test_an_upload_extending_an_upload_is_pinned_when_stored(client):
    assert post_yaml(client, STRICT_YAML).status_code == 201
    child = {"name": "child", "version": 1, "extends": "team-strict", "gates": []}
    first = client.post("/v1/policies", json=child).json()
    assert first["lineage"][:2] == ["child@1", "team-strict@1"]
    # a newer base does not change what child@1 means
    assert post_yaml(client, STRICT_YAML.replace("\nversion: 1", "\nversion: 2").replace("0.15", "0.05")).status_code == 201
    assert client.get("/v1/policies/child/1").json()["digest"] == first["digest"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "detail"),
    [
        pytest.param("name: [unclosed", "application/yaml", 422, "invalid_policy", "YAML", id="not-yaml"),
        pytest.param("- just\n- a list\n", "application/yaml", 422, "invalid_policy", "mapping", id="not-a-mapping"),
        pytest.param('{"name": "x", "gates": []}', "application/json", 422, "invalid_policy", "version", id="no-version"),
        pytest.param(
            json.dumps({"name": "x", "version": 1, "gates": [{"metric": "utility.nope", "comparison": "<", "threshold": 1}]}),
            "application/json",
            422,
            "invalid_policy",
            "unknown metric",
            id="unknown-metric",
        ),
        pytest.param(
            json.dumps(
                {"name": "x", "version": 1, "gates": [{"metric": "columns.ks_max", "comparison": "<", "threshold": "low"}]}
            ),
            "application/json",
            422,
            "invalid_policy",
            "gates/0/threshold",
            id="threshold-not-a-number",
        ),
        pytest.param(
            json.dumps({"name": "x", "version": 1, "gates": [{"metric": "columns.ks_max", "comparison": "~", "threshold": 1}]}),
            "application/json",
            422,
            "invalid_policy",
            "gates/0/comparison",
            id="bad-comparison",
        ),
        pytest.param(
            json.dumps({"name": "x", "version": 1, "extends": "no-such-base"}),
            "application/json",
            422,
            "invalid_policy",
            "no-such-base",
            id="unknown-base",
        ),
        pytest.param(
            json.dumps({"name": "x", "version": 1, "colour": "red"}),
            "application/json",
            422,
            "invalid_policy",
            "colour",
            id="unknown-key",
        ),
        pytest.param(
            json.dumps({"name": "Bad Name", "version": 1}), "application/json", 422, "invalid_policy", "name", id="bad-name"
        ),
        pytest.param(
            "name: x\nversion: 1\ndescription: &a hi\nuse_case: *a\n",
            "application/yaml",
            422,
            "invalid_policy",
            "alias",
            id="yaml-alias",
        ),
        pytest.param(
            json.dumps({"name": "default", "version": 2}),
            "application/json",
            409,
            "policy_name_reserved",
            "built-in",
            id="builtin-name",
        ),
        pytest.param("name: x\nversion: 1\n", "text/csv", 415, "unsupported_media_type", "yaml", id="media-type"),
        pytest.param(
            "name: x\nversion: 1\ndescription: " + "x" * 300_000 + "\n",
            "application/yaml",
            413,
            "payload_too_large",
            "bytes",
            id="too-large",
        ),
    ],
)
def test_bad_documents_are_refused_and_change_nothing(client, embedded_settings, body, content_type, status, code, detail):
    before = snapshot(embedded_settings)
    problem = assert_problem(post_yaml(client, body, content_type), status, code)
    assert detail.lower() in problem["detail"].lower(), problem["detail"]
    assert snapshot(embedded_settings) == before
