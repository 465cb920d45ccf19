"""job rows optional: without rows a job samples a DP estimate of the row count

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 18:20:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.alter_column("rows", existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    # before 0005 a job without rows took its dataset's row count
    op.execute("UPDATE job SET rows = (SELECT dataset.rows FROM dataset WHERE dataset.id = job.dataset_id) WHERE rows IS NULL")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.alter_column("rows", existing_type=sa.BigInteger(), nullable=False)
