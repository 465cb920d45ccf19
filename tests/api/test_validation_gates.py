"""Validation gates end to end over HTTP (embedded mode): holdout split before synthesis, the
verdict stored as a report, released vs rejected artifacts, the dataset's current release, the
deployment modes and the policy a job records."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest

from app.validation import holdout_split
from tests.api.test_datasets import assert_problem
from tests.factories import ADULT_SCHEMA, adult_sample, create_dataset, small_schema, snapshot, wait_for_job

# Gates that no release can pass (a total variation distance is never negative): a policy that
# rejects deterministically, whatever the data and the seed.
IMPOSSIBLE = {
    "name": "impossible",
    "version": 1,
    "description": "dev-only plus a gate no release passes",
    "extends": "dev-only",
    "gates": [{"id": "tvd-below-zero", "metric": "columns.tvd_max", "comparison": "<", "threshold": 0, "blocking": True}],
}
# dev-only with the utility delta priced: one point of ROC AUC is worth 25,000 EUR, and an advisory
# utility gate on the lower bound of its paired-bootstrap interval (basis: ci_bound)
UTILITY_CI = {
    "id": "utility.tstr_degradation.ci_bound",
    "metric": "utility.tstr_degradation",
    "comparison": "<",
    "threshold": 0.25,
    "blocking": False,
    "basis": "ci_bound",
}
PRICED = {
    "name": "dev-only-priced",
    "version": 1,
    "extends": "dev-only@2",
    "gates": [UTILITY_CI],
    "business": {
        "baseline": "utility.trtr_auc",
        "metric": "utility.tstr_auc",
        "value_per_point": 25000,
        "unit": "EUR",
        "label": "campaign revenue",
    },
}
# Adult's first 2,000 rows, 500 synthetic rows, this seed: a release dev-only passes. On 2,000
# rows the privacy attacks are noisy and some seeds fail a gate by chance (see the README).
ADULT_SEED = 0


@pytest.fixture
def small(client):
    return create_dataset(client, epsilon=5.0, schema=small_schema())


@pytest.fixture
def adult(client, tmp_path, adult_csv):
    sample = adult_sample(adult_csv, 2000, tmp_path / "adult.csv")
    return create_dataset(client, content=sample.read_bytes(), filename="adult.csv", schema=ADULT_SCHEMA.read_text())


def run(client, dataset, **body):
    response = client.post("/v1/jobs", json={"dataset_id": dataset["id"], "epsilon": 0.5, "seed": 7, **body})
    assert response.status_code == 202, response.text
    return wait_for_job(client, response.json()["id"])


def test_passing_job_is_released_with_its_report(client, adult, adult_csv):
    assert client.post("/v1/policies", json=PRICED).status_code == 201
    policy = client.get("/v1/policies/dev-only-priced/1").json()
    done = run(client, adult, epsilon=1, rows=500, seed=ADULT_SEED, policy="dev-only-priced")
    assert done["status"] == "released", (done["error"], done["verdict"])
    assert done["mode"] == "dev-only" and done["policy"] == {
        "name": "dev-only-priced",
        "version": 1,
        "digest": policy["digest"],
    }
    assert done["verdict"]["passed"] and done["verdict"]["decision"] == "release" and done["verdict"]["failed_gates"] == []
    assert {"split_s", "engine_s", "validate_s", "store_s", "total_s"} <= set(done["timings"])

    # the holdout: stratified on the declared target, recorded by the hash of row positions only
    holdout = done["holdout"]
    assert holdout["method"] == "stratified" and holdout["stratify"] == "income" and holdout["seed"] == ADULT_SEED
    assert holdout["rows"] == {"train": 1600, "holdout": 400}
    source = pd.read_csv(adult_csv, nrows=2000, dtype=str, keep_default_na=False)
    expected = holdout_split(source[["income"]], fraction=0.2, seed=ADULT_SEED, stratify="income")
    assert holdout["holdout_index_sha256"] == expected.lineage["holdout_index_sha256"]
    positions = np.sort(expected.holdout.index.to_numpy()).astype("<i8")
    assert holdout["holdout_index_sha256"] == hashlib.sha256(positions.tobytes()).hexdigest()

    # the signed manifest names the policy, the verdict and the split
    manifest = client.get(f"/v1/artifacts/{done['artifact_id']}").json()["manifest"]
    assert manifest["status"] == "released" and manifest["manifest_version"] == 2
    assert manifest["validation"]["policy"]["digest"] == policy["digest"]
    assert manifest["validation"]["verdict"]["decision"] == "release"
    assert manifest["lineage"]["holdout"]["holdout_index_sha256"] == holdout["holdout_index_sha256"]
    assert client.get(f"/v1/artifacts/{done['artifact_id']}/data").status_code == 200

    # the report: every gate with its value, threshold and outcome; timings; business terms
    report = client.get(f"/v1/jobs/{done['id']}/report").json()
    assert report["passed"] and report["job_status"] == "released" and report["policy"]["digest"] == policy["digest"]
    assert report["rows"] == {"train": 1600, "holdout": 400, "synthetic": 500}
    gates = {g["id"]: g for g in report["gates"]}
    assert len(gates) == len(policy["resolved"]["gates"])
    tstr = gates["utility.tstr_degradation"]
    assert tstr["value"] is not None and tstr["threshold"] == 0.25 and tstr["status"] in ("pass", "fail")
    # every gate says what it compared: the estimate, or a bound of the interval it reports with it
    assert tstr["basis"] == "estimate" and tstr["estimate"] == tstr["value"] and tstr["interval"] is None
    utility = report["metrics"]["utility"]["values"]
    low, high = utility["tstr_degradation_low"], utility["tstr_degradation_high"]
    ci = gates["utility.tstr_degradation.ci_bound"]
    assert ci["basis"] == "ci_bound" and ci["value"] == low and ci["interval"] == [low, high]
    assert ci["estimate"] == utility["tstr_degradation"] and low <= ci["estimate"] <= high
    for gate in report["gates"]:
        assert (gate["interval"] is None) == (gate["basis"] == "estimate"), gate
    assert all(g["status"] in ("pass", "skipped") for g in report["gates"] if g["blocking"])
    assert report["timings"]["gates"]["total"] > 0 and report["timings"]["job"]["validate_s"] > 0
    business = report["business"]
    trtr, tstr_auc = report["metrics"]["utility"]["values"]["trtr_auc"], report["metrics"]["utility"]["values"]["tstr_auc"]
    assert business["points_lost"] == pytest.approx((trtr - tstr_auc) / 0.01)
    assert business["value_lost"] == pytest.approx(business["points_lost"] * 25000)
    assert "not differentially private" in report["notice"]

    page = client.get(f"/v1/jobs/{done['id']}/report.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for text in (
        "RELEASED",
        "utility.tstr_degradation",
        "In business terms",
        "Privacy-weight allocation",
        "not differentially private",
    ):
        assert text in html, text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the page must be self-contained"

    current = client.get(f"/v1/datasets/{adult['id']}/current-release").json()
    assert current["job_id"] == done["id"] and current["artifact_id"] == done["artifact_id"]
    assert current["policy"]["digest"] == policy["digest"] and current["verdict"]["passed"]


def test_failing_job_is_rejected_and_its_data_never_served(client, small, embedded_settings):
    assert_problem(client.get(f"/v1/datasets/{small['id']}/current-release"), 404, "no_release")
    first = run(client, small, rows=40)
    assert first["status"] == "released", (first["error"], first["verdict"])
    assert first["policy"]["name"] == "dev-only"  # the default mode's policy
    assert client.get(f"/v1/datasets/{small['id']}/current-release").json()["job_id"] == first["id"]

    assert client.post("/v1/policies", json=IMPOSSIBLE).status_code == 201
    rejected = run(client, small, rows=40, seed=9, policy="impossible@1")
    assert rejected["status"] == "rejected"
    assert rejected["error"]["code"] == "gate_failed" and "tvd-below-zero" in rejected["error"]["message"]
    assert rejected["verdict"]["failed_gates"] == ["tvd-below-zero"] and rejected["verdict"]["decision"] == "reject"
    assert rejected["progress"] == 100

    # the budget stays charged: the noise was drawn
    assert rejected["budget"]["charged"] == pytest.approx(rejected["rho"]) and rejected["budget"]["released"] is None
    budget = client.get(f"/v1/datasets/{small['id']}/budget").json()
    assert budget["charged"]["rho"] == pytest.approx(first["rho"] + rejected["rho"]) and budget["chain_valid"]
    assert [e["kind"] for e in budget["entries"]] == ["grant", "reserve", "charge", "reserve", "charge"]

    # the artifact is a signed manifest only: its data was never stored and is never served
    artifact = client.get(f"/v1/artifacts/{rejected['artifact_id']}").json()
    assert artifact["status"] == "rejected" and artifact["manifest"]["status"] == "rejected"
    assert artifact["manifest"]["validation"]["verdict"]["failed_gates"] == ["tvd-below-zero"]
    assert artifact["manifest"]["files"] == {}
    stored = {p.name.split(".")[0] for p in embedded_settings.artifacts_dir.rglob("*.*")}
    assert artifact["sha256"] not in stored
    for fmt in ("csv", "parquet"):
        problem = assert_problem(
            client.get(f"/v1/artifacts/{rejected['artifact_id']}/data", params={"format": fmt}), 403, "release_rejected"
        )
        assert problem["failed_gates"] == ["tvd-below-zero"] and problem["job_id"] == rejected["id"]

    # offline verification refuses it even with some data file in hand
    from app.artifacts.manifest import verify_files

    other = embedded_settings.data_dir / "any.csv"
    other.write_bytes(client.get(f"/v1/artifacts/{first['artifact_id']}/data").content)
    problems = verify_files(other, artifact, client.get("/v1/signing-keys/current.pem").content)
    assert any("rejected release" in p for p in problems)

    # the report is kept and names the failed gate
    report = client.get(f"/v1/jobs/{rejected['id']}/report").json()
    assert report["decision"] == "reject" and report["failed_gates"] == ["tvd-below-zero"]
    gate = next(g for g in report["gates"] if g["id"] == "tvd-below-zero")
    assert gate["status"] == "fail" and gate["value"] > 0 and gate["threshold"] == 0
    assert "REJECTED" in client.get(f"/v1/jobs/{rejected['id']}/report.html").text

    # the current release did not move
    current = client.get(f"/v1/datasets/{small['id']}/current-release").json()
    assert current["job_id"] == first["id"]

    # and it moves forward to the next job that passes
    second = run(client, small, rows=30, seed=8)
    assert second["status"] == "released"
    assert client.get(f"/v1/datasets/{small['id']}/current-release").json()["job_id"] == second["id"]


def test_tiny_tables_skip_the_attacks_rather_than_guess(client, small):
    done = run(client, small, rows=40)
    report = client.get(f"/v1/jobs/{done['id']}/report").json()
    skipped = {g["id"]: g["reason"] for g in report["gates"] if g["status"] == "skipped"}
    assert "membership.auc" in skipped and "at least 50 holdout rows" in skipped["membership.auc"]
    assert report["rows"]["holdout"] == 12


def test_report_is_404_before_the_gates_ran(client, embedded_settings):
    from app.db import make_engine, make_session_factory, session_scope
    from tests.factories import make_dataset, make_job

    engine = make_engine(embedded_settings.sqlalchemy_url)
    with session_scope(make_session_factory(engine)) as session:
        job_id = make_job(session, make_dataset(session), status="running").id
    engine.dispose()
    for suffix in ("report", "report.html"):
        problem = assert_problem(client.get(f"/v1/jobs/{job_id}/{suffix}"), 404, "report_not_found")
        assert problem["job_status"] == "running" and "running" in problem["detail"]
        assert_problem(client.get(f"/v1/jobs/nope/{suffix}"), 404, "job_not_found")
    assert_problem(client.get("/v1/datasets/nope/current-release"), 404, "dataset_not_found")


def test_production_substitute_runs_dp_engines_only(client, small, embedded_settings):
    before = snapshot(embedded_settings)
    body = {"dataset_id": small["id"], "epsilon": 0.5, "rows": 20, "mode": "production-substitute"}
    for engine in ("gaussian_copula", "ctgan"):
        problem = assert_problem(
            client.post("/v1/jobs", json={**body, "engine": engine, "allow_non_dp": True}), 422, "engine_not_dp"
        )
        assert "production-substitute" in problem["detail"]
    # its jobs need a policy written for it
    for policy in ("dev-only", "default"):
        assert_problem(client.post("/v1/jobs", json={**body, "policy": policy}), 422, "policy_mode_mismatch")
    assert snapshot(embedded_settings) == before

    # the DP engine runs; with every gate blocking and missing metrics failing, a table without a
    # declared target cannot prove its utility: rejected, naming the gate
    done = run(client, small, rows=20, mode="production-substitute")
    assert done["status"] == "rejected" and done["policy"]["name"] == "production-substitute"
    assert "utility.tstr_degradation" in done["verdict"]["failed_gates"]


def test_hybrid_split_replicates_the_rare_class(client, adult):
    done = run(client, adult, epsilon=1, rows=300, mode="hybrid-split", rare_class=">50K")
    assert done["status"] in ("released", "rejected"), done["error"]
    assert done["policy"]["name"] == "hybrid-split" and done["rare_class"] == ">50K"
    report = client.get(f"/v1/jobs/{done['id']}/report").json()
    gates = {g["id"]: g for g in report["gates"]}
    assert gates["hybrid.recall_lift"]["blocking"] and gates["hybrid.recall_lift"]["value"] is not None
    assert gates["hybrid.auc_change"]["value"] is not None
    details = report["metrics"]["hybrid"]["details"]
    assert details["rare_class"] == ">50K" and details["replicates"] == 300  # every synthetic row is rare-class
    income = report["metrics"]["columns"]["details"]["histograms"]["income"]
    assert income["synthetic"][income["labels"].index(">50K")] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        pytest.param({"mode": "hybrid-split"}, 422, "invalid_rare_class", id="hybrid-without-target"),
        pytest.param({"rare_class": "red"}, 422, "invalid_rare_class", id="rare-class-outside-hybrid"),
        pytest.param(
            {"mode": "hybrid-split", "engine": "gaussian_copula", "allow_non_dp": True},
            422,
            "mode_not_supported",
            id="hybrid-non-dp",
        ),
        pytest.param({"mode": "staging"}, 422, "validation_error", id="unknown-mode"),
        pytest.param({"policy": "no-such-policy"}, 404, "policy_not_found", id="unknown-policy"),
        pytest.param({"policy": "dev-only@7"}, 404, "policy_not_found", id="unknown-version"),
        pytest.param({"policy": "Not A Ref"}, 422, "validation_error", id="bad-reference"),
        pytest.param({"policy": "hybrid-split"}, 422, "policy_mode_mismatch", id="policy-for-another-mode"),
        pytest.param({"validation_roles": {"treatment": "nope"}}, 422, "invalid_validation_roles", id="unknown-role-column"),
        pytest.param({"validation_roles": {"colour": "x"}}, 422, "validation_error", id="unknown-role"),
    ],
)
def test_bad_validation_requests_change_nothing(client, small, embedded_settings, overrides, status, code):
    before = snapshot(embedded_settings)
    body = {"dataset_id": small["id"], "epsilon": 0.5, "rows": 20, **overrides}
    assert_problem(client.post("/v1/jobs", json=body), status, code)
    assert snapshot(embedded_settings) == before


def test_hybrid_rare_class_must_be_a_target_class(client, adult, embedded_settings):
    before = snapshot(embedded_settings)
    body = {"dataset_id": adult["id"], "epsilon": 0.5, "rows": 20, "mode": "hybrid-split"}
    assert "rare_class" in assert_problem(client.post("/v1/jobs", json=body), 422, "invalid_rare_class")["detail"]
    problem = assert_problem(client.post("/v1/jobs", json={**body, "rare_class": "rich"}), 422, "invalid_rare_class")
    assert ">50K" in problem["detail"]
    assert snapshot(embedded_settings) == before


def test_a_name_without_version_records_the_latest(client, small):
    assert client.post("/v1/policies", json=IMPOSSIBLE).status_code == 201
    lenient = {**IMPOSSIBLE, "version": 2, "gates": [], "description": "v2 drops the impossible gate"}
    v2 = client.post("/v1/policies", json=lenient).json()
    job = client.post(
        "/v1/jobs", json={"dataset_id": small["id"], "epsilon": 0.5, "rows": 20, "seed": 7, "policy": "impossible"}
    ).json()
    assert job["policy"] == {"name": "impossible", "version": 2, "digest": v2["digest"]}
    assert wait_for_job(client, job["id"])["status"] == "released"
