"""Outbox and projection state: what the projector delivers, and what it has applied.

Revision ID: 0002_outbox
Revises: 0001_baseline
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_outbox"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("outbox_events_due", "outbox_events", ["status", "next_attempt_at", "id"])
    op.create_index("outbox_events_entity", "outbox_events", ["entity_type", "entity_id", "version"])
    op.create_table(
        "projection_state",
        sa.Column("projection", sa.String(32), primary_key=True),
        sa.Column("entity_type", sa.String(64), primary_key=True),
        sa.Column("entity_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("projection_state")
    op.drop_index("outbox_events_entity", table_name="outbox_events")
    op.drop_index("outbox_events_due", table_name="outbox_events")
    op.drop_table("outbox_events")
