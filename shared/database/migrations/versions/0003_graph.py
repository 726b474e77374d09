"""Graph tables: the embedded relationship network.

Revision ID: 0003_graph
Revises: 0002_outbox
Create Date: 2026-11-24
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_graph"
down_revision = "0002_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
