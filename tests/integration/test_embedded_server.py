"""Embedded mode through real HTTP: `pwsim serve` started the way the README says, in a fresh folder
(data under ./pwsim-data, migrations on start, in-process jobs), driven with httpx; then `pwsim verify`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.factories import ADULT_SCHEMA, wait_for_job

PWSIM = [str(Path(sys.executable).with_name("pwsim"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PWSIM_")}
    env.update(extra)
    return env


@pytest.fixture
def server(tmp_path):
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [*PWSIM, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=clean_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "serve.log").read_text())
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.slow
def test_embedded_core_flow_over_http(server, tmp_path, adult_csv):
    with httpx.Client(base_url=server, timeout=120) as client:
        with adult_csv.open("rb") as fh:
            response = client.post(
                "/v1/datasets",
                data={"name": "adult", "epsilon": "3", "schema": ADULT_SCHEMA.read_text()},
                files={"file": ("adult.csv", fh, "text/csv")},
            )
        assert response.status_code == 201, response.text
        dataset = response.json()
        assert dataset["rows"] == 48842 and dataset["schema_source"] == "declared"
        job = client.post("/v1/jobs", json={"dataset_id": dataset["id"], "epsilon": 1, "seed": 11})
        assert job.status_code == 202 and job.headers["location"].startswith("/v1/jobs/")
        done = wait_for_job(client, job.json()["id"], timeout=300)
        assert done["status"] == "released", done["error"]
        assert done["rows"] is None  # no rows asked: the engine samples a DP estimate of the fitted rows
        fitted = done["holdout"]["rows"]["train"]
        released = client.get(f"/v1/artifacts/{done['artifact_id']}").json()["manifest"]["rows"]
        assert released != fitted and abs(released - fitted) < 0.01 * fitted

        manifest = tmp_path / "manifest.json"
        manifest.write_text(client.get(f"/v1/artifacts/{done['artifact_id']}").text)
        key = tmp_path / "key.pem"
        key.write_text(client.get("/v1/signing-keys/current.pem").text)
        for fmt in ("csv", "parquet"):
            data = tmp_path / f"synthetic.{fmt}"
            with client.stream("GET", f"/v1/artifacts/{done['artifact_id']}/data", params={"format": fmt}) as r:
                assert r.status_code == 200
                with data.open("wb") as out:
                    for chunk in r.iter_bytes():
                        out.write(chunk)
            ok = subprocess.run(
                [*PWSIM, "verify", str(data), str(manifest), "--public-key", str(key)],
                check=False,
                capture_output=True,
                text=True,
                env=clean_env(),
            )
            assert ok.returncode == 0, ok.stderr
        data.write_bytes(data.read_bytes() + b"\n")
        bad = subprocess.run(
            [*PWSIM, "verify", str(data), str(manifest), "--public-key", str(key)],
            check=False,
            capture_output=True,
            text=True,
            env=clean_env(),
        )
        assert bad.returncode == 1 and "FAILED" in bad.stderr

    # the README's default: everything under ./pwsim-data of the folder it was started in
    data_dir = tmp_path / "pwsim-data"
    assert (data_dir / "pwsim.db").exists() and (data_dir / "keys" / "signing-key.pem").exists()
    assert any((data_dir / "artifacts").rglob("*.csv"))


@pytest.mark.slow
def test_quickstart_script(server, tmp_path):
    """examples/quickstart.sh, exactly as the README shows it, against the running embedded server."""
    repo = Path(__file__).resolve().parents[2]
    env = clean_env(PWSIM_URL=server, OUT=str(tmp_path), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    result = subprocess.run(
        ["bash", str(repo / "examples" / "quickstart.sh")],
        check=False,
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"verified": true' in result.stdout
    assert (tmp_path / "synthetic.csv").exists() and (tmp_path / "manifest.json").exists()
    assert "RELEASED" in (tmp_path / "report.html").read_text()
