"""Alembic on real PostgreSQL: upgrade, downgrade, upgrade; models match migrations; file naming."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import app.models  # noqa: F401
from app.db import Base, migrations_config, upgrade_database

pytestmark = pytest.mark.postgres

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def test_upgrade_downgrade_upgrade(empty_pg_url):
    cfg = migrations_config(empty_pg_url)
    command.upgrade(cfg, "head")
    engine = create_engine(empty_pg_url)
    tables = set(inspect(engine).get_table_names())
    assert {"dataset", "dataset_schema_version", "budget", "ledger_entry", "job", "artifact"} <= tables
    assert {"policy_version", "validation_report"} <= tables
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert set(inspect(engine).get_table_names()) == tables
    engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_models_match_migrations(backend, pg_url, tmp_path):
    url = pg_url if backend == "postgresql" else f"sqlite:///{tmp_path / 'x.db'}"
    if backend == "sqlite":
        upgrade_database(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_constraint_names_follow_convention(pg_url):
    engine = create_engine(pg_url)
    insp = inspect(engine)
    for table in ("ledger_entry", "job", "budget"):
        for uq in insp.get_unique_constraints(table):
            assert uq["name"].startswith(f"uq_{table}_"), uq
        for fk in insp.get_foreign_keys(table):
            assert fk["name"].startswith(f"fk_{table}_"), fk
        assert insp.get_pk_constraint(table)["name"] == f"pk_{table}"
    engine.dispose()


def test_revision_files_are_named_by_date():
    files = sorted(p.name for p in VERSIONS.glob("*.py") if p.name != "__init__.py")
    assert files
    for name in files:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_[0-9a-z]+_[0-9a-z_]+\.py", name), name


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_job_modes_migrate_to_booleans_and_back(backend, request, tmp_path):
    """0004 turns the old engine-handling `mode` values into booleans (and the downgrade back)."""
    from sqlalchemy import text

    url = request.getfixturevalue("empty_pg_url") if backend == "postgresql" else f"sqlite:///{tmp_path / 'm.db'}"
    cfg = migrations_config(url)
    command.upgrade(cfg, "0003")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO dataset (id, name, status, format, size_bytes, sha256, rows, current_schema_version,"
                " created_at) VALUES ('d', 'd', 'active', 'csv', 1, :sha, 1, 1, CURRENT_TIMESTAMP)"
            ),
            {"sha": "0" * 64},
        )
        for job_id, mode in (("a", "standard"), ("b", "non_dp"), ("c", "trust_inferred_domain")):
            conn.execute(
                text(
                    "INSERT INTO job (id, dataset_id, schema_version, engine, epsilon, delta, rho, rows, mode,"
                    " status, progress, noise_drawn, cancel_requested, attempts, timings, created_at)"
                    " VALUES (:id, 'd', 1, 'pwsim', 1, 1e-9, 0.01, 10, :mode, 'released', 100, :f, :f, 1, '{}',"
                    " CURRENT_TIMESTAMP)"
                ),
                {"id": job_id, "mode": mode, "f": False},
            )
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, mode, allow_non_dp, trust_inferred_domain FROM job ORDER BY id")).all()
    assert [(r[0], r[1], bool(r[2]), bool(r[3])) for r in rows] == [
        ("a", "dev-only", False, False),
        ("b", "dev-only", True, False),
        ("c", "dev-only", False, True),
    ]
    command.downgrade(cfg, "0003")
    with engine.connect() as conn:
        modes = conn.execute(text("SELECT id, mode FROM job ORDER BY id")).all()
    assert [tuple(r) for r in modes] == [("a", "standard"), ("b", "non_dp"), ("c", "trust_inferred_domain")]
    engine.dispose()
