"""Graph tables: the embedded relationship network.

Node ids are global (the primary key), so a node belongs to exactly one org and an edge, whose
ends must both be in its org, inherits that org. Edges reference their ends with ON DELETE
CASCADE, so no edge can outlive a node even if a writer forgets to delete it first.
`graph_edges`' primary key serves hops from the source; `graph_edges_target` hops from the target.

Revision ID: 0003_graph
Revises: 0002_outbox
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_graph"
down_revision = "0002_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "graph_nodes",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    op.create_index("graph_nodes_label", "graph_nodes", ["label", "org_id"])
    op.create_table(
        "graph_edges",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(128), sa.ForeignKey("graph_nodes.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("type", sa.String(64), primary_key=True),
        sa.Column("target", sa.String(128), sa.ForeignKey("graph_nodes.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("properties", sa.JSON(), nullable=False),
    )
    op.create_index("graph_edges_target", "graph_edges", ["target", "type", "source"])


def downgrade() -> None:
    op.drop_index("graph_edges_target", table_name="graph_edges")
    op.drop_table("graph_edges")
    op.drop_index("graph_nodes_label", table_name="graph_nodes")
    op.drop_table("graph_nodes")
