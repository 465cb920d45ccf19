"""Shared fixtures for the service tests: embedded SQLite apps, throwaway PostgreSQL databases, Redis.

A test that needs PostgreSQL or Redis skips with the reason when the server is unreachable, unless
CI is set: then it fails, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import make_engine, make_session_factory, upgrade_database

PG_ADMIN_URL = os.environ.get("PWSIM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PWSIM_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `tests.factories` importable under --import-mode=importlib
    sys.path.insert(0, str(REPO))
SHARED_DATA = REPO.parent / "shared" / "data"


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def require(name: str, url: str, default_port: int) -> None:
    """Skip (locally) or fail (CI) when a server the test needs is unreachable."""
    if _reachable(url, default_port):
        return
    where = urlsplit(url).netloc
    if os.environ.get("CI"):
        pytest.fail(f"{name} at {where} is unreachable and CI is set: start it (see .ci/run)")
    pytest.skip(f"{name} at {where} is unreachable (in CI this fails instead of skipping)")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test, ignoring any .env file; embedded by default."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "migrate_on_start": False,
        "reaper_interval_seconds": 0.5,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


# --- SQLite (embedded) -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once with Alembic; tests get copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "pwsim.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def embedded_settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    data_dir = tmp_path / "pwsim-data"
    data_dir.mkdir()
    shutil.copy(sqlite_template, data_dir / "pwsim.db")
    return make_settings(data_dir)


@pytest.fixture
def client(embedded_settings: Settings) -> Iterator:
    """An httpx-based TestClient on an embedded app (SQLite, in-process job pool)."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(embedded_settings)) as test_client:
        yield test_client


# --- PostgreSQL -----------------------------------------------------------------------------------


def _admin_engine():
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def create_pg_database() -> str:
    """Create an empty throwaway database (through the `postgres` database); return its URL."""
    require("PostgreSQL", PG_ADMIN_URL, 5432)
    name = f"pwsim_test_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test."""
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database for this run, migrated with `alembic upgrade head`."""
    url = create_pg_database()
    upgrade_database(url)
    yield url
    drop_pg_database(url)


@pytest.fixture
def pg_session(pg_url: str) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back: tests leave nothing behind."""
    engine = make_engine(pg_url)
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()
        engine.dispose()


@pytest.fixture
def pg_factory(pg_url: str) -> Iterator:
    """A session factory on the run's database, for tests that need real commits (concurrency)."""
    engine = make_engine(pg_url)
    yield make_session_factory(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE validation_report, policy_version, ledger_entry, artifact, budget, job,"
                " dataset_schema_version, dataset CASCADE"
            )
        )
    engine.dispose()


# --- Redis ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database number of its own for this run (db 1-15, picked at random)."""
    require("Redis", REDIS_URL, 6379)
    return f"{REDIS_URL.rstrip('/')}/{1 + uuid.uuid4().int % 15}"


@pytest.fixture(scope="session")
def adult_csv() -> Path:
    path = SHARED_DATA / "adult.csv"
    if not path.exists():
        pytest.fail(f"{path} is missing: the shared data folder must sit beside the repository")
    return path
