"""behaviour history leaves the store: events and indicator values now live in the lake (churnradar.lake)

`churnradar init` moves the rows of a 0009 store into the lake first (lake.upgrade), then runs this
revision, which refuses to drop a table that still holds rows. A downgrade recreates the empty tables; the
history stays in the lake.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    bind = op.get_bind()
    for name in ("events", "indicator_values"):
        left = bind.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one()  # noqa: S608 (our names)
        if left:
            raise RuntimeError(
                f"the store's {name} table still holds {left} rows: run `churnradar init`, which moves them "
                "into the lake before this migration"
            )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_kind_ts")
        batch_op.drop_index("ix_events_customer_id_ts")
    op.drop_table("events")
    op.drop_table("indicator_values")


def downgrade() -> None:
    """Revert this revision (empty tables: the history stays in the lake)."""
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Double(), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("quantity", sa.Double(), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_events_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["import_runs.id"],
            name=op.f("fk_events_import_id_import_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("kind", "event_key", name=op.f("uq_events_kind_event_key")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_customer_id_ts", ["customer_id", "ts"], unique=False)
        batch_op.create_index("ix_events_kind_ts", ["kind", "ts"], unique=False)
    op.create_table(
        "indicator_values",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_indicator_values_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("as_of", "indicator", "customer_id", name=op.f("pk_indicator_values")),
        sqlite_with_rowid=False,
    )
