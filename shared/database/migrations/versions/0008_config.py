"""Config service tables: current values per key and scope, every version with its author and
reason, and the change sequence that orders them. Owned by ai_services.config_service.

Revision ID: 0008_config
Revises: 0007_crm
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_config"
down_revision = "0007_crm"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "config_values",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("org_id", sa.String(64), primary_key=True),  # "" for the service-wide value
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "config_versions",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("rolled_back_to", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("author_kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("key", "org_id", "version", name="config_versions_scope_version"),
    )
    op.create_index("config_versions_key_seq", "config_versions", ["key", "seq"])
    sequence = op.create_table(
        "config_sequence",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(sequence, [{"id": 1, "seq": 0}])


def downgrade() -> None:
    for table in ("config_sequence", "config_versions", "config_values"):
        op.drop_table(table)
