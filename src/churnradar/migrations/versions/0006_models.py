"""churn models and customer model scores

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
    )


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "churn_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("train_from", sa.Date(), nullable=False),
        sa.Column("train_to", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("inactivity_days", sa.Integer(), nullable=False),
        sa.Column("features", _json(), nullable=False),
        sa.Column("metrics", _json(), nullable=False),
        sa.Column("booster", sa.Text(), nullable=False),
        sa.Column("calibrator", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_churn_models")),
        sa.UniqueConstraint("version", name=op.f("uq_churn_models_version")),
    )
    with op.batch_alter_table("churn_models", schema=None) as batch_op:
        batch_op.create_index(
            "uq_churn_models_active",
            ["active"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )
    op.create_table(
        "customer_scores",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("churn_probability", sa.Float(), nullable=False),
        sa.Column("reasons_en", sa.Text(), nullable=True),
        sa.Column("reasons_zh", sa.Text(), nullable=True),
        sa.Column("contributions", _json(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_scores_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_scores")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("customer_scores")
    with op.batch_alter_table("churn_models", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_churn_models_active", sqlite_where=sa.text("active"), postgresql_where=sa.text("active")
        )
    op.drop_table("churn_models")
