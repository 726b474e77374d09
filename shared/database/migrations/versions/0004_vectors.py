"""Vector tables: the embedded semantic index.

`vector_collections.revision` is bumped in the same transaction as every upsert and delete, so a
process holding vectors in memory learns with one primary-key read whether they are still current.
To catch up from revision R it fetches the `vector_items` and `vector_deletions` (tombstones)
written after R. Old tombstones are pruned; `pruned_revision` says up to where, and a process
further behind than that reloads instead.

Revision ID: 0004_vectors
Revises: 0003_graph
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_vectors"
down_revision = "0003_graph"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vector_collections",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("filterable", sa.JSON(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("pruned_revision", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "vector_items",
        sa.Column("collection", sa.String(64), sa.ForeignKey("vector_collections.name", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),  # float32 little-endian, unit length
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
    )
    # (collection, org_id) for loading one org; revision last, for catching up from a revision.
    op.create_index("vector_items_org", "vector_items", ["collection", "org_id", "revision"])
    op.create_table(
        "vector_deletions",
        sa.Column("collection", sa.String(64), sa.ForeignKey("vector_collections.name", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("revision", sa.BigInteger(), primary_key=True),
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
    )
    op.create_index("vector_deletions_org", "vector_deletions", ["collection", "org_id", "revision"])


def downgrade() -> None:
    op.drop_index("vector_deletions_org", table_name="vector_deletions")
    op.drop_table("vector_deletions")
    op.drop_index("vector_items_org", table_name="vector_items")
    op.drop_table("vector_items")
    op.drop_table("vector_collections")
