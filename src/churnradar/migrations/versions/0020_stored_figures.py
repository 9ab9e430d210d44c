"""figures computed after each evaluation for the pages that show them (#17 item 11)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
JSON_TYPE = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stored_figures",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("body", JSON_TYPE, nullable=False),
        sa.PrimaryKeyConstraint("name", "as_of", "scope", name=op.f("pk_stored_figures")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("stored_figures")
