"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-04 16:35:35.337982+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db_types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dataset",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("storage_path", sa.String(length=500), nullable=True),
        sa.Column("current_schema_version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'deleted')", name=op.f("ck_dataset_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset")),
    )
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dataset_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_dataset_status"), ["status"], unique=False)

    op.create_table(
        "budget",
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("rho_total", sa.Float(), nullable=False),
        sa.Column("rho_remaining", sa.Float(), nullable=False),
        sa.Column("created_at", app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rho_remaining <= rho_total", name=op.f("ck_budget_rho_remaining_le_total")),
        sa.CheckConstraint("rho_remaining >= 0", name=op.f("ck_budget_rho_remaining_nonnegative")),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"], name=op.f("fk_budget_dataset_id_dataset")),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_budget")),
    )
    op.create_table(
        "dataset_schema_version",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"], name=op.f("fk_dataset_schema_version_dataset_id_dataset")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_schema_version")),
        sa.UniqueConstraint("dataset_id", "version", name=op.f("uq_dataset_schema_version_dataset_id_version")),
    )
    with op.batch_alter_table("dataset_schema_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dataset_schema_version_dataset_id"), ["dataset_id"], unique=False)

    op.create_table(
        "job",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=64), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("rho", sa.Float(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("policy", sa.String(length=200), nullable=True),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("noise_drawn", sa.Boolean(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=2000), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("result_summary", sa.JSON(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'validating', 'released', 'rejected', 'failed', 'cancelled')",
            name=op.f("ck_job_status"),
        ),
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name=op.f("ck_job_progress_range")),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"], name=op.f("fk_job_dataset_id_dataset")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_job_idempotency_key")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_lease_expires_at"), ["lease_expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_status"), ["status"], unique=False)

    op.create_table(
        "artifact",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"], name=op.f("fk_artifact_dataset_id_dataset")),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_artifact_job_id_job")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifact")),
        sa.UniqueConstraint("job_id", name=op.f("uq_artifact_job_id")),
    )
    with op.batch_alter_table("artifact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artifact_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_artifact_sha256"), ["sha256"], unique=False)

    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rho", sa.Float(), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=True),
        sa.Column("delta", sa.Float(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("kind IN ('grant', 'reserve', 'charge', 'release')", name=op.f("ck_ledger_entry_kind")),
        sa.CheckConstraint("rho >= 0", name=op.f("ck_ledger_entry_rho_nonnegative")),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"], name=op.f("fk_ledger_entry_dataset_id_dataset")),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_ledger_entry_job_id_job")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
        sa.UniqueConstraint("dataset_id", "seq", name=op.f("uq_ledger_entry_dataset_id_seq")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_ledger_entry_entry_hash")),
        sa.UniqueConstraint("job_id", "kind", name=op.f("uq_ledger_entry_job_id_kind")),
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entry_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entry_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entry_job_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_dataset_id"))

    op.drop_table("ledger_entry")
    with op.batch_alter_table("artifact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifact_sha256"))
        batch_op.drop_index(batch_op.f("ix_artifact_dataset_id"))

    op.drop_table("artifact")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_status"))
        batch_op.drop_index(batch_op.f("ix_job_lease_expires_at"))
        batch_op.drop_index(batch_op.f("ix_job_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_job_created_at"))

    op.drop_table("job")
    with op.batch_alter_table("dataset_schema_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_schema_version_dataset_id"))

    op.drop_table("dataset_schema_version")
    op.drop_table("budget")
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_status"))
        batch_op.drop_index(batch_op.f("ix_dataset_sha256"))

    op.drop_table("dataset")
