"""A real Celery worker process (`pwsim worker`) on the real Redis and PostgreSQL.

Each run uses its own Redis database number and queue name, and a fresh PostgreSQL database, so
runs never see each other's messages or rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.artifacts.manifest import verify_files
from app.db import make_engine, upgrade_database
from app.jobs.models import Job
from app.main import create_app
from tests.conftest import create_pg_database, drop_pg_database, make_settings
from tests.factories import ADULT_SCHEMA, create_dataset, small_schema, wait_for_job

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

PWSIM = str(Path(sys.executable).with_name("pwsim"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_url):
    """Settings shared by the API (in this process) and the worker processes."""
    url = create_pg_database()
    upgrade_database(url)
    data_dir = tmp_path_factory.mktemp("celery") / "data"
    settings = make_settings(
        data_dir,
        database_url=url,
        broker_url=redis_url,
        celery_queue=f"pwsim-test-{uuid.uuid4().hex[:8]}",
        job_lease_seconds=4,
        heartbeat_seconds=1,
        reaper_interval_seconds=1,
    )
    yield settings
    drop_pg_database(url)


class Worker:
    def __init__(self, settings, log: Path, *, beat: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PWSIM_")}
        env.update(
            PWSIM_DATABASE_URL=settings.database_url,
            PWSIM_BROKER_URL=settings.broker_url,
            PWSIM_CELERY_QUEUE=settings.celery_queue,
            PWSIM_DATA_DIR=str(settings.data_dir),
            PWSIM_JOB_LEASE_SECONDS=str(settings.job_lease_seconds),
            PWSIM_HEARTBEAT_SECONDS=str(settings.heartbeat_seconds),
            PWSIM_REAPER_INTERVAL_SECONDS=str(settings.reaper_interval_seconds),
        )
        self.log = log
        self._fh = log.open("ab")
        # its own session (process group), so the test can kill the worker and its pool child by id
        self.proc = subprocess.Popen(
            [
                PWSIM,
                "worker",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *(["--beat"] if beat else []),
            ],
            env=env,
            cwd=log.parent,  # celery beat keeps its schedule file in the working directory
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while b"ready." not in log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(log.read_text())
            time.sleep(0.3)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._fh.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._fh.close()


@pytest.fixture
def worker(stack, tmp_path):
    w = Worker(stack, tmp_path / "worker.log")
    yield w
    w.stop()


@pytest.fixture
def client(stack):
    with TestClient(create_app(stack)) as test_client:
        yield test_client


def test_ready_checks_broker(client):
    assert client.get("/readyz").json()["checks"] == {"database": "ok", "broker": "ok"}


def test_job_runs_on_celery_worker(client, worker, tmp_path):
    ds = create_dataset(client, schema=small_schema())
    job = client.post("/v1/jobs", json={"dataset_id": ds["id"], "epsilon": 1, "rows": 30, "seed": 2})
    assert job.status_code == 202
    done = wait_for_job(client, job.json()["id"], timeout=120)
    assert done["status"] == "released", (done["error"], worker.log.read_text()[-3000:])
    artifact = client.get(f"/v1/artifacts/{done['artifact_id']}").json()
    data = tmp_path / "out.csv"
    data.write_bytes(client.get(f"/v1/artifacts/{artifact['id']}/data").content)
    assert verify_files(data, artifact, client.get("/v1/signing-keys/current.pem").content) == []
    assert done["budget"]["charged"] == pytest.approx(done["rho"])
    assert done["verdict"]["passed"] and client.get(f"/v1/jobs/{done['id']}/report").status_code == 200

    # the worker applies the job's policy too: an impossible gate rejects, the report names it
    impossible = {
        "name": "impossible",
        "version": 1,
        "extends": "dev-only",
        "gates": [{"id": "tvd-below-zero", "metric": "columns.tvd_max", "comparison": "<", "threshold": 0}],
    }
    assert client.post("/v1/policies", json=impossible).status_code == 201
    job = client.post("/v1/jobs", json={"dataset_id": ds["id"], "epsilon": 0.5, "rows": 30, "seed": 3, "policy": "impossible"})
    rejected = wait_for_job(client, job.json()["id"], timeout=120)
    assert rejected["status"] == "rejected", (rejected["error"], worker.log.read_text()[-3000:])
    assert rejected["verdict"]["failed_gates"] == ["tvd-below-zero"]
    assert rejected["budget"]["charged"] == pytest.approx(rejected["rho"])
    assert client.get(f"/v1/artifacts/{rejected['artifact_id']}/data").status_code == 403
    assert client.get(f"/v1/datasets/{ds['id']}/current-release").json()["job_id"] == done["id"]


def test_queued_job_survives_worker_death(client, stack, tmp_path):
    first = Worker(stack, tmp_path / "w1.log")
    first.kill()  # no worker now: the message waits in Redis
    ds = create_dataset(client, schema=small_schema())
    job = client.post("/v1/jobs", json={"dataset_id": ds["id"], "epsilon": 0.5, "rows": 20, "seed": 4}).json()
    time.sleep(1)
    assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "queued"
    second = Worker(stack, tmp_path / "w2.log")
    try:
        assert wait_for_job(client, job["id"], timeout=120)["status"] == "released"
    finally:
        second.stop()


def test_worker_killed_mid_job_is_reaped(client, stack, tmp_path, adult_csv):
    ds = create_dataset(
        client,
        content=adult_csv.read_bytes(),
        filename="adult.csv",
        schema=ADULT_SCHEMA.read_text(),
        epsilon=4,
    )
    victim = Worker(stack, tmp_path / "victim.log")
    job = client.post("/v1/jobs", json={"dataset_id": ds["id"], "epsilon": 1, "rows": 1_000_000, "seed": 1}).json()
    running = wait_for_job(client, job["id"], statuses=("running", "validating", "released", "failed"), timeout=120)
    assert running["status"] == "running", running
    time.sleep(1.5)  # into the engine run (the big sample is drawn after the noise)
    victim.kill()
    # the API's reaper sees the lease lapse; nothing leaves the job "running" forever
    rescuer = Worker(stack, tmp_path / "rescuer.log")
    try:
        done = wait_for_job(client, job["id"], timeout=180)
    finally:
        rescuer.stop()
    budget = done["budget"]
    if done["status"] == "failed":  # noise had been drawn: the privacy cost stays paid
        assert done["error"]["code"] == "worker_lost"
        assert budget["charged"] == pytest.approx(done["rho"]) and budget["released"] is None
    else:  # killed before any noise: re-queued and run again, then released by its gates (an honest DP release)
        assert done["status"] == "released", (done["error"], done["verdict"])
        assert done["attempts"] >= 2
        assert budget["charged"] == pytest.approx(done["rho"])
    ledger = client.get(f"/v1/datasets/{ds['id']}/budget").json()
    assert ledger["chain_valid"] and ledger["reserved"]["rho"] == 0
    assert len([e for e in ledger["entries"] if e["job_id"] == job["id"] and e["kind"] in ("charge", "release")]) == 1


def test_beat_reaper_settles_a_killed_workers_job_without_the_api(stack, tmp_path, adult_csv):
    """`pwsim worker --beat` reaps on its own: with no API process (and so no API reaper thread), a
    job whose worker was killed is still re-queued and run again, or failed and charged."""
    with TestClient(create_app(stack)) as client:
        ds = create_dataset(
            client, content=adult_csv.read_bytes(), filename="adult.csv", schema=ADULT_SCHEMA.read_text(), epsilon=4
        )
        victim = Worker(stack, tmp_path / "victim.log")
        job = client.post("/v1/jobs", json={"dataset_id": ds["id"], "epsilon": 1, "rows": 1_000_000, "seed": 1}).json()
        running = wait_for_job(client, job["id"], statuses=("running", "validating", "released", "failed"), timeout=120)
        assert running["status"] == "running", running
    # the API has shut down, its reaper thread with it
    time.sleep(1.5)
    victim.kill()
    engine = make_engine(stack.sqlalchemy_url)
    rescuer = Worker(stack, tmp_path / "rescuer.log", beat=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            with engine.connect() as conn:
                status, attempts, error_code = conn.execute(
                    select(Job.status, Job.attempts, Job.error_code).where(Job.id == job["id"])
                ).one()
            if status in ("released", "rejected", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        rescuer.stop()
        engine.dispose()
    log = rescuer.log.read_text()
    assert "reaper: job " + job["id"] in log, log[-3000:]
    if status == "failed":  # noise had been drawn: failed and charged
        assert error_code == "worker_lost"
    else:  # killed before any noise: re-queued by beat and run again by the same worker
        assert status == "released" and attempts >= 2, (status, attempts, log[-3000:])
    with TestClient(create_app(stack)) as client:
        ledger = client.get(f"/v1/datasets/{ds['id']}/budget").json()
    assert ledger["chain_valid"] and ledger["reserved"]["rho"] == 0
    assert len([e for e in ledger["entries"] if e["job_id"] == job["id"] and e["kind"] == "charge"]) == 1
