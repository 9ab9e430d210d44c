"""web indexes: the risk list's sort columns and the customer columns that lists filter and sort by

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("customer_risk", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_risk_churn_probability"), ["churn_probability"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_customer_risk_health_score"), ["health_score"], unique=False)

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_industry"), ["industry"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_segment"), ["segment"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_segment"))
        batch_op.drop_index(batch_op.f("ix_customers_name"))
        batch_op.drop_index(batch_op.f("ix_customers_industry"))

    with op.batch_alter_table("customer_risk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_risk_health_score"))
        batch_op.drop_index(batch_op.f("ix_customer_risk_churn_probability"))
