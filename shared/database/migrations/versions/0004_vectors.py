"""Vector tables: the embedded semantic index.

Revision ID: 0004_vectors
Revises: 0003_graph
Create Date: 2026-11-24
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_vectors"
down_revision = "0003_graph"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
