"""Full-text tables: the embedded keyword index, CJK-aware.

Revision ID: 0005_fulltext
Revises: 0004_vectors
Create Date: 2026-11-24
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_fulltext"
down_revision = "0004_vectors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
