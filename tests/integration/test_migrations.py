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
