"""validation gates: policies, reports, rejected artifacts, deployment modes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:33:50.611860+00:00

``job.mode`` used to say how to treat the engine (standard, trust_inferred_domain, non_dp); those
are now the booleans ``trust_inferred_domain`` and ``allow_non_dp``, and ``mode`` is the deployment
mode (dev-only, hybrid-split, production-substitute). Jobs from before ran no gates: they become
dev-only with no policy recorded. The downgrade maps the booleans back.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db_types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_version",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=True),
        sa.Column("use_case", sa.String(length=64), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("resolved", sa.JSON(), nullable=False),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_version")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_policy_version_name_version")),
    )
    with op.batch_alter_table("policy_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_version_name"), ["name"], unique=False)

    op.create_table(
        "validation_report",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("policy_name", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("policy_digest", sa.String(length=64), nullable=False),
        sa.Column("failed_gates", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"], name=op.f("fk_validation_report_dataset_id_dataset")),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_validation_report_job_id_job")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_report")),
        sa.UniqueConstraint("job_id", name=op.f("uq_validation_report_job_id")),
    )
    with op.batch_alter_table("validation_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_validation_report_dataset_id"), ["dataset_id"], unique=False)

    with op.batch_alter_table("artifact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), server_default="released", nullable=False))
        batch_op.create_check_constraint(op.f("ck_artifact_status"), "status IN ('released', 'rejected')")

    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allow_non_dp", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("trust_inferred_domain", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("policy_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("policy_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("policy_snapshot", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("rare_class", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("validation_roles", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("lineage", sa.JSON(), nullable=True))

    job = sa.table(
        "job", sa.column("mode", sa.String), sa.column("allow_non_dp", sa.Boolean), sa.column("trust_inferred_domain", sa.Boolean)
    )
    op.execute(job.update().where(job.c.mode == "non_dp").values(allow_non_dp=True))
    op.execute(job.update().where(job.c.mode == "trust_inferred_domain").values(trust_inferred_domain=True))
    op.execute(job.update().values(mode="dev-only"))


def downgrade() -> None:
    job = sa.table(
        "job", sa.column("mode", sa.String), sa.column("allow_non_dp", sa.Boolean), sa.column("trust_inferred_domain", sa.Boolean)
    )
    op.execute(job.update().values(mode="standard"))
    op.execute(job.update().where(job.c.trust_inferred_domain == sa.true()).values(mode="trust_inferred_domain"))
    op.execute(job.update().where(job.c.allow_non_dp == sa.true()).values(mode="non_dp"))
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("lineage")
        batch_op.drop_column("validation_roles")
        batch_op.drop_column("rare_class")
        batch_op.drop_column("policy_snapshot")
        batch_op.drop_column("policy_digest")
        batch_op.drop_column("policy_version")
        batch_op.drop_column("trust_inferred_domain")
        batch_op.drop_column("allow_non_dp")

    with op.batch_alter_table("artifact", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_artifact_status"), type_="check")
        batch_op.drop_column("status")

    with op.batch_alter_table("validation_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_validation_report_dataset_id"))

    op.drop_table("validation_report")
    with op.batch_alter_table("policy_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_version_name"))

    op.drop_table("policy_version")
